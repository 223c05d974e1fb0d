"""The dataset end to end on small synthetic videos."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from data_fixtures import make_annotation, make_dotted_video, make_video, write_annotation_file
from test_data_heatmaps import oracle
from test_data_sampling import reference_test_draws
from test_data_transforms import reference_box

from rgbpose_plugin.config import get_cfg
from rgbpose_plugin.data import (
    AnnotationError,
    DataOptions,
    RGBPoseDataset,
    SampleError,
    collate,
    draw_heatmaps,
    to_device,
)
from rgbpose_plugin.registry import DATASET_REGISTRY

FRAMES = 40
VIDEO_HW = (180, 320)  # decoded (H, W); annotations are measured at twice that size
ANN_HW = (360, 640)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("dataset")
    anns = []
    for i in range(3):
        make_video(root / f"vid{i}.mp4", VIDEO_HW[1], VIDEO_HW[0], FRAMES)
        anns.append(make_annotation(f"vid{i}", FRAMES, ANN_HW, num_persons=2 - (i == 1),
                                    label=i, seed=i))
    make_video(root / "portrait.mp4", 180, 320, FRAMES)  # 180 wide, 320 tall
    anns.append(make_annotation("portrait", FRAMES, (640, 360), 1, label=2, seed=9))
    splits = {"train": ["vid0", "vid1", "vid2"], "val": ["vid0", "vid1"],
              "portrait": ["portrait"], "broken": ["vid0", "missing", "vid2"],
              "damaged": ["corrupt", "short"]}
    anns.append(make_annotation("missing", FRAMES, ANN_HW, 1, label=0))  # no video file
    (root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x20ftypisom" + bytes(3000))
    anns.append(make_annotation("corrupt", FRAMES, ANN_HW, 1, label=0))
    make_video(root / "short.mp4", VIDEO_HW[1], VIDEO_HW[0], FRAMES - 10)
    anns.append(make_annotation("short", FRAMES, ANN_HW, 1, label=1))  # 10 frames too many
    write_annotation_file(root / "ann.pkl", anns, splits)
    return root


def dataset(data_dir, split="train", split_name="train", **options):
    opts = DataOptions(video_prefix=str(data_dir), num_views=options.pop("num_views", 3),
                       **options)
    return RGBPoseDataset.from_file(str(data_dir / "ann.pkl"), split_name, opts, split,
                                    num_classes=3)


@pytest.mark.parametrize("mode,shapes", [
    ("rgbpose", [(3, 8, 224, 224), (17, 32, 56, 56)]),
    ("rgb", [(3, 8, 224, 224)]),
    ("pose", [(17, 32, 56, 56)]),
])
def test_item_contract_per_mode_and_split(data_dir, mode, shapes):
    train = dataset(data_dir, mode=mode, repeat=2)
    assert len(train) == 6
    item = train[4]  # repeated index 4 -> video 1
    assert [tuple(x.shape) for x in item["inputs"]] == shapes
    assert item["label"] == 1 and item["index"] == 1 and item["meta"]["frame_dir"] == "vid1"
    assert all(x.dtype == torch.float32 and torch.isfinite(x).all() for x in item["inputs"])
    big = {(3, 8, 224, 224): (3, 8, 256, 256), (17, 32, 56, 56): (17, 32, 64, 64)}
    val = dataset(data_dir, "val", "val", mode=mode)
    assert [tuple(x.shape) for x in val[0]["inputs"]] == [big[s] for s in shapes]
    test = dataset(data_dir, "test", "val", mode=mode)
    assert [tuple(x.shape) for x in test[0]["inputs"]] == [(3,) + big[s] for s in shapes]
    batch = collate([train[0], train[1]])
    assert [tuple(x.shape) for x in batch["inputs"]] == [(2,) + s for s in shapes]
    assert batch["label"].tolist() == [0, 1] and batch["num_skipped"] == 0
    if mode != "pose":  # normalised RGB: roughly zero-centred, unit-scaled
        assert -3 < float(item["inputs"][0].mean()) < 3
    if mode != "rgb":  # each joint map peaks near its score
        assert float(item["inputs"][-1].max()) > 0.3


def test_val_and_test_pose_equal_reference_pipeline(data_dir):
    """Seeded draws, rescale to the decoded size, compact, resize, heatmaps: all as the
    reference computes them, compared against its per-point algorithm."""
    ann = dataset(data_dir).annotations[0]
    for split, views in (("val", 1), ("test", 2)):
        item = dataset(data_dir, split, "val", num_views=views)[0]
        inds = reference_test_draws(FRAMES, 32, views)
        kp = ann["keypoint"][:, inds].astype(np.float32)
        score = ann["keypoint_score"][:, inds].astype(np.float32)
        kp[..., 0] *= VIDEO_HW[1] / ANN_HW[1]
        kp[..., 1] *= VIDEO_HW[0] / ANN_HW[0]
        x0, y0, x1, y1 = reference_box(kp, VIDEO_HW)
        kp[..., 0][kp[..., 0] != 0] -= x0
        kp[..., 1][kp[..., 1] != 0] -= y0
        kp = kp * np.array([256 / (x1 - x0), 256 / (y1 - y0)], np.float32)
        want = oracle(kp * np.float32(0.25), score, (64, 64), 0.7, True, False, ())
        got = item["inputs"][1]
        if split == "test":
            got = got.permute(1, 0, 2, 3, 4).reshape(17, views * 32, 64, 64)
        np.testing.assert_allclose(got.numpy(), want, atol=1e-5, rtol=0)
        assert item["meta"]["img_shape"] == (256, 256)
        np.testing.assert_array_equal(item["meta"]["rgb_inds"].ravel(),
                                      reference_test_draws(FRAMES, 8, views))


def test_training_items_are_reproducible(data_dir):
    a, b = dataset(data_dir), dataset(data_dir)
    first = a[2]
    again = b[2]
    for x, y in zip(first["inputs"], again["inputs"]):
        assert torch.equal(x, y)
    b.set_epoch(1)
    moved = b[2]
    assert not all(torch.equal(x, y) for x, y in zip(first["inputs"], moved["inputs"]))
    assert not np.array_equal(first["meta"]["pose_inds"], moved["meta"]["pose_inds"]) or \
        first["meta"]["flip"] != moved["meta"]["flip"]


@pytest.mark.slow
def test_worker_count_does_not_change_training_items(data_dir):
    ds = dataset(data_dir, mode="pose", repeat=2)
    loaders = [torch.utils.data.DataLoader(ds, batch_size=2, num_workers=w, collate_fn=collate)
               for w in (0, 2)]
    for one, two in zip(*loaders):
        assert torch.equal(one["inputs"][0], two["inputs"][0])


def test_heatmaps_on_device_equal_heatmaps_in_items(data_dir):
    for split in ("train", "test"):
        plain = dataset(data_dir, split, "train")
        ship = dataset(data_dir, split, "train", heatmaps_on_device=True)
        items = [ship[0], ship[1]]  # 2 persons and 1 person: padded in collate
        assert len(items[0]["inputs"]) == 1 and "pose_keypoint" in items[0]
        batch = draw_heatmaps(to_device(collate(items), "cpu"))
        want = collate([plain[0], plain[1]])
        assert torch.equal(batch["inputs"][0], want["inputs"][0])
        assert torch.equal(batch["inputs"][1], want["inputs"][1])


def test_portrait_video_and_orientation_mismatch(data_dir):
    item = dataset(data_dir, "val", "portrait")[0]
    assert [tuple(x.shape) for x in item["inputs"]] == [(3, 8, 256, 256), (17, 32, 64, 64)]
    assert float(item["inputs"][1].max()) > 0.3
    ds = dataset(data_dir, "val", "portrait")
    ds.annotations[0] = dict(ds.annotations[0], img_shape=(360, 640))  # landscape: wrong
    with pytest.raises(SampleError, match=r"portrait.*landscape.*decode as \(320, 180\)"):
        ds[0]


def test_bad_video_raise_and_skip(data_dir, caplog):
    strict = dataset(data_dir, split_name="broken")  # file order: vid0, vid2, missing
    with pytest.raises(SampleError) as info:
        strict[2]
    assert "'missing'" in str(info.value) and str(data_dir / "missing.mp4") in str(info.value)
    lenient = dataset(data_dir, split_name="broken", on_error="skip")
    with caplog.at_level(logging.WARNING):
        item = lenient[2]
    assert item["meta"]["frame_dir"] == "vid0"  # the next video (wrapping) stands in
    assert len(item["meta"]["skipped"]) == 1 and "missing.mp4" in item["meta"]["skipped"][0]
    assert "missing.mp4" in caplog.text  # counted per item in meta["skipped"] (above)
    batch = collate([lenient[1], lenient[2]])
    assert batch["num_skipped"] == 1


def test_corrupt_and_short_videos(data_dir, caplog):
    strict = dataset(data_dir, "test", "damaged")  # file order: corrupt, short
    with pytest.raises(SampleError, match=r"'corrupt'.*corrupt\.mp4.*cannot open"):
        strict[0]
    with caplog.at_level(logging.WARNING):
        item = strict[1]  # 30 decodable frames for 40 annotated: clamped, warned
    assert "fewer than the annotation's total_frames (40)" in caplog.text
    assert item["inputs"][0].shape == (3, 3, 8, 256, 256)
    lenient = dataset(data_dir, "test", "damaged", on_error="skip")
    item = lenient[0]
    assert item["meta"]["frame_dir"] == "short" and "cannot open" in item["meta"]["skipped"][0]


def test_worker_errors_reach_the_main_process_readably(data_dir):
    ds = dataset(data_dir, split_name="broken", mode="rgb")
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(ds, [2]), num_workers=1,
                                         collate_fn=collate)
    with pytest.raises(SampleError) as info:
        next(iter(loader))
    assert "'missing'" in str(info.value) and "missing.mp4" in str(info.value)


def test_bad_annotations_fail_at_build_or_are_left_out(tmp_path):
    good = make_annotation("ok", 20, ANN_HW, 1, label=0)
    nan = make_annotation("nan", 20, ANN_HW, 1, label=0)
    nan["keypoint"][0, 3, 2, 1] = np.nan
    nobody = make_annotation("nobody", 20, ANN_HW, 1, label=0)
    nobody["keypoint"], nobody["keypoint_score"] = nobody["keypoint"][:0], nobody[
        "keypoint_score"][:0]
    path = str(write_annotation_file(tmp_path / "a.pkl", [good, nan, nobody]))
    with pytest.raises(AnnotationError, match=r"(?s)'nan'.*NaN.*'nobody'.*no person"):
        RGBPoseDataset.from_file(path, "all", DataOptions(mode="pose"))
    ds = RGBPoseDataset.from_file(path, "all", DataOptions(mode="pose", on_error="skip"))
    assert [a["frame_dir"] for a in ds.annotations] == ["ok"]
    assert ds[0]["inputs"][0].shape == (17, 32, 56, 56)


def test_registered_builders_read_the_config(data_dir):
    cfg = get_cfg()
    cfg.DATA.ANN_FILE = str(data_dir / "ann.pkl")
    cfg.DATA.PATH_PREFIX = str(data_dir)
    cfg.DATA.TRAIN_SPLIT, cfg.DATA.VAL_SPLIT, cfg.DATA.TEST_SPLIT = "train", "val", "val"
    cfg.MODEL.NUM_CLASSES = 3
    cfg.TEST.NUM_ENSEMBLE_VIEWS = 2
    cfg.DATA.REPEAT = 3
    # The pose-only stage's geometry: 64 -> crop -> 56, test 64, heatmaps at scale 1.
    cfg.RGBPOSE.TRANSFORM.RESIZE_SCALE = 64
    cfg.DATA.TRAIN_CROP_SIZE, cfg.DATA.TEST_CROP_SIZE = 56, 64
    cfg.RGBPOSE.HEATMAP.SCALING, cfg.RGBPOSE.HEATMAP.SIGMA = 1.0, 0.6
    pose = DATASET_REGISTRY.get("Rgbpose_pose")(cfg, "train")
    assert len(pose) == 9 and pose[0]["inputs"][0].shape == (17, 32, 56, 56)
    assert DATASET_REGISTRY.get("Rgbpose_pose")(cfg, "test")[0]["inputs"][0].shape == \
        (2, 17, 32, 64, 64)
    rgb = DATASET_REGISTRY.get("rgbpose_rgb".capitalize())(cfg, "val")
    assert rgb.options.mode == "rgb" and len(rgb) == 2
    assert rgb[0]["inputs"][0].shape == (3, 8, 64, 64)
    fused = DATASET_REGISTRY.get("Rgbpose")(cfg, "val")
    assert [len(fused[0]["inputs"])] == [2]


@pytest.mark.parametrize("split", ["train", "val"])
def test_heatmaps_sit_on_the_joints_seen_in_the_frames(tmp_path, split):
    """End-to-end alignment: a video showing white dots at the skeleton's joints; after
    every step (rescale, compact, resize, crop, flip) each joint's heatmap peak lies on a
    dot in the RGB frame of the same video frame."""
    ann = make_annotation("dots", FRAMES, ANN_HW, num_persons=1, label=0, seed=4)
    video_kp = ann["keypoint"][0] * np.array([VIDEO_HW[1] / ANN_HW[1], VIDEO_HW[0] / ANN_HW[0]])
    make_dotted_video(tmp_path / "dots.mp4", video_kp, VIDEO_HW[1], VIDEO_HW[0])
    write_annotation_file(tmp_path / "dots.pkl", [ann])
    opts = DataOptions(video_prefix=str(tmp_path), sigma=0.7)
    ds = RGBPoseDataset.from_file(str(tmp_path / "dots.pkl"), "all", opts, split)
    checked = 0
    for epoch in range(3):
        ds.set_epoch(epoch)
        item = ds[0]
        rgb, pose = item["inputs"]
        rgb_inds, pose_inds = item["meta"]["rgb_inds"][0], item["meta"]["pose_inds"][0]
        size = rgb.shape[-1]
        scale = size / pose.shape[-1]
        for t, frame in enumerate(rgb_inds):
            matches = np.nonzero(pose_inds == frame)[0]
            if not len(matches):
                continue
            bright = rgb[:, t].mean(0)  # normalised brightness, (H, W)
            maps = pose[:, matches[0]]  # (17, h, w)
            for joint in range(17):
                peak = float(maps[joint].max())
                if peak < 0.3:
                    continue  # cut off by the crop
                y, x = divmod(int(maps[joint].argmax()), maps.shape[-1])
                cy, cx = int(y * scale + scale / 2), int(x * scale + scale / 2)
                window = bright[max(cy - 4, 0):cy + 5, max(cx - 4, 0):cx + 5]
                assert float(window.max()) > 1.0, (split, epoch, int(frame), joint)
                checked += 1
    assert checked > 50
