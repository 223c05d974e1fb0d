"""Skeleton extraction for your own videos: backends, tracking, annotation files.

Quick use (the command line ``tools/extract_pose.py`` does the same)::

    from rgbpose_plugin.pose import create_pose_backend, extract_annotations, find_videos

    with create_pose_backend("mediapipe") as backend:
        result = extract_annotations(find_videos(["videos/"]), "ann.pkl", backend)
    print(result.summary())

Modules: ``base`` (the backend interface and factory), ``mediapipe_backend`` and
``mmpose_backend`` (imported only when chosen), ``video`` (PyAV frames), ``tracking``
(stable person order), ``annotate`` (one video), ``extract`` (many videos, cache),
``metadata`` (labels CSV, splits), ``cli`` (the command line).
"""

from ..fileio import VideoDecodeError, VideoFrames
from .annotate import annotate_video
from .base import (
    COCO17_NAMES,
    NUM_KEYPOINTS,
    FramePoses,
    PoseBackend,
    available_pose_backends,
    create_pose_backend,
    register_pose_backend,
)
from .extract import VIDEO_EXTENSIONS, ExtractionResult, extract_annotations, find_videos
from .metadata import LabelTable, read_labels_csv, split_by_column, split_by_ratio
from .tracking import PoseTracker

__all__ = [
    "COCO17_NAMES",
    "NUM_KEYPOINTS",
    "FramePoses",
    "PoseBackend",
    "available_pose_backends",
    "create_pose_backend",
    "register_pose_backend",
    "annotate_video",
    "VIDEO_EXTENSIONS",
    "ExtractionResult",
    "extract_annotations",
    "find_videos",
    "LabelTable",
    "read_labels_csv",
    "split_by_column",
    "split_by_ratio",
    "PoseTracker",
    "VideoDecodeError",
    "VideoFrames",
]
