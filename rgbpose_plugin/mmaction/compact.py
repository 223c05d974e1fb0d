"""``FastMMCompact``: MMAction2's ``MMCompact`` without padding whole frames.

When the compact box leaves the image, the reference pads every frame with ``np.pad``
and then crops; for a 10-clip test item (80 frames of 960x540) that is most of its
cost after decoding. Here each crop is written into a zeroed box-sized array: the same
pixels, one copy of the box instead of two of the padded frame. Box and keypoints are
the reference's own code (a subclass), so they cannot drift.
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np
from mmaction.datasets.transforms import MMCompact
from mmaction.registry import TRANSFORMS

__all__ = ["FastMMCompact", "crop_with_padding"]


def crop_with_padding(img: np.ndarray, box: Tuple[int, int, int, int]) -> np.ndarray:
    """``img[y0:y1, x0:x1]`` where the box may leave the image: outside pixels are 0.

    ``box = (x0, y0, x1, y1)``; a box inside the image gives a view, like slicing.
    (``np.zeros`` then one copy beats zeroing only the outside strips: fresh zeroed
    pages cost nothing until written.)
    """
    x0, y0, x1, y1 = box
    h, w = img.shape[:2]
    if x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h:
        return img[y0:y1, x0:x1]
    out = np.zeros((max(y1 - y0, 0), max(x1 - x0, 0)) + img.shape[2:], dtype=img.dtype)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out


@TRANSFORMS.register_module()
class FastMMCompact(MMCompact):
    """Drop-in for ``MMCompact``: identical box, keypoints and pixels."""

    def _compact_images(self, imgs: List[np.ndarray], img_shape: Tuple[int],
                        box: Tuple[int]) -> List[np.ndarray]:
        return [crop_with_padding(img, tuple(int(v) for v in box)) for img in imgs]
