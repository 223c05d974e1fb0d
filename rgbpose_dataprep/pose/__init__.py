"""Skeleton extraction for your own videos: backends, tracking, annotation files.

Quick use (the command line ``tools/extract_pose.py`` does the same)::

    from rgbpose_dataprep.pose import create_pose_backend, extract_annotations, find_videos

    with create_pose_backend("mediapipe") as backend:
        result = extract_annotations(find_videos(["videos/"]), "ann.pkl", backend)
    print(result.summary())

Modules: ``base`` (the backend interface and factory), ``mediapipe_backend``,
``mmpose_backend`` and ``rtmlib_backend`` (imported only when chosen), ``model_files``
(fetched, cached, hash-checked model files), ``tracking`` (stable person order),
``annotate`` (one video), ``extract`` (many videos, cache), ``metadata`` (labels CSV,
splits), ``job`` (a command line's inputs checked up front, then the extraction). Frames
are decoded by :mod:`rgbpose_plugin.fileio`.
"""

from rgbpose_plugin.fileio import VideoDecodeError, VideoFrames

from .annotate import annotate_video
from .base import (
    COCO17_NAMES,
    MMPOSE_OPTIONS,
    NUM_KEYPOINTS,
    FramePoses,
    PoseBackend,
    available_pose_backends,
    backend_options,
    create_pose_backend,
    register_pose_backend,
)
from .extract import VIDEO_EXTENSIONS, ExtractionResult, extract_annotations, find_videos
from .job import ExtractionJob, open_backend, plan_extraction
from .metadata import LabelTable, choose_splits, read_labels_csv, split_by_column, split_by_ratio
from .tracking import PoseTracker

__all__ = [
    "COCO17_NAMES",
    "MMPOSE_OPTIONS",
    "NUM_KEYPOINTS",
    "FramePoses",
    "PoseBackend",
    "available_pose_backends",
    "backend_options",
    "create_pose_backend",
    "register_pose_backend",
    "annotate_video",
    "VIDEO_EXTENSIONS",
    "ExtractionResult",
    "extract_annotations",
    "find_videos",
    "ExtractionJob",
    "open_backend",
    "plan_extraction",
    "LabelTable",
    "choose_splits",
    "read_labels_csv",
    "split_by_column",
    "split_by_ratio",
    "PoseTracker",
    "VideoDecodeError",
    "VideoFrames",
]
