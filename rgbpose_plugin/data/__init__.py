"""The multimodal data pipeline: annotations, video decoding, sampling, transforms,
pseudo-heatmaps and the map-style dataset.

Importing this package registers the datasets ``Rgbpose``, ``Rgbpose_rgb`` and
``Rgbpose_pose`` (see :mod:`.build`).
"""

from ..errors import AnnotationError, DataError, SampleError, VideoError
from ..keypoints import KeypointLayout
from . import build as _build  # noqa: F401  (its builders register the datasets)
from .annotations import load_split, read_annotation_file, validate_annotation, write_annotation_file
from .batching import collate, draw_heatmaps, to_device
from .build import build_dataset
from .dataset import RGBPoseDataset
from .heatmaps import HeatmapSpec, heatmap_size, pose_heatmaps
from .options import DataOptions
from .sampling import sample_clips, sample_modalities, train_rng
from .video import DecodedFrames, decode_frames

__all__ = [
    "AnnotationError", "DataError", "DataOptions", "DecodedFrames", "HeatmapSpec",
    "KeypointLayout", "RGBPoseDataset", "SampleError", "VideoError", "build_dataset",
    "collate", "decode_frames", "draw_heatmaps", "heatmap_size", "load_split", "pose_heatmaps",
    "read_annotation_file", "sample_clips", "sample_modalities", "to_device", "train_rng",
    "validate_annotation", "write_annotation_file",
]
