"""OpenPose ``--write_json`` folders: one JSON per frame, BODY_25 or COCO-18 joints.

A frame's file is ``<video>_<12-digit frame number>_keypoints.json`` holding
``{"people": [{"pose_keypoints_2d": [x, y, c] * N}, ...]}``; the files of one video are
read in frame-number order and every frame must have its file. N = 25 (BODY_25, the
default model) or 18 (the COCO model); the joints are mapped to COCO-17 by the tables
below, which follow OpenPose's documented output order (neck, mid-hip, background and
feet have no COCO-17 counterpart and are dropped). A joint OpenPose did not find is
``0, 0, 0``: score 0, as in COCO-17 annotations.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List

import numpy as np

from rgbpose_dataprep.pose.base import empty_poses
from rgbpose_plugin.keypoints import COCO17_NAMES

from .base import (
    SkeletonFormatError,
    SkeletonReader,
    Skeletons,
    found_keys,
    load_json,
    not_format,
    poses_from_xyc,
)

__all__ = ["OpenPoseReader", "BODY25_NAMES", "COCO18_NAMES", "to_coco17_index"]

# OpenPose's joint order, written with COCO-17's joint names where there is one.
BODY25_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe",
    "right_heel",
)
COCO18_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
)
_LAYOUTS = {len(BODY25_NAMES): BODY25_NAMES, len(COCO18_NAMES): COCO18_NAMES}
_FRAME_FILE = re.compile(r"^(?P<stem>.+)_(?P<frame>\d+)_keypoints\.json$")
_WHAT = "an OpenPose keypoints JSON"


def to_coco17_index(names: Iterable[str]) -> np.ndarray:
    """For each COCO-17 joint, its index in the layout ``names``."""
    names = list(names)
    return np.array([names.index(name) for name in COCO17_NAMES])


_TO_COCO17 = {n: to_coco17_index(names) for n, names in _LAYOUTS.items()}


class OpenPoseReader(SkeletonReader):
    name = "openpose"
    suffix = "_keypoints.json"

    def group(self, files: Iterable[Path]) -> Dict[str, List[Path]]:
        videos: Dict[str, Dict[int, Path]] = {}
        for path in files:
            match = _FRAME_FILE.match(path.name)
            if match is None:
                raise SkeletonFormatError(
                    f"{path}: OpenPose files are named <video>_<frame number>_keypoints.json")
            videos.setdefault(match["stem"], {})[int(match["frame"])] = path
        grouped = {}
        for stem, frames in sorted(videos.items()):
            missing = sorted(set(range(max(frames) + 1)) - set(frames))
            if missing:
                raise SkeletonFormatError(
                    f"OpenPose files of {stem!r} lack frame(s) {missing[:10]} (e.g. "
                    f"{stem}_{missing[0]:012d}_keypoints.json); every frame needs its file")
            grouped[stem] = [frames[i] for i in sorted(frames)]
        return grouped

    def read(self, paths: List[Path]) -> Skeletons:
        return Skeletons([self._frame(path) for path in paths], tracked=False, dense=True)

    def _frame(self, path: Path):
        data = load_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("people"), list):
            raise not_format(path, _WHAT, f"no 'people' list {found_keys(data)}", data, self.name)
        people = []
        for i, person in enumerate(data["people"]):
            if not isinstance(person, dict) or "pose_keypoints_2d" not in person:
                raise not_format(path, _WHAT, f"person {i} has no 'pose_keypoints_2d' "
                                 f"{found_keys(person)}", data, self.name)
            values = person["pose_keypoints_2d"]
            num = len(values) // 3
            if num not in _LAYOUTS or len(values) % 3:
                raise SkeletonFormatError(
                    f"{path}, person {i}: {len(values)} numbers in 'pose_keypoints_2d'; "
                    f"expected 75 (BODY_25) or 54 (COCO-18 model)")
            people.append(poses_from_xyc(values, num, f"{path}, person {i}")[_TO_COCO17[num]])
        if not people:
            return empty_poses()
        xyc = np.stack(people)
        return xyc[..., :2].copy(), xyc[..., 2].copy()
