"""A NumPy array per video: ``.npy`` of shape ``[T, P, 17, 3]`` (x, y, score).

Slot ``p`` is taken to be the same person in every frame (the array is already
tracked): the slots are ranked by total score and the best ``max_persons`` kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np

from .base import NUM_KEYPOINTS, SkeletonFormatError, SkeletonReader, Skeletons
from .rtmlib import frames_from_arrays

__all__ = ["NumpyReader"]


class NumpyReader(SkeletonReader):
    name = "numpy"
    suffix = ".npy"

    def read(self, paths: List[Path]) -> Skeletons:
        path = paths[0]
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as err:  # not a .npy, or an object array
            raise SkeletonFormatError(f"{path} is not a .npy array: {type(err).__name__}: {err}") from err
        if array.ndim != 4 or array.shape[2:] != (NUM_KEYPOINTS, 3):
            raise SkeletonFormatError(f"{path}: expected an array [T, P, 17, 3] (x, y, score), "
                                      f"got {array.shape}")
        frames = frames_from_arrays(array[..., :2], array[..., 2], str(path), drop_empty=False)
        return Skeletons(frames, tracked=True, dense=True)
