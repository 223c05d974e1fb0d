"""mmpose 1.x predictions: the JSON its demos write with ``--save-predictions``.

The file is ``{"meta_info": ..., "instance_info": [frame, ...]}`` (or the bare list of
frames), each frame ``{"frame_id", "instances": [{"keypoints": [[x, y] * 17],
"keypoint_scores": [17 floats], "bbox": ..., ...}]}``. mmpose's demos count ``frame_id``
from 1, so frame = ``frame_id - frame_offset`` with ``frame_offset`` 1 by default; a
frame without ``frame_id`` takes its place in the list. Instances are not tracked by
mmpose: they are tracked across frames here.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

from .base import NUM_KEYPOINTS, SkeletonReader, Skeletons, found_keys, load_json, not_format, sparse_frames

__all__ = ["MMPoseReader"]

_WHAT = "mmpose predictions"


class MMPoseReader(SkeletonReader):
    name = "mmpose"
    suffix = ".json"

    def __init__(self, frame_offset: int = 1) -> None:
        self.frame_offset = frame_offset

    def read(self, paths: List[Path]) -> Skeletons:
        path = paths[0]
        data = load_json(path)
        frames = data.get("instance_info") if isinstance(data, dict) else data
        if not isinstance(frames, list):
            raise not_format(path, _WHAT, f"no 'instance_info' list of frames {found_keys(data)}",
                             data, self.name)
        by_frame: Dict[int, List[Tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
        for i, entry in enumerate(frames):
            if not isinstance(entry, dict) or "instances" not in entry:
                raise not_format(path, _WHAT, f"frame entry {i} has no 'instances' "
                                 f"{found_keys(entry)}", frames, self.name)
            frame = int(entry["frame_id"]) - self.frame_offset if "frame_id" in entry else i
            if frame < 0:
                raise ValueError(f"{path}, frame entry {i}: frame_id {entry['frame_id']} gives "
                                 f"frame {frame} with --frame-offset {self.frame_offset}")
            people = by_frame[frame]  # the frame exists even when nobody is in it
            for j, inst in enumerate(entry["instances"]):
                people.append(_instance(path, i, j, inst, frames, self.name))
        return Skeletons(sparse_frames(by_frame), tracked=False, dense=False)


def _instance(path: Path, i: int, j: int, inst: Any, data: Any, name: str):
    where = f"frame entry {i}, instance {j}"
    for key in ("keypoints", "keypoint_scores"):
        if not isinstance(inst, dict) or key not in inst:
            raise not_format(path, _WHAT, f"{where} has no {key!r} {found_keys(inst)}", data, name)
    kps = np.asarray(inst["keypoints"], np.float32)
    scores = np.asarray(inst["keypoint_scores"], np.float32).reshape(-1)
    if kps.shape != (NUM_KEYPOINTS, 2) or scores.shape != (NUM_KEYPOINTS,):
        raise ValueError(f"{path}, {where}: expected 17 COCO keypoints [17, 2] and 17 scores, "
                         f"found {kps.shape} and {scores.shape}; use a COCO-17 mmpose model")
    return kps, scores
