"""Drawing COCO-17 skeletons and text onto PIL images (shared by the picture and the MP4).

Limbs are coloured by body side (the left side blue, the right side orange, the middle
green, as seen by the person); joints by keypoint score on a red (low) to green (high)
scale, so an unreliable detection is visible at a glance.
"""

from __future__ import annotations

import functools
from typing import Sequence, Tuple

import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw, ImageFont

from ..keypoints import COCO17_LIMBS, KeypointLayout

__all__ = ["SCORE_CMAP", "draw_skeleton", "draw_banner", "font",
           "joint_colour", "limb_colour"]

SCORE_CMAP = "RdYlGn"  # matplotlib colour map of the joint scores
_COCO17 = KeypointLayout()
_LEFT, _RIGHT, _MIDDLE = (66, 133, 244), (255, 140, 0), (52, 168, 83)
# The colour map as a 256-entry table: looking it up per joint is 100x cheaper than
# calling matplotlib (which rebuilds its table on every colormaps[...] access).
_SCORE_TABLE = (colormaps[SCORE_CMAP](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def limb_colour(a: int, b: int) -> Tuple[int, int, int]:
    """RGB colour of the limb between COCO-17 joints ``a`` and ``b``.

    A limb is on a side when its joints other than the middle ones (the nose) are.
    """
    sides = {"left" if j in _COCO17.flip_left else "right"
             for j in (a, b) if j in _COCO17.flip_left + _COCO17.flip_right}
    if sides == {"left"}:
        return _LEFT
    if sides == {"right"}:
        return _RIGHT
    return _MIDDLE


def joint_colour(score: float) -> Tuple[int, int, int]:
    """RGB colour of a joint with keypoint ``score`` in [0, 1]."""
    r, g, b = _SCORE_TABLE[int(round(float(np.clip(score, 0.0, 1.0)) * 255))]
    return int(r), int(g), int(b)


def _visible(xy: np.ndarray, score: float) -> bool:
    # (0, 0) means "not detected" in the annotation format; score 0 means the same.
    return score > 0 and bool(np.any(xy != 0)) and bool(np.all(np.isfinite(xy)))


def draw_skeleton(image: Image.Image, keypoint: np.ndarray, score: np.ndarray,
                  limbs: Sequence[Tuple[int, int]] = COCO17_LIMBS, size: float = 0) -> Image.Image:
    """Draw persons ``keypoint`` ``(M, J, 2)`` (pixels of ``image``) with scores ``(M, J)``.

    ``size`` is the joint radius in pixels (0: from the image size). Draws in place and
    returns ``image``.
    """
    draw = ImageDraw.Draw(image)
    radius = size or max(2.0, min(image.size) / 90)
    width = max(1, int(round(radius * 0.8)))
    for kps, scores in zip(np.asarray(keypoint), np.asarray(score)):
        shown = [_visible(kps[j], scores[j]) for j in range(len(kps))]
        for a, b in limbs:
            if shown[a] and shown[b]:
                draw.line([tuple(kps[a]), tuple(kps[b])], fill=limb_colour(a, b), width=width)
        for j, (x, y) in enumerate(kps):
            if shown[j]:
                draw.ellipse([x - radius, y - radius, x + radius, y + radius],
                             fill=joint_colour(scores[j]), outline=(0, 0, 0))
    return image


@functools.lru_cache(maxsize=8)
def font(size: int) -> ImageFont.ImageFont:
    """PIL's built-in scalable font at ``size`` px (the bitmap one on old Pillow)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sizes
        return ImageFont.load_default()


def draw_banner(image: Image.Image, lines: Sequence[str], size: int = 0) -> Image.Image:
    """Write ``lines`` at the top left of ``image`` on a dark translucent band (in place)."""
    size = size or max(12, image.width // 30)
    fonts = [font(size)] + [font(max(10, int(size * 0.7)))] * (len(lines) - 1)
    pad = max(3, size // 4)
    heights = [f.getbbox("Ag")[3] + pad for f in fonts]
    band = Image.new("RGBA", (image.width, sum(heights) + pad), (0, 0, 0, 150))
    image.paste(band, (0, 0), band)
    draw = ImageDraw.Draw(image)
    y = pad
    for text, f, h in zip(lines, fonts, heights):
        draw.text((pad * 2, y), text, fill=(255, 255, 255), font=f)
        y += h
    return image
