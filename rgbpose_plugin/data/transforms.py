"""Geometry on frames and keypoints together, as callables on sample dicts.

A sample dict carries:

* ``"imgs"``: ``(F, 3, H, W)`` uint8 RGB frames, or ``None`` for skeleton-only samples
  (then only ``"img_shape"`` tracks the geometry);
* ``"keypoint"``: ``(M, T, V, 2)`` float32 pixels (x, y) and ``"keypoint_score"``
  ``(M, T, V)``;
* ``"img_shape"``: current ``(height, width)``;
* ``"rng"``: a ``numpy.random.RandomState`` for the random transforms (training);
* ``"crop_box"`` (optional): a crop of ``"imgs"`` not yet applied, ``(x0, y0, x1, y1)``,
  which may leave the frame (zero padding). :class:`Compact` defers its crop this way so
  that the next :class:`Resize` pads and resizes a few frames at a time: the full padded
  crop of a 10-clip test sample would be hundreds of MB. Read frames through
  :func:`frames`, which applies a pending crop.

Each transform returns the (updated) dict, so they chain with :class:`Compose`, the
pytorchvideo habit. Keypoint arithmetic follows mmaction2 1.x step for step (float32;
``MMCompact``/``PoseCompact``, ``Resize``, ``RandomResizedCrop``, ``Flip``): coordinates that
are exactly 0 mean "not detected" and are left alone by compact and flip, as there.
Images are resized bilinearly without antialiasing (OpenCV's ``INTER_LINEAR``, which the
references use) and stay uint8 until :class:`Normalize`.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["Compose", "Compact", "Resize", "RandomResizedCrop", "Flip",
           "compact_box", "frames", "normalize_frames", "geometry", "Sample"]

Sample = Dict[str, object]
_CHUNK_BYTES = 16 << 20  # Padded crops are built this many bytes at a time.


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Callable[[Sample], Sample]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, sample: Sample) -> Sample:
        for t in self.transforms:
            sample = t(sample)
        return sample

    def __repr__(self) -> str:
        return "Compose(" + ", ".join(map(repr, self.transforms)) + ")"


def compact_box(keypoint: Tensor, img_shape: Tuple[int, int], padding: float = 0.25,
                threshold: float = 10, hw_ratio: float = 1.0) -> Tuple[int, int, int, int]:
    """The square box ``(x0, y0, x1, y1)`` around all non-zero keypoints, padded.

    The tight box of the non-zero x and y values is grown by ``padding`` on each side
    (1.25x for 0.25), made ``hw_ratio`` (height/width) at least, and truncated to
    integers; it may leave the image. A tight box under ``threshold`` pixels in either
    direction gives the whole image. Arithmetic is float32, as the reference's.
    """
    h, w = img_shape
    kp = torch.nan_to_num(keypoint.float(), nan=0.0)
    xs, ys = kp[..., 0], kp[..., 1]
    xs, ys = xs[xs != 0], ys[ys != 0]
    if xs.numel() == 0 or ys.numel() == 0:
        return 0, 0, w, h
    f32 = np.float32
    min_x, max_x = f32(xs.min().item()), f32(xs.max().item())
    min_y, max_y = f32(ys.min().item()), f32(ys.max().item())
    if max_x - min_x < threshold or max_y - min_y < threshold:
        return 0, 0, w, h
    cx, cy = (max_x + min_x) / f32(2), (max_y + min_y) / f32(2)
    half_w = (max_x - min_x) / f32(2) * f32(1 + padding)
    half_h = (max_y - min_y) / f32(2) * f32(1 + padding)
    half_h = max(f32(hw_ratio) * half_w, half_h)
    half_w = max(f32(1 / hw_ratio) * half_h, half_w)
    return int(cx - half_w), int(cy - half_h), int(cx + half_w), int(cy + half_h)


def _crop_padded(imgs: Tensor, box: Tuple[int, int, int, int]) -> Tensor:
    """``imgs[..., y0:y1, x0:x1]`` of ``(F, C, H, W)`` frames where the box may leave the
    frame (zero fill). The padded copy keeps channels-last memory (fast resizing)."""
    x0, y0, x1, y1 = box
    h, w = imgs.shape[-2:]
    if x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h:
        return imgs[..., y0:y1, x0:x1]
    n, c = imgs.shape[:2]
    out = imgs.new_zeros((n, y1 - y0, x1 - x0, c)).permute(0, 3, 1, 2)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if sx1 > sx0 and sy1 > sy0:
        out[..., sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = imgs[..., sy0:sy1, sx0:sx1]
    return out


def frames(sample: Sample) -> Tensor | None:
    """The sample's frames with any pending crop applied (and the crop cleared)."""
    box = sample.pop("crop_box", None)
    if box is not None:
        sample["imgs"] = _crop_padded(sample["imgs"], box)
    return sample.get("imgs")


def _shift_nonzero(keypoint: Tensor, dx: float, dy: float) -> Tensor:
    """Subtract (dx, dy) from non-zero coordinates only (zeros mean 'not detected')."""
    offset = torch.tensor([dx, dy], dtype=keypoint.dtype)
    return torch.where(keypoint != 0, keypoint - offset, keypoint)


class Compact:
    """Crop frames and keypoints to :func:`compact_box` (mmaction2 ``MMCompact``).

    The box is computed from the sample's keypoints: the sampled pose frames, or for
    RGB-only samples all frames of the video, as in the references' pipelines.
    """

    def __init__(self, padding: float = 0.25, threshold: float = 10,
                 hw_ratio: float = 1.0) -> None:
        if padding < 0:
            raise ValueError(f"Compact: padding must be >= 0, got {padding}")
        self.padding, self.threshold, self.hw_ratio = padding, threshold, hw_ratio

    def __call__(self, sample: Sample) -> Sample:
        kp = sample["keypoint"]
        box = compact_box(kp, sample["img_shape"], self.padding, self.threshold,
                          self.hw_ratio)
        x0, y0, x1, y1 = box
        sample["keypoint"] = _shift_nonzero(torch.nan_to_num(kp, nan=0.0), x0, y0)
        imgs = frames(sample)
        if imgs is not None:
            h, w = imgs.shape[-2:]
            if x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h:
                sample["imgs"] = imgs[..., y0:y1, x0:x1]  # a view: nothing to pad
            else:
                sample["crop_box"] = box  # padded later, chunk by chunk (see Resize)
        sample["img_shape"] = (y1 - y0, x1 - x0)
        sample["compact_box"] = box
        return sample

    def __repr__(self) -> str:
        return f"Compact(padding={self.padding}, threshold={self.threshold})"


class Resize:
    """Resize to ``size`` = (height, width) (or an int for a square), aspect not kept."""

    def __init__(self, size) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def __call__(self, sample: Sample) -> Sample:
        h, w = sample["img_shape"]
        new_h, new_w = self.size
        scale = torch.tensor([np.float32(new_w / w), np.float32(new_h / h)])
        if sample.get("keypoint") is not None:
            sample["keypoint"] = sample["keypoint"] * scale
        box = sample.pop("crop_box", None)
        imgs = sample.get("imgs")
        if imgs is not None and box is not None:
            sample["imgs"] = self._pad_and_resize(imgs, box)
        elif imgs is not None and tuple(imgs.shape[-2:]) != (new_h, new_w):
            sample["imgs"] = self._resize(imgs)
        sample["img_shape"] = (new_h, new_w)
        return sample

    def _resize(self, imgs: Tensor) -> Tensor:
        return F.interpolate(imgs, size=self.size, mode="bilinear", align_corners=False,
                             antialias=False)

    def _pad_and_resize(self, imgs: Tensor, box: Tuple[int, int, int, int]) -> Tensor:
        """Resize the zero-padded crop ``box`` of ``imgs``, building it a few frames at a
        time (same result as padding everything first)."""
        x0, y0, x1, y1 = box
        per_frame = imgs.shape[1] * (y1 - y0) * (x1 - x0) * imgs.element_size()
        step = max(1, _CHUNK_BYTES // max(per_frame, 1))
        parts = [self._resize(_crop_padded(imgs[i:i + step], box))
                 for i in range(0, imgs.shape[0], step)]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def __repr__(self) -> str:
        return f"Resize(size={self.size})"


def random_resized_box(img_shape: Tuple[int, int], area_range: Sequence[float],
                       aspect_range: Sequence[float], rng: np.random.RandomState,
                       max_attempts: int = 10) -> Tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` with area and aspect in range; centre square after 10 misses."""
    h, w = img_shape
    log_ar = rng.uniform(math.log(aspect_range[0]), math.log(aspect_range[1]),
                         size=max_attempts)
    aspect = np.exp(log_ar)
    area = rng.uniform(area_range[0], area_range[1], size=max_attempts) * (h * w)
    crop_w = np.round(np.sqrt(area * aspect)).astype(np.int64)
    crop_h = np.round(np.sqrt(area / aspect)).astype(np.int64)
    for cw, ch in zip(crop_w, crop_h):
        if ch <= h and cw <= w:
            x0 = int(rng.randint(0, w - cw + 1))
            y0 = int(rng.randint(0, h - ch + 1))
            return x0, y0, x0 + int(cw), y0 + int(ch)
    side = min(h, w)
    x0, y0 = (w - side) // 2, (h - side) // 2
    return x0, y0, x0 + side, y0 + side


class RandomResizedCrop:
    """Random crop of area fraction ``area_range`` and aspect ``aspect_range``.

    Only the crop: the resize that follows is a separate :class:`Resize`, as in the
    references. Keypoints are shifted by the crop corner (all of them, as there).
    """

    def __init__(self, area_range: Sequence[float] = (0.56, 1.0),
                 aspect_range: Sequence[float] = (3 / 4, 4 / 3)) -> None:
        if not 0 < area_range[0] <= area_range[1] <= 1:
            raise ValueError(f"RandomResizedCrop: bad area range {area_range}")
        if not 0 < aspect_range[0] <= aspect_range[1]:
            raise ValueError(f"RandomResizedCrop: bad aspect range {aspect_range}")
        self.area_range, self.aspect_range = tuple(area_range), tuple(aspect_range)

    def __call__(self, sample: Sample) -> Sample:
        x0, y0, x1, y1 = random_resized_box(sample["img_shape"], self.area_range,
                                            self.aspect_range, sample["rng"])
        if sample.get("keypoint") is not None:
            # float64 from here on, as NumPy promotes float32 - int64 in the reference;
            # the heatmap step rounds back to float32.
            offset = torch.tensor([x0, y0], dtype=torch.float64)
            sample["keypoint"] = sample["keypoint"].double() - offset
        pending = sample.get("crop_box")
        if pending is not None:  # a crop of a crop: still one (deferred) crop
            px, py = pending[0], pending[1]
            sample["crop_box"] = (px + x0, py + y0, px + x1, py + y1)
        elif sample.get("imgs") is not None:
            sample["imgs"] = sample["imgs"][..., y0:y1, x0:x1]
        sample["img_shape"] = (y1 - y0, x1 - x0)
        return sample

    def __repr__(self) -> str:
        return f"RandomResizedCrop(area={self.area_range}, aspect={self.aspect_range})"


class Flip:
    """Horizontal flip with probability ``p``; keypoints mirror and left/right swap.

    ``flip_order`` is the joint permutation (:meth:`KeypointLayout.flip_order`); non-zero
    x become ``width - x``.
    """

    def __init__(self, flip_order: Sequence[int], p: float = 0.5) -> None:
        self.flip_order, self.p = list(flip_order), p

    def __call__(self, sample: Sample) -> Sample:
        flip = bool(sample["rng"].rand() < self.p)
        sample["flip"] = flip
        if not flip:
            return sample
        width = sample["img_shape"][1]
        imgs = frames(sample)
        if imgs is not None:
            sample["imgs"] = imgs.flip(-1)
        kp = sample.get("keypoint")
        if kp is not None:
            x = kp[..., 0]
            x = torch.where(x != 0, float(width) - x, x)
            kp = torch.stack([x, kp[..., 1]], -1)[:, :, self.flip_order]
            sample["keypoint"] = kp
            sample["keypoint_score"] = sample["keypoint_score"][:, :, self.flip_order]
        return sample

    def __repr__(self) -> str:
        return f"Flip(p={self.p})"


def normalize_frames(imgs: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """uint8 frames with channels at dim -4 (``(..., 3, T, H, W)``, any strides) ->
    contiguous float32 ``(x - mean) / std``; ``mean``/``std`` have 3 values (0-255 scale)."""
    shape = (3, 1, 1, 1)
    out = torch.empty(imgs.shape, dtype=torch.float32)
    out.copy_(imgs).sub_(mean.view(shape)).mul_((1.0 / std).view(shape))
    return out


def geometry(train: bool, *, resize_scale: int, train_size: int, test_size: int,
             area_range: Sequence[float], aspect_range: Sequence[float],
             flip_order: Sequence[int] | None, compact_padding: float = 0.25,
             compact_threshold: float = 10) -> List[Callable[[Sample], Sample]]:
    """The references' geometry for one stage.

    Training: compact, resize to ``resize_scale``, random resized crop, resize to
    ``train_size``, flip (when ``flip_order`` is given). Val/test: compact, resize to
    ``test_size``.
    """
    steps: List[Callable[[Sample], Sample]] = [Compact(compact_padding, compact_threshold)]
    if not train:
        return steps + [Resize(test_size)]
    steps += [Resize(resize_scale), RandomResizedCrop(area_range, aspect_range),
              Resize(train_size)]
    if flip_order is not None:
        steps.append(Flip(flip_order))
    return steps
