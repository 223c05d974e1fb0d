"""Transforms: a dot drawn at a keypoint stays under the keypoint through every step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from data_fixtures import skeleton_track

import rgbpose_plugin.data.transforms as transforms_module
from rgbpose_plugin.data.transforms import (
    Compact,
    Compose,
    Flip,
    RandomResizedCrop,
    Resize,
    compact_box,
    frames,
    geometry,
    normalize_frames,
    random_resized_box,
)
from rgbpose_plugin.keypoints import KeypointLayout

LAYOUT = KeypointLayout()


def dotted_sample(img_shape, box, seed=0):
    """17 frames; frame t shows one bright blob at joint t of a one-person skeleton."""
    h, w = img_shape
    kp = skeleton_track(17, box, seed=seed)[None]  # (1, 17, 17, 2)
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32),
                            torch.arange(w, dtype=torch.float32), indexing="ij")
    imgs = torch.zeros(17, 3, h, w, dtype=torch.uint8)
    for t in range(17):
        x, y = kp[0, t, t]
        blob = 255 * torch.exp(-((xx - float(x)) ** 2 + (yy - float(y)) ** 2) / (2 * 3.0 ** 2))
        imgs[t] = blob.round().to(torch.uint8)
    return {"imgs": imgs, "keypoint": torch.from_numpy(kp),
            "keypoint_score": torch.ones(1, 17, 17), "img_shape": (h, w),
            "rng": np.random.RandomState(seed)}


def assert_dots_under_keypoints(sample, tol=1.6, joints=None):
    """Each frame's brightness centroid sits at its joint's keypoint (within ``tol`` px)."""
    imgs = frames(sample).float().mean(1)  # (F, H, W), any pending crop applied
    h, w = imgs.shape[-2:]
    assert (h, w) == tuple(sample["img_shape"])
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32),
                            torch.arange(w, dtype=torch.float32), indexing="ij")
    checked = 0
    for t in range(imgs.shape[0]):
        joint = t if joints is None else joints[t]
        x, y = (float(v) for v in sample["keypoint"][0, t, joint])
        if not (8 <= x < w - 8 and 8 <= y < h - 8):
            continue  # the blob is cut by the border: its centroid moves
        weight = imgs[t]
        assert weight.sum() > 0, f"frame {t}: the dot left the image"
        cx = float((weight * xx).sum() / weight.sum())
        cy = float((weight * yy).sum() / weight.sum())
        assert abs(cx - x) < tol and abs(cy - y) < tol, (t, (cx, cy), (x, y))
        checked += 1
    assert checked >= 10


def reference_box(kp, img_shape, padding=0.25, threshold=10, hw_ratio=1.0):
    """mmaction2 ``MMCompact._get_box`` (allow_imgpad) on NumPy float32 scalars."""
    h, w = img_shape
    kx, ky = kp[..., 0], kp[..., 1]
    min_x = np.min(kx[kx != 0], initial=np.inf)
    min_y = np.min(ky[ky != 0], initial=np.inf)
    max_x = np.max(kx[kx != 0], initial=-np.inf)
    max_y = np.max(ky[ky != 0], initial=-np.inf)
    if max_x - min_x < threshold or max_y - min_y < threshold:
        return 0, 0, w, h
    cx, cy = (max_x + min_x) / 2, (max_y + min_y) / 2
    hw_, hh = (max_x - min_x) / 2 * (1 + padding), (max_y - min_y) / 2 * (1 + padding)
    hh = max(hw_ratio * hw_, hh)
    hw_ = max(1 / hw_ratio * hh, hw_)
    return int(cx - hw_), int(cy - hh), int(cx + hw_), int(cy + hh)


def test_compact_box_matches_reference_and_is_square():
    rng = np.random.default_rng(0)
    for _ in range(200):
        kp = rng.uniform(-50, 700, (2, 6, 17, 2)).astype(np.float32)
        kp[rng.uniform(size=kp.shape) < 0.2] = 0
        box = compact_box(torch.from_numpy(kp), (480, 640))
        assert box == reference_box(kp, (480, 640))
        assert abs((box[2] - box[0]) - (box[3] - box[1])) <= 1  # square up to truncation


def test_compact_small_or_empty_skeleton_keeps_whole_image():
    kp = torch.zeros(1, 3, 17, 2)
    assert compact_box(kp, (100, 200)) == (0, 0, 200, 100)
    kp[..., 0], kp[..., 1] = 50.0, 40.0
    kp[0, 0, 0] = torch.tensor([55.0, 45.0])  # a 5 px skeleton: under the threshold
    assert compact_box(kp, (100, 200)) == (0, 0, 200, 100)


def test_compact_crop_keeps_dots_under_keypoints():
    sample = dotted_sample((240, 320), (120, 40, 200, 200))
    out = Compact()(sample)
    x0, y0, x1, y1 = out["compact_box"]
    assert abs((x1 - x0) - (y1 - y0)) <= 1 and (x1 - x0) > 80 * 1.2
    assert_dots_under_keypoints(out)


def test_compact_box_outside_image_pads_with_zeros():
    sample = dotted_sample((120, 320), (10, 5, 70, 115))  # near the left/top/bottom edges
    out = Compact()(sample)
    x0, y0, x1, y1 = out["compact_box"]
    assert x0 < 0 and y0 < 0 and y1 > 120
    assert "crop_box" in out  # deferred to the next resize
    assert_dots_under_keypoints(out)
    assert out["imgs"].shape[-2:] == (y1 - y0, x1 - x0)
    assert out["imgs"][:, :, :, : -x0].sum() == 0  # the padded margin is black


def test_deferred_padded_crop_resizes_like_the_padded_frames(monkeypatch):
    sample = dotted_sample((120, 320), (10, 5, 70, 115))
    eager = Compact()(dict(sample))
    eager_imgs = frames(eager)  # pad everything first, then resize
    want = torch.nn.functional.interpolate(eager_imgs, size=(64, 64), mode="bilinear",
                                           align_corners=False)
    monkeypatch.setattr(transforms_module, "_CHUNK_BYTES", 3 * 130 * 130 * 4)  # 4 chunks
    got = Resize(64)(Compact()(dict(sample)))["imgs"]
    assert torch.equal(got, want)


def test_resize_crop_flip_chain_keeps_dots_under_keypoints():
    sample = dotted_sample((240, 320), (100, 30, 220, 230), seed=3)
    for t in (Compact(), Resize(256)):
        sample = t(sample)
    assert_dots_under_keypoints(sample)
    sample = RandomResizedCrop((0.56, 1.0))(sample)
    h, w = sample["img_shape"]
    assert 0.56 * 256 * 256 - 256 <= h * w <= 256 * 256 + 1e-6
    assert_dots_under_keypoints(sample)
    sample = Resize(224)(sample)
    assert_dots_under_keypoints(sample)
    flipped = Flip(LAYOUT.flip_order(), p=1.0)(dict(sample, rng=np.random.RandomState(0)))
    assert flipped["flip"]
    # Frame t showed joint t; after the swap that joint is stored under its mirror index.
    order = LAYOUT.flip_order()
    assert_dots_under_keypoints(flipped, joints=[order[t] for t in range(17)])


def test_flip_mirrors_nonzero_x_and_swaps_joints():
    kp = torch.rand(2, 3, 17, 2) * 100 + 1
    kp[0, 0, 5] = 0  # undetected joint stays at 0
    score = torch.arange(2 * 3 * 17, dtype=torch.float32).view(2, 3, 17)
    sample = {"imgs": None, "keypoint": kp.clone(), "keypoint_score": score.clone(),
              "img_shape": (120, 160), "rng": np.random.RandomState(0)}
    out = Flip(LAYOUT.flip_order(), p=1.0)(sample)
    order = LAYOUT.flip_order()
    assert order[1] == 2 and order[2] == 1 and order[0] == 0
    assert torch.equal(out["keypoint"][..., 1], kp[..., 1][:, :, order])
    want_x = torch.where(kp[..., 0] != 0, 160 - kp[..., 0], kp[..., 0])[:, :, order]
    assert torch.equal(out["keypoint"][..., 0], want_x)
    assert torch.equal(out["keypoint_score"], score[:, :, order])
    assert out["keypoint"][0, 0, 6, 0] == 0  # joint 5 moved to slot 6, still 0
    never = Flip(order, p=0.0)(dict(sample, rng=np.random.RandomState(0)))
    assert not never["flip"]


def test_random_resized_box_ranges_and_fallback():
    rng = np.random.RandomState(0)
    for _ in range(300):
        x0, y0, x1, y1 = random_resized_box((256, 256), (0.56, 1.0), (3 / 4, 4 / 3), rng)
        w, h = x1 - x0, y1 - y0
        assert 0 <= x0 and 0 <= y0 and x1 <= 256 and y1 <= 256
        assert 0.56 * 256 * 256 * 0.97 <= w * h <= 256 * 256
        assert 3 / 4 - 0.02 <= w / h <= 4 / 3 + 0.02
    # Impossible requests fall back to the centre square.
    assert random_resized_box((100, 300), (1.0, 1.0), (10.0, 10.0), rng) == (100, 0, 200, 100)


def test_normalize_values_and_layout():
    imgs = torch.randint(0, 256, (4, 3, 5, 6), dtype=torch.uint8)
    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    out = normalize_frames(imgs.permute(1, 0, 2, 3), torch.tensor(mean), torch.tensor(std))
    assert out.shape == (3, 4, 5, 6) and out.dtype == torch.float32
    want = (imgs.permute(1, 0, 2, 3).float() - torch.tensor(mean).view(3, 1, 1, 1)) \
        / torch.tensor(std).view(3, 1, 1, 1)
    torch.testing.assert_close(out, want, rtol=1e-6, atol=1e-5)


def test_geometry_train_and_test_pipelines():
    train = Compose(geometry(True, resize_scale=256, train_size=224, test_size=256,
                             area_range=(0.56, 1.0), aspect_range=(0.75, 4 / 3),
                             flip_order=LAYOUT.flip_order()))
    test = Compose(geometry(False, resize_scale=256, train_size=224, test_size=256,
                            area_range=(0.56, 1.0), aspect_range=(0.75, 4 / 3),
                            flip_order=None))
    out = train(dotted_sample((240, 320), (100, 30, 220, 230), seed=5))
    assert out["imgs"].shape == (17, 3, 224, 224) and out["img_shape"] == (224, 224)
    out = test(dotted_sample((240, 320), (100, 30, 220, 230), seed=5))
    assert out["imgs"].shape == (17, 3, 256, 256)
    assert_dots_under_keypoints(out)
    # Skeleton-only samples (no frames) go through the same geometry.
    sample = dotted_sample((240, 320), (100, 30, 220, 230), seed=5)
    sample["imgs"] = None
    assert test(sample)["img_shape"] == (256, 256)


@pytest.mark.parametrize("bad", [dict(padding=-1)])
def test_compact_rejects_bad_padding(bad):
    with pytest.raises(ValueError, match="padding"):
        Compact(**bad)
