"""Our MMAction2 transforms against the stock ones they replace (MMAction2 1.2.0)."""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest
from mm_fixtures import (
    CONFIGS,
    RGBPOSE_FAST,
    base_config,
    dataset_cfg,
    load_config,
    make_clips,
    plain,
)
from mmaction.registry import DATASETS, TRANSFORMS

from rgbpose_plugin.mmaction import FAST_TRANSFORMS, crop_with_padding, use_fast_transforms

pytestmark = pytest.mark.mmaction

HEATMAP_TOL = 1e-6
# decord and PyAV both decode with FFmpeg; their YUV->RGB conversions may round apart by
# one level (measured on these clips: 0).
FRAME_TOL = 1


def _pose_results(rng, m=2, t=6, v=17, hw=(64, 48), coords=2):
    kp = rng.uniform(-4, max(hw) + 4, (m, t, v, coords)).astype(np.float32)
    score = rng.uniform(0, 1, (m, t, v)).astype(np.float32)
    score[score < 0.15] = 0  # undrawn joints
    score[0, 0, :3] = 5e-5  # below eps
    kp[:, 1, 4] = kp[:, 1, 5]  # a zero-length limb
    return {"keypoint": kp, "keypoint_score": score, "img_shape": hw}


@pytest.mark.parametrize("args", [
    dict(sigma=0.6),
    dict(sigma=0.7, scaling=0.25),
    dict(sigma=0.6, with_kp=False, with_limb=True),
    dict(sigma=0.6, with_kp=True, with_limb=True),
    dict(sigma=0.6, use_score=False),
    dict(sigma=0.6, double=True),
    dict(sigma=0.6, with_kp=False, with_limb=True, double=True),
])
@pytest.mark.parametrize("with_imgs", [False, True])
def test_heatmaps_match_generate_pose_target(args, with_imgs):
    rng = np.random.default_rng(len(str(args)))
    # (x, y, score) keypoints for one joint case (the stock limb code only takes (x, y))
    results = _pose_results(rng, coords=3 if args == dict(sigma=0.6, double=True) else 2)
    if with_imgs:
        results["imgs"] = [np.zeros((64, 48, 3), np.uint8)]
    stock = TRANSFORMS.build(dict(type="GeneratePoseTarget", **args))(copy.deepcopy(results))
    ours = TRANSFORMS.build(dict(type="FastGeneratePoseTarget", **args))(copy.deepcopy(results))
    key = "heatmap_imgs" if with_imgs else "imgs"
    assert set(ours) == set(stock)
    a, b = stock[key], ours[key]
    assert b.dtype == a.dtype == np.float32 and b.shape == a.shape
    assert a.max() > 0.5  # something was drawn
    assert np.abs(a - b).max() <= HEATMAP_TOL


def test_heatmaps_bad_keypoints_are_named():
    gen = TRANSFORMS.build(dict(type="FastGeneratePoseTarget"))
    with pytest.raises(ValueError, match=r"keypoint must be.*clipX"):
        gen({"keypoint": np.zeros((2, 17, 2)), "img_shape": (8, 8), "frame_dir": "clipX"})


@pytest.mark.parametrize("box", [(2, 3, 20, 30), (-5, -7, 40, 25), (10, -3, 60, 50),
                                 (-8, 4, 12, 9), (0, 0, 32, 24)])
def test_crop_with_padding_matches_mmcompact_padding(box):
    img = np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    stock = TRANSFORMS.build(dict(type="MMCompact"))._compact_images([img], (24, 32), box)[0]
    np.testing.assert_array_equal(crop_with_padding(img, box), stock)


def test_compact_matches_on_keypoints_and_images(tmp_path):
    rng = np.random.default_rng(3)
    results = _pose_results(rng, hw=(40, 30))
    results["keypoint"][0, 2, 3] = 0  # zeros stay zeros
    results["imgs"] = [rng.integers(0, 255, (40, 30, 3), dtype=np.uint8) for _ in range(3)]
    stock = TRANSFORMS.build(dict(type="MMCompact", hw_ratio=1.0))(copy.deepcopy(results))
    ours = TRANSFORMS.build(dict(type="FastMMCompact", hw_ratio=1.0))(copy.deepcopy(results))
    assert ours["img_shape"] == stock["img_shape"]
    np.testing.assert_array_equal(ours["keypoint"], stock["keypoint"])
    for a, b in zip(stock["imgs"], ours["imgs"]):
        np.testing.assert_array_equal(a, b)


def _decode_input(ann_file, videos):
    ds = DATASETS.build(dataset_cfg(load_config(RGBPOSE_FAST), "test", ann_file, videos))
    results = ds.get_data_info(0)
    results["modality"] = "Pose"  # as PoseDataset sets it
    return TRANSFORMS.build(dict(type="MMUniformSampleFrames", clip_len=dict(RGB=8, Pose=32),
                                 num_clips=10, test_mode=True))(results)


def test_decode_matches_mmdecode(tmp_path):
    ann_file, videos = make_clips(tmp_path)
    sampled = _decode_input(ann_file, videos)
    stock = TRANSFORMS.build(dict(type="MMDecode"))(copy.deepcopy(sampled))
    ours = TRANSFORMS.build(dict(type="FastMMDecode"))(copy.deepcopy(sampled))
    assert set(ours) == set(stock)
    assert ours["img_shape"] == stock["img_shape"] == (180, 320)
    assert ours["original_shape"] == stock["original_shape"]
    assert len(ours["imgs"]) == len(stock["imgs"]) == 80
    a, b = np.stack(stock["imgs"]).astype(int), np.stack(ours["imgs"]).astype(int)
    assert np.abs(a - b).max() <= FRAME_TOL
    for key in ("keypoint", "keypoint_score"):
        assert ours[key].dtype == np.float32
        np.testing.assert_array_equal(ours[key], stock[key])
    # No two list entries share memory (stock Flip flips in place).
    assert len({img.__array_interface__["data"][0] for img in ours["imgs"]}) == 80


def test_decode_names_a_missing_video(tmp_path):
    ann_file, videos = make_clips(tmp_path)
    sampled = _decode_input(ann_file, videos)
    sampled["frame_dir"] = str(videos / "nope")
    with pytest.raises(Exception, match=r"nope\.mp4.*not found"):
        TRANSFORMS.build(dict(type="FastMMDecode"))(sampled)


def test_decode_refuses_what_it_cannot_honour():
    with pytest.raises(ValueError, match="io_backend='petrel'"):
        TRANSFORMS.build(dict(type="FastMMDecode", io_backend="petrel"))
    with pytest.raises(ValueError, match=r"\['path_mapping'\]"):
        TRANSFORMS.build(dict(type="FastMMDecode", path_mapping={"a": "b"}))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_fast_configs_are_the_stock_ones_with_names_swapped(config):
    ours, stock = load_config(config), base_config(config)
    assert ours.custom_imports == dict(imports=["rgbpose_plugin.mmaction"],
                                       allow_failed_imports=False)
    swapped = 0
    for split in ("train", "val", "test"):
        expected = plain(use_fast_transforms(stock[f"{split}_pipeline"]))
        assert plain(ours[f"{split}_pipeline"]) == expected
        ds = ours[f"{split}_dataloader"]["dataset"]
        assert plain(ds.get("dataset", ds)["pipeline"]) == expected
        swapped += sum(step["type"] in FAST_TRANSFORMS.values() for step in expected)
    assert swapped >= 3
    # Everything else is the stock config.
    strip = {f"{s}_{k}" for s in ("train", "val", "test") for k in ("pipeline", "dataloader")}
    assert set(ours.keys()) - strip - {"custom_imports"} == set(stock.keys()) - strip


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_rgbpose_pipelines_match_stock(tmp_path, split):
    """Same items from MMAction2's pipeline and ours (train: the same random draws)."""
    ann_file, videos = make_clips(tmp_path, num=2)
    items = {}
    for name, cfg in (("stock", base_config(RGBPOSE_FAST)), ("ours", load_config(RGBPOSE_FAST))):
        ds = DATASETS.build(dataset_cfg(cfg, split, ann_file, videos))
        items[name] = []
        for i in range(len(ds)):
            # MMAction2's random transforms draw from NumPy's and Python's global states.
            np.random.seed(i)
            random.seed(i)
            items[name].append(ds[i])
    for stock, ours in zip(items["stock"], items["ours"]):
        for key in ("imgs", "heatmap_imgs"):
            a, b = stock["inputs"][key], ours["inputs"][key]
            assert a.shape == b.shape and a.dtype == b.dtype
            tol = HEATMAP_TOL if key == "heatmap_imgs" else FRAME_TOL
            assert (a.float() - b.float()).abs().max().item() <= tol, key
        assert ours["data_samples"].gt_label == stock["data_samples"].gt_label
        assert ours["data_samples"].img_shape == stock["data_samples"].img_shape


def test_heatmaps_without_persons_are_empty_maps():
    results = {"keypoint": np.zeros((0, 5, 17, 2), np.float32),
               "keypoint_score": np.zeros((0, 5, 17), np.float32), "img_shape": (32, 32)}
    stock = TRANSFORMS.build(dict(type="GeneratePoseTarget"))(dict(results))["imgs"]
    ours = TRANSFORMS.build(dict(type="FastGeneratePoseTarget"))(dict(results))["imgs"]
    assert ours.shape == stock.shape == (5, 17, 32, 32) and not ours.any()
