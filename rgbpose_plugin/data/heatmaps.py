"""Pseudo-heatmaps (PoseC3D / RGBPoseConv3D), vectorised, on any device.

Semantics are mmaction2 1.x ``GeneratePoseTarget`` (docs/design.md section 3, step 5): for each
frame, channel and person, ``score * exp(-d^2 / (2 sigma^2))`` is written only inside the
window ``x in [max(int(mu_x - 3 sigma), 0), min(int(mu_x + 3 sigma) + 1, W))`` (same for
y; ``int`` truncates toward zero); maps start at 0 and persons combine by pixel-wise max;
a joint whose score is below ``eps`` is not drawn. Pixel (row i, column j) is the point
(x=j, y=i). Limb maps use the distance to the segment between two joints and the smaller
of their scores; a limb shorter than 1 pixel draws its first joint instead.

Instead of looping over frames, joints and persons, every point gets a small patch (its
window, at most ``floor(6 sigma) + 2`` pixels a side) and the patches are written into the
flat output with a scatter (a max-scatter where persons may overlap). Joint patches use
the separable form ``exp(-dx^2/2s^2) * exp(-dy^2/2s^2)`` (equal to the reference within
float rounding). The joint code is written once for NumPy and torch (:class:`_Ops`): NumPy
draws on the CPU, torch on accelerators; limbs are drawn with torch.
With ``with_kp`` and ``with_limb`` both set, limb channels follow the joint channels
(the references' code draws limbs over the first channels in that case; the shipped
configs never combine them).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

__all__ = ["pose_heatmaps", "HeatmapSpec", "heatmap_size"]

# Coordinates are clamped to this range before windows are computed, so that absurd
# values (1e30, inf) cannot overflow the integer conversion; such points draw nothing.
_COORD_LIMIT = 1e6
# Limb patches are computed in chunks of at most this many pixels to bound memory.
_LIMB_CHUNK = 1 << 23


def heatmap_size(img_shape: Tuple[int, int], scaling: float) -> Tuple[int, int]:
    """Heatmap (h, w) for frames of ``img_shape`` scaled by ``scaling``: ``int(x * s + 0.5)``."""
    return int(img_shape[0] * scaling + 0.5), int(img_shape[1] * scaling + 0.5)


def _sanitise(ops: _Ops, keypoint, score, eps: float):
    """float32 coordinates without NaN/inf, and a 0/1 'is drawn' mask folded into scores."""
    xp = ops.xp
    keypoint, score = ops.f32(keypoint), ops.f32(score)
    finite = xp.isfinite(keypoint).all(-1)
    keypoint = xp.where(finite[..., None], keypoint, 0.0).clip(-_COORD_LIMIT, _COORD_LIMIT)
    # Not drawn: low score, NaN score, or non-finite coordinates.
    score = xp.where(finite & (score >= eps), score, 0.0)
    return keypoint, score


def _f64(x: Tensor) -> Tensor:
    """``x`` in float64 where the device has it (MPS does not: float32 there)."""
    return x if x.device.type == "mps" else x.double()


def _window(low: Tensor, high: Tensor, radius: float, limit: int) -> Tuple[Tensor, Tensor]:
    """Reference window ``[max(int(low - r), 0), min(int(high + r) + 1, limit))``
    (``low = high = mu`` for a joint; the two ends' min and max for a limb).

    In float64, as the references compute it (NumPy 1.x: a float32 scalar minus a Python
    float is a float64), so a window edge never differs by float32 rounding."""
    start = torch.trunc(_f64(low) - radius).long().clamp(min=0)
    end = (torch.trunc(_f64(high) + radius).long() + 1).clamp(max=limit)
    return start, end


def _zeros(size: int, device: torch.device) -> Tensor:
    """A zeroed float32 buffer. On the CPU it comes from NumPy's calloc: untouched pages
    stay the kernel's shared zero page, so the mostly-empty maps cost no zero fill (for a
    10-clip test item that fill is ~90 MB)."""
    if device.type == "cpu":
        return torch.from_numpy(np.zeros(size, dtype=np.float32))
    return torch.zeros(size, dtype=torch.float32, device=device)


def _scatter_max(out: Tensor, index: Tensor, value: Tensor) -> None:
    out.scatter_reduce_(0, index.reshape(-1), value.reshape(-1), reduce="amax")


def _joint_side(sigma: float) -> int:
    """Largest joint window, in pixels a side (``floor(6 sigma) + 2``, kept safe from
    float rounding)."""
    return math.floor(6 * sigma + 1e-3) + 2


@dataclass(frozen=True)
class _Ops:
    """The few calls in which NumPy and torch differ. The joint path is written once
    against these and ``xp`` (the ``numpy`` or ``torch`` module): NumPy on the CPU, where
    its calls cost a fraction of torch's at these sizes (the whole draw: ~0.9 against
    ~1.8 ms for 2 x 32 x 17 joints right after other work), torch on accelerators."""

    xp: object
    f32: Callable
    f64: Callable
    i64: Callable
    arange: Callable  # arange(k): 0..k-1, int64
    zeros: Callable  # zeros(n): a flat float32 buffer
    scatter_set: Callable  # scatter_set(flat, index, value): flat[index] = value, unique
    scatter_max: Callable  # scatter_max(flat, index, value): pixel-wise max


def _np_set(flat: np.ndarray, index: np.ndarray, value: np.ndarray) -> None:
    flat[index.reshape(-1)] = value.reshape(-1)


def _np_max(flat: np.ndarray, index: np.ndarray, value: np.ndarray) -> None:
    """Persons (axis 1) one at a time: within one person the indices are unique but for
    the spare element, so a gather, max and set does what ``np.maximum.at`` does, faster."""
    for k in range(index.shape[1]):
        at = index[:, k].reshape(-1)
        flat[at] = np.maximum(flat[at], value[:, k].reshape(-1))


_NUMPY = _Ops(np, lambda a: a.astype(np.float32, copy=False), lambda a: a.astype(np.float64),
              lambda a: a.astype(np.int64), np.arange, lambda n: np.zeros(n, np.float32),
              _np_set, _np_max)


@functools.cache
def _torch_ops(device: torch.device) -> _Ops:
    def scatter_set(flat: Tensor, index: Tensor, value: Tensor) -> None:
        flat.scatter_(0, index.reshape(-1), value.reshape(-1))

    return _Ops(torch, lambda a: a.float(), _f64, lambda a: a.long(),
                lambda k: torch.arange(k, device=device), lambda n: _zeros(n, device),
                scatter_set, _scatter_max)


# The CPU draws joints with NumPy; tests set this to False to run the torch path there.
CPU_JOINTS_WITH_NUMPY = True


def _ops_for(device: torch.device) -> _Ops:
    return _NUMPY if device.type == "cpu" and CPU_JOINTS_WITH_NUMPY else _torch_ops(device)


@functools.lru_cache(maxsize=64)
def _joint_layout(ops: _Ops, n: int, t: int, v: int, num_channels: int, channel0: int, h: int,
                  w: int, side: int) -> Tuple:
    """What depends only on the shapes, made once per shape (at these sizes each call
    costs more than its arithmetic): the flat offset of every map (N,1,T,V), the patch's
    pixel offsets (K,K), ``arange(K)`` and the (w, h) limit, both float64."""
    nn, tt, vv = ops.arange(n), ops.arange(t), ops.arange(v)
    map_offset = ((nn.reshape(n, 1, 1, 1) * num_channels + channel0 + vv.reshape(1, 1, 1, v))
                  * t + tt.reshape(1, 1, t, 1)) * (h * w)
    ar = ops.arange(side)
    pixel_offset = ar[:, None] * w + ar[None, :]
    limit = ops.f64(ops.xp.where(ops.arange(2) == 0, w, h))
    return map_offset, pixel_offset, ops.f64(ar), limit


def _joint_maps(ops: _Ops, flat, shape: Tuple[int, ...], kp, score, sigma: float,
                channel0: int) -> None:
    """Draw every joint of ``kp`` (N,M,T,V,2) into ``flat``, the (N,C,T,h,w) maps plus
    one spare element.

    Each point writes a ``side x side`` patch starting at its window's corner (the
    window of :func:`_window`, in float64; x and y together); pixels outside the window
    carry 0 and are sent to the spare element.
    """
    xp = ops.xp
    n, m, t, v, _ = kp.shape
    num_channels, h, w = shape[1], shape[3], shape[4]
    radius = 3 * sigma
    side = _joint_side(sigma)
    map_offset, pixel_offset, ar, limit = _joint_layout(ops, n, t, v, num_channels, channel0,
                                                        h, w, side)
    kp64 = ops.f64(kp)
    start = xp.minimum(xp.trunc(kp64 - radius).clip(0, None), limit)
    end = xp.minimum(xp.trunc(kp64 + radius) + 1, limit)
    pos = start[..., None] + ar  # (N,M,T,V,2,K), integers
    g = xp.exp(xp.square(ops.f32(pos) - kp[..., None]) * (-1.0 / (2 * sigma * sigma)))
    g = xp.where(pos >= end[..., None], 0.0, g)
    value = (g[..., 1, :, None] * score[..., None, None]) * g[..., 0, None, :]
    corner = ops.i64(start[..., 1] * w + start[..., 0]) + map_offset  # (N,M,T,V)
    index = corner[..., None, None] + pixel_offset
    # Zero values (outside the window, or not drawn) change nothing: they all go to one
    # spare element. Each person then writes at most one patch per map, so the first
    # person needs no max (a plain scatter is several times cheaper than a max-scatter).
    index = xp.where(value > 0, index, flat.shape[0] - 1)
    ops.scatter_set(flat, index[:, 0], value[:, 0])
    if m > 1:
        ops.scatter_max(flat, index[:, 1:], value[:, 1:])


def _limb_patch(x: Tensor, y: Tensor, a: Tensor, b: Tensor, sa: Tensor, sb: Tensor,
                box: Tuple[Tensor, ...], joint_box: Tuple[Tensor, ...], sigma: float) -> Tensor:
    """Values of one batch of limb patches at pixel coordinates x (..,1,K) and y (..,K,1)."""
    ax, ay, bx, by = (c[..., None, None] for c in (a[..., 0], a[..., 1], b[..., 0], b[..., 1]))
    d2_a = (x - ax) ** 2 + (y - ay) ** 2
    d2_b = (x - bx) ** 2 + (y - by) ** 2
    # The references square and add the float32 differences in float64 (NumPy 1.x
    # scalars), then round to float32 against the pixel arrays; the projection below is
    # ill-conditioned enough that the float32 sum moves values by ~3e-6.
    d2_ab64 = _f64(ax - bx) ** 2 + _f64(ay - by) ** 2
    d2_ab = d2_ab64.float()
    coeff = (d2_a - d2_b + d2_ab) / 2.0 / d2_ab
    d2_line = (x - (ax + coeff * (bx - ax))) ** 2 + (y - (ay + coeff * (by - ay))) ** 2
    d2_seg = torch.where(coeff <= 0, d2_a, torch.where(coeff >= 1, d2_b, d2_line))
    limb = torch.exp(-d2_seg / 2.0 / (sigma * sigma)) * torch.minimum(sa, sb)[..., None, None]
    # A limb shorter than one pixel draws joint a (score sa) in joint a's own window.
    x0, x1, y0, y1 = (c[..., None, None] for c in joint_box)
    inside = (x >= x0) & (x < x1) & (y >= y0) & (y < y1)
    joint = torch.where(inside, torch.exp(-d2_a / 2.0 / (sigma * sigma)) * sa[..., None, None], 0.0)
    value = torch.where(d2_ab64 < 1, joint, limb)
    bx0, bx1, by0, by1 = (c[..., None, None] for c in box)
    return torch.where((x >= bx0) & (x < bx1) & (y >= by0) & (y < by1), value, 0.0)


def _limb_maps(out: Tensor, kp: Tensor, score: Tensor, sigma: float, limbs: Sequence,
               channel0: int, num_channels: int) -> None:
    """Draw every limb into the flat ``out``; patches span each limb's window."""
    n, m, t, _, _ = kp.shape
    h, w = out.shape[-2:]
    idx_a = torch.tensor([p[0] for p in limbs], device=kp.device)
    idx_b = torch.tensor([p[1] for p in limbs], device=kp.device)
    a, b = kp[:, :, :, idx_a], kp[:, :, :, idx_b]  # (N,M,T,L,2)
    sa, sb = score[:, :, :, idx_a], score[:, :, :, idx_b]
    radius = 3 * sigma
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    x0, x1 = _window(lo[..., 0], hi[..., 0], radius, w)
    y0, y1 = _window(lo[..., 1], hi[..., 1], radius, h)
    # Skipped limbs (a score below eps) get an empty window.
    drawn = torch.minimum(sa, sb) > 0
    x1 = torch.where(drawn, x1, x0)
    width, height = (x1 - x0).clamp(min=0).reshape(-1), (y1 - y0).clamp(min=0).reshape(-1)
    ja_x = _window(a[..., 0], a[..., 0], radius, w)  # joint a's own window
    ja_y = _window(a[..., 1], a[..., 1], radius, h)
    num_limbs = len(limbs)
    nn = torch.arange(n, device=kp.device).view(n, 1, 1)
    tt = torch.arange(t, device=kp.device).view(1, t, 1)
    ll = torch.arange(num_limbs, device=kp.device).view(1, 1, num_limbs)
    base = ((nn * num_channels + channel0 + ll) * t + tt) * (h * w)
    base = base.unsqueeze(1).expand(n, m, t, num_limbs).reshape(-1)
    flat_args = [c.reshape(-1, *c.shape[4:]) for c in
                 (a, b, sa, sb, x0, x1, y0, y1, *ja_x, *ja_y)]
    for rows, kx, ky in _limb_groups(width, height):
        ca, cb, csa, csb, cx0, cx1, cy0, cy1, jx0, jx1, jy0, jy1 = (c[rows] for c in flat_args)
        px = cx0[:, None] + torch.arange(kx, device=kp.device)  # (P,Kx)
        py = cy0[:, None] + torch.arange(ky, device=kp.device)
        value = _limb_patch(px[:, None, :].float(), py[:, :, None].float(), ca, cb, csa, csb,
                            (cx0, cx1, cy0, cy1), (jx0, jx1, jy0, jy1), sigma)
        index = (base[rows, None, None] + py.clamp(max=h - 1)[:, :, None] * w
                 + px.clamp(max=w - 1)[:, None, :])
        _scatter_max(out.view(-1), index, value)


def _limb_groups(width: Tensor, height: Tensor):
    """``(rows, kx, ky)`` chunks of the drawn limbs, grouped by window size (powers of
    two of the longer side), so that one long limb does not make every patch large;
    each chunk holds at most ``_LIMB_CHUNK`` patch pixels."""
    drawn = (width > 0) & (height > 0)
    if not bool(drawn.any()):
        return
    side = torch.maximum(width, height).clamp(min=1)
    bucket = torch.ceil(torch.log2(side.double())).long()
    for group in torch.unique(bucket[drawn]).tolist():
        rows = torch.nonzero(drawn & (bucket == group)).squeeze(1)
        kx, ky = int(width[rows].max()), int(height[rows].max())
        step = max(1, _LIMB_CHUNK // (kx * ky))
        for start in range(0, rows.numel(), step):
            yield rows[start:start + step], kx, ky


def pose_heatmaps(keypoint: Tensor, score: Tensor, size: Tuple[int, int], sigma: float = 0.6,
                  with_kp: bool = True, with_limb: bool = False,
                  limbs: Sequence[Sequence[int]] = (), eps: float = 1e-4) -> Tensor:
    """Joint and/or limb pseudo-heatmaps for a batch.

    Args:
        keypoint: ``(N, M, T, V, 2)`` coordinates in heatmap pixels (x, y).
        score: ``(N, M, T, V)`` confidences; absent persons must carry 0.
        size: heatmap ``(h, w)``.
        sigma: Gaussian sigma in heatmap pixels.
        with_kp, with_limb: which maps to draw (joints first, then limbs).
        limbs: joint pairs, used with ``with_limb``.
        eps: joints scoring below this are not drawn (mmaction2: 1e-4).

    Returns:
        ``(N, C, T, h, w)`` float32 on the keypoints' device, ``C = V * with_kp +
        len(limbs) * with_limb``.
    """
    if keypoint.dim() != 5 or keypoint.shape[-1] != 2:
        raise ValueError(f"pose_heatmaps: keypoint must be (N, M, T, V, 2), got "
                         f"{tuple(keypoint.shape)}")
    if tuple(score.shape) != tuple(keypoint.shape[:4]):
        raise ValueError(f"pose_heatmaps: score must be {tuple(keypoint.shape[:4])}, got "
                         f"{tuple(score.shape)}")
    if not (with_kp or with_limb):
        raise ValueError("pose_heatmaps: with_kp or with_limb must be set")
    if with_limb and not limbs:
        raise ValueError("pose_heatmaps: with_limb needs limbs")
    if sigma <= 0:
        raise ValueError(f"pose_heatmaps: sigma must be positive, got {sigma}")
    n, _, t, v, _ = keypoint.shape
    h, w = int(size[0]), int(size[1])
    channels = (v if with_kp else 0) + (len(limbs) if with_limb else 0)
    shape = (n, channels, t, h, w)
    total = math.prod(shape)
    ops = _ops_for(keypoint.device)
    flat = ops.zeros(total + 1)  # + the element that zero pixels are sent to
    out = torch.as_tensor(flat)[:total].view(shape)
    if total == 0 or keypoint.shape[1] == 0:
        return out
    if ops is _NUMPY:
        keypoint, score = keypoint.detach().float().numpy(), score.detach().float().numpy()
    kp, sc = _sanitise(ops, keypoint, score, eps)
    if with_kp:
        _joint_maps(ops, flat, shape, kp, sc, float(sigma), 0)
    if with_limb:
        _limb_maps(out, torch.as_tensor(kp), torch.as_tensor(sc), float(sigma), limbs,
                   v if with_kp else 0, channels)
    return out


@dataclass(frozen=True)
class HeatmapSpec:
    """How to draw the pose input: map size, sigma, channels. Picklable, device-free."""

    size: Tuple[int, int]
    sigma: float = 0.6
    with_kp: bool = True
    with_limb: bool = False
    limbs: Tuple[Tuple[int, int], ...] = ()
    eps: float = 1e-4

    def __call__(self, keypoint: Tensor, score: Tensor) -> Tensor:
        """:func:`pose_heatmaps` with these settings."""
        return pose_heatmaps(keypoint, score, self.size, self.sigma, self.with_kp,
                             self.with_limb, self.limbs, self.eps)
