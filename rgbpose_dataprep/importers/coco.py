"""COCO keypoint results: one JSON per video, a list of detections.

Each entry is ``{"image_id", "category_id", "keypoints": [x, y, v] * 17, "score"}`` (the
layout COCO's evaluation reads and many tools write). The frame of an entry is its
``image_id`` minus ``frame_offset`` (``--frame-offset 1`` when the ids count from 1);
a string id such as ``"000012.jpg"`` counts by its last digits. ``v`` becomes the
keypoint's score, clipped to [0, 1] (ground-truth files use 0, 1, 2). The entries of a
frame are its people, in no particular order: they are tracked across frames.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

from .base import (
    NUM_KEYPOINTS,
    SkeletonReader,
    Skeletons,
    found_keys,
    load_json,
    not_format,
    poses_from_xyc,
    sparse_frames,
)

__all__ = ["CocoReader"]

_WHAT = "COCO keypoint results"


class CocoReader(SkeletonReader):
    name = "coco"
    suffix = ".json"

    def __init__(self, frame_offset: int = 0) -> None:
        self.frame_offset = frame_offset

    def read(self, paths: List[Path]) -> Skeletons:
        path = paths[0]
        data = load_json(path)
        if not isinstance(data, list):
            raise not_format(path, _WHAT, f"expected a list of detections {found_keys(data)}",
                             data, self.name)
        by_frame: Dict[int, List[Tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
        for i, entry in enumerate(data):
            frame = self._frame(path, i, entry, data)
            xyc = poses_from_xyc(entry["keypoints"], NUM_KEYPOINTS, f"{path}, entry {i} 'keypoints'")
            by_frame[frame].append((xyc[:, :2], np.clip(xyc[:, 2], 0.0, 1.0)))
        return Skeletons(sparse_frames(by_frame), tracked=False, dense=False)

    def _frame(self, path: Path, i: int, entry: Any, data: Any) -> int:
        for key in ("keypoints", "image_id"):
            if not isinstance(entry, dict) or key not in entry:
                raise not_format(path, _WHAT, f"entry {i} has no {key!r} {found_keys(entry)}",
                                 data, self.name)
        frame = _image_number(entry["image_id"]) - self.frame_offset
        if frame < 0:
            raise ValueError(f"{path}, entry {i}: image_id {entry['image_id']!r} gives frame "
                             f"{frame} with --frame-offset {self.frame_offset}; lower the offset")
        return frame


def _image_number(image_id: Any) -> int:
    if isinstance(image_id, int):
        return image_id
    digits = re.findall(r"\d+", str(image_id))
    if not digits:
        raise ValueError(f"image_id {image_id!r} holds no frame number")
    return int(digits[-1])
