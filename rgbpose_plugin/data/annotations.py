"""The pyskl / mmaction2 skeleton annotation file: loading, split selection, validation.

The file is a pickle ``{"split": {name: [frame_dir, ...]}, "annotations": [ann, ...]}``;
each ``ann`` holds ``frame_dir`` (video id), ``label``, ``img_shape`` (H, W of the frames
the keypoints were measured on), ``total_frames``, ``keypoint`` (M x T x V x 2 pixels)
and ``keypoint_score`` (M x T x V; all ones when absent, as in the references).

Every annotation of the split is checked when the dataset is built, so a malformed file
fails at once with a message naming the file, the ``frame_dir`` and the problem, rather
than hours into training.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..config.checks import check_value
from ..errors import MAX_LISTED, AnnotationError, listed
from ..fileio import atomic_pickle, open_binary

__all__ = ["read_annotation_file", "write_annotation_file", "select_split", "validate_annotation",
           "load_split"]

logger = logging.getLogger(__name__)


def read_annotation_file(path: str) -> Dict[str, Any]:
    """Unpickle the annotation file at ``path`` (any iopath path) and check its top level."""
    try:
        with open_binary(path) as f:
            data = pickle.load(f)
    except FileNotFoundError:
        raise AnnotationError(f"annotation file not found: {path}", path=path) from None
    except Exception as err:  # unpickling errors come in many types
        raise AnnotationError(
            f"cannot read annotation file {path}: {type(err).__name__}: {err}", path=path
        ) from err
    if not isinstance(data, dict) or "annotations" not in data:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise AnnotationError(
            f"{path}: expected a dict with 'split' and 'annotations' (pyskl/mmaction2 "
            f"format), got {keys}", path=path)
    if not isinstance(data["annotations"], (list, tuple)):
        raise AnnotationError(f"{path}: 'annotations' must be a list", path=path)
    return data


def write_annotation_file(path: Union[str, Path], annotations: Sequence[Dict[str, Any]],
                          split: Dict[str, Sequence[str]]) -> str:
    """Write an annotation file that :func:`read_annotation_file` reads (atomically).

    ``split`` maps split names to ``frame_dir`` lists; pickle protocol 4, as the
    references' files use.
    """
    data = {"split": {name: list(dirs) for name, dirs in split.items()},
            "annotations": list(annotations)}
    return atomic_pickle(path, data, protocol=4)


def select_split(data: Dict[str, Any], split: str, path: str = "<annotations>"
                 ) -> Tuple[List[Dict[str, Any]], List[str]]:
    """The annotations of ``split`` in file order, and the problems found on the way.

    File order (not the split list's order) is what the references use, so video
    indices agree with theirs. An empty ``split`` selects every annotation.
    """
    annotations = list(data["annotations"])
    problems: List[str] = []
    if not split:
        return annotations, problems
    splits = data.get("split")
    if not isinstance(splits, dict) or split not in splits:
        names = sorted(splits) if isinstance(splits, dict) else []
        raise AnnotationError(f"{path}: no split named {split!r}; the file has {names}",
                              path=path)
    wanted = set(splits[split])
    selected, seen = [], set()
    for i, ann in enumerate(annotations):
        frame_dir = ann.get("frame_dir") if isinstance(ann, dict) else None
        if frame_dir not in wanted:
            continue
        if frame_dir in seen:
            problems.append(f"{path}: annotation {i} (frame_dir {frame_dir!r}): "
                            f"a second annotation with the same frame_dir")
            continue
        seen.add(frame_dir)
        selected.append(ann)
    missing = [f for f in splits[split] if f not in seen]
    if missing:
        problems.append(f"{path}: split {split!r} lists {len(missing)} frame_dir(s) with no "
                        f"annotation: {listed([repr(f) for f in missing])}")
    return selected, problems


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_keypoints(ann: Dict[str, Any], num_joints: int, total_frames: Any) -> List[str]:
    kp = np.asarray(ann["keypoint"])
    if kp.ndim != 4 or kp.shape[-1] != 2 or kp.shape[2] != num_joints:
        return [f"keypoint has shape {kp.shape}, expected M x T x {num_joints} x 2 "
                f"(RGBPOSE.KEYPOINTS.NUM = {num_joints})"]
    if not np.issubdtype(kp.dtype, np.number):
        return [f"keypoint has dtype {kp.dtype}, expected numbers"]
    problems = []
    if kp.shape[0] == 0:
        problems.append("no person: keypoint has M = 0")
    if _is_int(total_frames) and kp.shape[1] != total_frames:
        problems.append(f"total_frames is {total_frames} but keypoint has {kp.shape[1]} frames")
    bad = ~np.isfinite(kp)
    if bad.any():
        frames = np.unique(np.nonzero(bad)[1])
        problems.append(f"keypoint has {int(bad.sum())} NaN/inf values in frames "
                        f"{frames[:10].tolist()}{' ...' if len(frames) > 10 else ''}")
    if "keypoint_score" in ann:
        score = np.asarray(ann["keypoint_score"])
        if score.shape != kp.shape[:3]:
            problems.append(f"keypoint_score has shape {score.shape}, expected "
                            f"{kp.shape[:3]} (M x T x V of keypoint)")
        elif not np.issubdtype(score.dtype, np.number) or not np.isfinite(score).all():
            problems.append("keypoint_score has NaN/inf or non-numeric values")
    return problems


def validate_annotation(ann: Any, num_joints: int, num_classes: Optional[int] = None
                        ) -> List[str]:
    """Problems with one annotation (an empty list when it is usable)."""
    if not isinstance(ann, dict):
        return [f"expected a dict, got {type(ann).__name__}"]
    missing = [k for k in ("frame_dir", "label", "total_frames", "keypoint", "img_shape")
               if k not in ann]
    if missing:
        return [f"missing key(s) {missing}"]
    problems = []
    label, total = ann["label"], ann["total_frames"]
    if not _is_int(label) or label < 0 or (num_classes is not None and label >= num_classes):
        problems.append(f"label {label!r} is not an integer in 0..{num_classes - 1} "
                        f"(MODEL.NUM_CLASSES = {num_classes})" if num_classes is not None
                        else f"label {label!r} is not a non-negative integer")
    if not _is_int(total) or total <= 0:
        problems.append(f"total_frames {total!r} is not a positive integer")
    shape = ann["img_shape"]
    if (not isinstance(shape, (tuple, list)) or len(shape) != 2
            or not all(_is_int(s) and s > 0 for s in shape)):
        problems.append(f"img_shape {shape!r} is not (height, width) in pixels")
    return problems + _check_keypoints(ann, num_joints, total)


def _report(problems: Sequence[str], on_error: str, path: str) -> None:
    lines = "\n  ".join(problems[:MAX_LISTED])
    more = (f"\n  ... and {len(problems) - MAX_LISTED} more"
            if len(problems) > MAX_LISTED else "")
    if on_error == "raise":
        raise AnnotationError(
            f"{len(problems)} problem(s) in annotation file {path}:\n  {lines}{more}\n"
            f"(fix the file, or set DATA.ON_ERROR skip to leave these samples out)",
            path=path)
    logger.warning("%d annotation problem(s) in %s; these samples are left out:\n  %s%s",
                   len(problems), path, lines, more)


def load_split(path: str, split: str, num_joints: int, num_classes: Optional[int] = None,
               on_error: str = "raise") -> Tuple[List[Dict[str, Any]], List[str]]:
    """Load, select and validate a split.

    Returns the usable annotations (file order) and the problems found. With
    ``on_error="raise"`` any problem raises :class:`AnnotationError` listing them all;
    with ``"skip"`` they are logged and the bad samples are left out.
    """
    check_value("DATA.ON_ERROR", on_error, "load_split")
    data = read_annotation_file(path)
    selected, problems = select_split(data, split, path)
    usable = []
    for ann in selected:
        found = validate_annotation(ann, num_joints, num_classes)
        if found:
            name = ann.get("frame_dir", "?") if isinstance(ann, dict) else "?"
            problems.extend(f"{path}: frame_dir {name!r}: {p}" for p in found)
        else:
            usable.append(ann)
    if problems:
        _report(problems, on_error, path)
    if not usable:
        raise AnnotationError(f"{path}: split {split!r} has no usable annotation", path=path)
    return usable, problems
