"""Pseudo-heatmaps: the vectorised version against a plain per-point oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rgbpose_plugin.data import heatmaps
from rgbpose_plugin.data.heatmaps import HeatmapSpec, heatmap_size, pose_heatmaps
from rgbpose_plugin.keypoints import KeypointLayout

LIMBS = KeypointLayout().limbs


# --- The oracle: the reference algorithm, one point at a time, in float32 -----------------
def _draw_joint(arr, mu_x, mu_y, value, sigma, eps):
    if value < eps:
        return
    h, w = arr.shape
    x0 = max(int(mu_x - np.float32(3 * sigma)), 0)
    x1 = min(int(mu_x + np.float32(3 * sigma)) + 1, w)
    y0 = max(int(mu_y - np.float32(3 * sigma)), 0)
    y1 = min(int(mu_y + np.float32(3 * sigma)) + 1, h)
    for i in range(y0, y1):
        for j in range(x0, x1):
            d2 = (np.float32(j) - mu_x) ** 2 + (np.float32(i) - mu_y) ** 2
            arr[i, j] = max(arr[i, j], np.exp(-d2 / np.float32(2) / np.float32(sigma ** 2)) * value)


def _draw_limb(arr, a, b, va, vb, sigma, eps):
    value = min(va, vb)
    if value < eps:
        return
    h, w = arr.shape
    r = np.float32(3 * sigma)
    x0, x1 = max(int(min(a[0], b[0]) - r), 0), min(int(max(a[0], b[0]) + r) + 1, w)
    y0, y1 = max(int(min(a[1], b[1]) - r), 0), min(int(max(a[1], b[1]) + r) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return
    d2_ab = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
    if d2_ab < 1:
        _draw_joint(arr, a[0], a[1], va, sigma, eps)
        return
    for i in range(y0, y1):
        for j in range(x0, x1):
            x, y = np.float32(j), np.float32(i)
            d2_a = (x - a[0]) ** 2 + (y - a[1]) ** 2
            d2_b = (x - b[0]) ** 2 + (y - b[1]) ** 2
            c = (d2_a - d2_b + d2_ab) / np.float32(2) / d2_ab
            if c <= 0:
                d2 = d2_a
            elif c >= 1:
                d2 = d2_b
            else:
                px, py = a[0] + c * (b[0] - a[0]), a[1] + c * (b[1] - a[1])
                d2 = (x - px) ** 2 + (y - py) ** 2
            arr[i, j] = max(arr[i, j],
                            np.exp(-d2 / np.float32(2) / np.float32(sigma ** 2)) * value)


def oracle(kp, score, size, sigma, with_kp, with_limb, limbs, eps=1e-4):
    """(M,T,V,2), (M,T,V) float32 -> (C,T,h,w), point by point."""
    m, t, v, _ = kp.shape
    c = (v if with_kp else 0) + (len(limbs) if with_limb else 0)
    out = np.zeros((c, t, *size), np.float32)
    for f in range(t):
        for p in range(m):
            if with_kp:
                for j in range(v):
                    _draw_joint(out[j, f], kp[p, f, j, 0], kp[p, f, j, 1], score[p, f, j],
                                sigma, eps)
            if with_limb:
                for k, (ja, jb) in enumerate(limbs):
                    _draw_limb(out[(v if with_kp else 0) + k, f], kp[p, f, ja], kp[p, f, jb],
                               score[p, f, ja], score[p, f, jb], sigma, eps)
    return out


def _random_pose(rng, m, t, v, size, margin=4.0):
    h, w = size
    kp = np.stack([rng.uniform(-margin, w + margin, (m, t, v)),
                   rng.uniform(-margin, h + margin, (m, t, v))], -1).astype(np.float32)
    score = rng.uniform(0, 1, (m, t, v)).astype(np.float32)
    score[rng.uniform(size=score.shape) < 0.1] = 0  # undetected joints
    score[rng.uniform(size=score.shape) < 0.05] = 5e-5  # below eps
    return kp, score


@pytest.fixture(params=["numpy", "torch"])
def joint_path(request, monkeypatch):
    """The CPU draws joints with NumPy; accelerators use the torch version of the same
    code, which runs on the CPU here too so that CI tests it."""
    monkeypatch.setattr(heatmaps, "CPU_JOINTS_WITH_NUMPY", request.param == "numpy")
    return request.param


@pytest.mark.parametrize("sigma,size", [(0.7, (56, 56)), (0.6, (64, 48)), (1.3, (20, 31))])
def test_joint_maps_match_oracle(sigma, size, joint_path):
    rng = np.random.default_rng(int(sigma * 10) + size[1])
    kp, score = _random_pose(rng, 3, 4, 17, size)
    got = pose_heatmaps(torch.from_numpy(kp)[None], torch.from_numpy(score)[None], size, sigma)
    want = oracle(kp, score, size, sigma, True, False, ())
    assert got.shape == (1, 17, 4, *size)
    np.testing.assert_allclose(got[0].numpy(), want, atol=1e-5, rtol=0)
    assert want.max() > 0.5  # the comparison is not vacuous


@pytest.mark.parametrize("with_kp", [False, True])
def test_limb_maps_match_oracle(with_kp, joint_path):
    rng = np.random.default_rng(7 + with_kp)
    size = (40, 36)
    kp, score = _random_pose(rng, 2, 3, 17, size)
    kp[0, 0, 5] = kp[0, 0, 7] + 0.3  # a limb shorter than one pixel
    got = pose_heatmaps(torch.from_numpy(kp)[None], torch.from_numpy(score)[None], size, 0.6,
                        with_kp=with_kp, with_limb=True, limbs=LIMBS)
    want = oracle(kp, score, size, 0.6, with_kp, True, LIMBS)
    np.testing.assert_allclose(got[0].numpy(), want, atol=1e-5, rtol=0)
    assert want[-len(LIMBS):].max() > 0.5


def test_batch_equals_per_sample_and_edge_cases(joint_path):
    rng = np.random.default_rng(3)
    size = (24, 24)
    samples = [_random_pose(rng, 2, 5, 17, size) for _ in range(3)]
    kp = torch.from_numpy(np.stack([s[0] for s in samples]))
    score = torch.from_numpy(np.stack([s[1] for s in samples]))
    batch = pose_heatmaps(kp, score, size, 0.7)
    for i in range(3):
        np.testing.assert_array_equal(batch[i].numpy(),
                                      pose_heatmaps(kp[i:i + 1], score[i:i + 1], size, 0.7)[0])
    # NaN / huge coordinates draw nothing instead of crashing; zero persons give zeros.
    bad = kp.clone()
    bad[0, 0, 0, 0] = float("nan")
    bad[0, 0, 0, 1, 0] = 1e30
    out = pose_heatmaps(bad, score, size, 0.7)
    assert torch.isfinite(out).all()
    empty = pose_heatmaps(kp[:, :0], score[:, :0], size, 0.7)
    assert empty.shape == (3, 17, 5, 24, 24) and empty.abs().sum() == 0


def test_numpy_and_torch_joint_paths_agree(monkeypatch):
    rng = np.random.default_rng(11)
    kp, score = (torch.from_numpy(a)[None] for a in _random_pose(rng, 3, 6, 17, (56, 56)))
    got = {}
    for numpy_path in (True, False):
        monkeypatch.setattr(heatmaps, "CPU_JOINTS_WITH_NUMPY", numpy_path)
        got[numpy_path] = pose_heatmaps(kp, score, (56, 56), 0.7)
    np.testing.assert_allclose(got[True].numpy(), got[False].numpy(), atol=1e-6, rtol=0)
    assert got[True].max() > 0.5


def test_heatmap_size_and_spec():
    assert heatmap_size((224, 224), 0.25) == (56, 56)
    assert heatmap_size((256, 256), 0.25) == (64, 64)
    assert heatmap_size((250, 222), 0.25) == (63, 56)  # int(x * s + 0.5)
    spec = HeatmapSpec((8, 8), sigma=0.7)
    kp = torch.tensor([[[[[3.0, 4.0]]]]])
    out = spec(kp, torch.ones(1, 1, 1, 1))
    assert out.shape == (1, 1, 1, 8, 8)
    assert out[0, 0, 0, 4, 3] == pytest.approx(1.0)
    assert out[0, 0, 0, 4, 4] == pytest.approx(math.exp(-1 / (2 * 0.49)), rel=1e-6)


def test_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(N, M, T, V, 2\)"):
        pose_heatmaps(torch.zeros(1, 2, 3, 2), torch.zeros(1, 2, 3), (8, 8))
    with pytest.raises(ValueError, match="score must be"):
        pose_heatmaps(torch.zeros(1, 1, 2, 3, 2), torch.zeros(1, 1, 2, 4), (8, 8))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batch_matches_cpu():
    rng = np.random.default_rng(11)
    kp, score = _random_pose(rng, 2, 8, 17, (56, 56))
    kp_t, score_t = torch.from_numpy(kp)[None].repeat(4, 1, 1, 1, 1), \
        torch.from_numpy(score)[None].repeat(4, 1, 1, 1)
    for with_limb in (False, True):
        cpu = pose_heatmaps(kp_t, score_t, (56, 56), 0.7, with_limb=with_limb, limbs=LIMBS)
        gpu = pose_heatmaps(kp_t.cuda(), score_t.cuda(), (56, 56), 0.7, with_limb=with_limb,
                            limbs=LIMBS)
        assert gpu.device.type == "cuda"
        torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=0)
