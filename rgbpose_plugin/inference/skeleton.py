"""The skeleton of the video to classify: from an annotation file, or extracted now.

Either way the result is one annotation dict in the training format (docs/design.md section
3), so the test pipeline treats the video exactly like a video of the dataset.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np

from rgbpose_dataprep.pose import VideoDecodeError, annotate_video, create_pose_backend

from ..data import AnnotationError, read_annotation_file, validate_annotation, write_annotation_file
from ..errors import InferenceError

__all__ = ["skeleton_from_file", "extract_skeleton", "open_pose_backend", "save_skeleton", "check_skeleton",
           "annotated_label"]

logger = logging.getLogger(__name__)


def annotated_label(annotation: Dict[str, Any], num_classes: int) -> Optional[int]:
    """The annotation's class label if it is a valid class index, else None."""
    label = annotation.get("label")
    if isinstance(label, (int, np.integer)) and 0 <= int(label) < num_classes:
        return int(label)
    return None


def check_skeleton(annotation: Dict[str, Any], source: str, num_joints: int) -> Dict[str, Any]:
    """A validated copy of ``annotation`` whose label is a usable class index.

    The label only tells the dataset which class to report; an unknown one (-1 from
    ``tools/extract_pose.py``) becomes 0 so that validation passes.
    """
    annotation = dict(annotation)
    label = annotation.get("label")
    if not isinstance(label, (int, np.integer)) or label < 0:
        annotation["label"] = 0
    problems = validate_annotation(annotation, num_joints)
    if problems:
        raise InferenceError(f"skeleton {source}: " + "; ".join(problems))
    if not np.asarray(annotation.get("keypoint_score", 1.0)).any():
        logger.warning("skeleton %s: no person was found in any frame; the pose stream "
                       "sees empty heatmaps", source)
    return annotation


def skeleton_from_file(path: str, video: Path) -> Dict[str, Any]:
    """The annotation of ``video`` (``frame_dir`` = its file stem) in the file ``path``.

    A file with a single annotation is used for any video (with a warning when its
    ``frame_dir`` differs), so a skeleton extracted from a renamed copy still works.
    """
    try:
        data = read_annotation_file(path)
    except AnnotationError as err:
        raise InferenceError(str(err)) from err
    annotations = [a for a in data["annotations"] if isinstance(a, dict)]
    matches = [a for a in annotations if a.get("frame_dir") == video.stem]
    if matches:
        return matches[0]
    if len(annotations) == 1:
        logger.warning("skeleton file %s: using its only annotation (frame_dir %r) for "
                       "video %s", path, annotations[0].get("frame_dir"), video)
        return annotations[0]
    listed = ", ".join(repr(a.get("frame_dir")) for a in annotations[:5])
    raise InferenceError(
        f"skeleton file {path} has no annotation for video {video} (frame_dir "
        f"{video.stem!r}); its {len(annotations)} annotations are for {listed}"
        f"{', ...' if len(annotations) > 5 else ''}")


def open_pose_backend(backend: str, backend_options: Optional[Dict[str, Any]] = None):
    """Pose backend ``backend``; one :class:`InferenceError` line when it cannot start (not
    installed, a model file missing or not fetched, a bad option)."""
    try:
        return create_pose_backend(backend, **(backend_options or {}))
    except (ImportError, OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise InferenceError(f"pose backend {backend!r}: {err}") from err


def extract_skeleton(video: Path, backend: str = "mediapipe",
                     backend_options: Optional[Dict[str, Any]] = None, max_persons: int = 2,
                     progress: bool = False) -> Dict[str, Any]:
    """Run pose backend ``backend`` over every frame of ``video`` (as
    ``tools/extract_pose.py`` does) and return the annotation, label -1."""
    with open_pose_backend(backend, backend_options) as pose_backend:
        try:
            return annotate_video(video, pose_backend, max_persons=max_persons,
                                  progress=progress)
        except VideoDecodeError as err:  # its message names the video
            raise InferenceError(str(err)) from err


def save_skeleton(annotation: Dict[str, Any], path: Path) -> Path:
    """Write ``annotation`` as a one-video annotation file (reusable with ``--skeleton``)."""
    write_annotation_file(path, [annotation], {"demo": [annotation["frame_dir"]]})
    return path
