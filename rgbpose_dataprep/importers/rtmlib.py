"""rtmlib results saved per video: a ``.npz`` with ``keypoints`` ``[T, P, 17, 2]`` and
``scores`` ``[T, P, 17]``.

rtmlib's ``Wholebody``/``Body`` models return ``keypoints [P, 17, 2]`` and ``scores
[P, 17]`` per frame; stacking them over a video (padding frames with fewer people with
zeros) gives this file (see docs/data_preparation.md). Persons are not tracked by
rtmlib: slot ``p`` of two frames need not be the same person, so they are tracked here,
and people whose scores are all zero (padding) are dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np

from .base import NUM_KEYPOINTS, SkeletonFormatError, SkeletonReader, Skeletons

__all__ = ["RtmlibReader", "frames_from_arrays"]


class RtmlibReader(SkeletonReader):
    name = "rtmlib"
    suffix = ".npz"

    def read(self, paths: List[Path]) -> Skeletons:
        path = paths[0]
        try:
            data = np.load(path)
        except Exception as err:  # zip and pickle errors come in many types
            raise SkeletonFormatError(f"{path} is not a .npz file: {type(err).__name__}: {err}") from err
        with data:
            missing = [k for k in ("keypoints", "scores") if k not in data.files]
            if missing:
                raise SkeletonFormatError(f"{path} is not rtmlib results: no array {missing[0]!r} "
                                          f"(found {data.files}); save keypoints and scores")
            keypoints, scores = data["keypoints"], data["scores"]
        return Skeletons(frames_from_arrays(keypoints, scores, str(path), drop_empty=True),
                         tracked=False, dense=True)


def frames_from_arrays(keypoints: np.ndarray, scores: np.ndarray, where: str,
                       drop_empty: bool) -> list:
    """Per-frame ``(kps [P, 17, 2], scores [P, 17])`` from ``[T, P, 17, 2]`` and
    ``[T, P, 17]``; with ``drop_empty`` persons whose scores are all zero are left out."""
    keypoints = np.asarray(keypoints, np.float32)
    scores = np.asarray(scores, np.float32)
    if keypoints.ndim != 4 or keypoints.shape[2:] != (NUM_KEYPOINTS, 2):
        raise SkeletonFormatError(f"{where}: keypoints must be [T, P, 17, 2], got {keypoints.shape}")
    if scores.shape != keypoints.shape[:3]:
        raise SkeletonFormatError(f"{where}: scores must be [T, P, 17] = {keypoints.shape[:3]}, "
                                  f"got {scores.shape}")
    frames = []
    for kps, sc in zip(keypoints, scores):
        keep = np.any(sc != 0, axis=1) | np.any(np.isnan(sc), axis=1) if drop_empty else slice(None)
        frames.append((kps[keep], sc[keep]))
    return frames
