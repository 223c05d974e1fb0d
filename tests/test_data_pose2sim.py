"""A real video end to end: the Pose2Sim single-person clip (1080x1920 portrait, 100 frames)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from assets import pose2sim_video
from data_fixtures import all_frames, skeleton_track, write_annotation_file

from rgbpose_plugin.data import DataOptions, RGBPoseDataset, collate, decode_frames
from rgbpose_plugin.data import dataset as dataset_module

HEIGHT, WIDTH, FRAMES = 1920, 1080, 100


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    video = pose2sim_video()
    root = tmp_path_factory.mktemp("pose2sim")
    # A plausible standing figure in the middle of the portrait frame.
    keypoint = skeleton_track(FRAMES, (340, 420, 740, 1700), drift=(1.0, 0.0))[None]
    ann = {"frame_dir": video.stem, "label": 0, "img_shape": (HEIGHT, WIDTH),
           "original_shape": (HEIGHT, WIDTH), "total_frames": FRAMES, "keypoint": keypoint,
           "keypoint_score": np.full(keypoint.shape[:3], 0.9, np.float32)}
    ann_file = write_annotation_file(root / "pose2sim.pkl", [ann], {"demo": [video.stem]})
    return video, str(ann_file)


def build(clip, split, **options):
    video, ann_file = clip
    opts = DataOptions(video_prefix=str(video.parent), **options)
    return RGBPoseDataset.from_file(ann_file, "demo", opts, split, num_classes=1)


def test_decoding_is_exact_on_the_real_clip(clip):
    video, _ = clip
    reference = all_frames(video)
    assert len(reference) == FRAMES and reference[0].shape == (HEIGHT, WIDTH, 3)
    inds = [0, 17, 18, 50, 99, 50]
    out = decode_frames(str(video), inds)
    for k, i in enumerate(inds):
        np.testing.assert_array_equal(out.frames[out.inverse[k]].numpy(), reference[i])


def test_train_item(clip):
    item = build(clip, "train")[0]
    rgb, pose = item["inputs"]
    assert rgb.shape == (3, 8, 224, 224) and pose.shape == (17, 32, 56, 56)
    assert torch.isfinite(rgb).all() and rgb.std() > 0.1
    # The random crop may cut some joints out; most stay drawn.
    assert (pose.amax(dim=(2, 3)) > 0.3).float().mean() > 0.5


def test_test_item_decodes_each_frame_once(clip, monkeypatch):
    calls = []
    real = dataset_module.decode_frames

    def counting(path, indices, **kwargs):
        calls.append(np.asarray(indices).size)
        return real(path, indices, **kwargs)

    monkeypatch.setattr(dataset_module, "decode_frames", counting)
    item = build(clip, "test", num_views=10)[0]
    rgb, pose = item["inputs"]
    assert rgb.shape == (10, 3, 8, 256, 256) and pose.shape == (10, 17, 32, 64, 64)
    assert calls == [80]  # one decode call for the 10 clips' frames
    assert pose.amax(dim=(3, 4)).min() > 0.3  # no crop at test time: every joint drawn
    views = item["meta"]["rgb_inds"]
    assert views.shape == (10, 8) and len(np.unique(views)) < 80
    # Views sharing a frame index share the frame.
    where = {}
    for v in range(10):
        for t in range(8):
            where.setdefault(int(views[v, t]), []).append((v, t))
    shared = [places for places in where.values() if len(places) > 1]
    for (v0, t0), (v1, t1) in (p[:2] for p in shared):
        assert torch.equal(rgb[v0, :, t0], rgb[v1, :, t1])
    batch = collate([item])
    assert batch["inputs"][0].shape == (1, 10, 3, 8, 256, 256)


def test_pose_only_item_reads_no_video(clip, monkeypatch):
    monkeypatch.setattr(dataset_module, "decode_frames", None)  # would fail if called
    item = build(clip, "val", mode="pose", sigma=0.6, heatmap_scaling=1.0, resize_scale=64,
                 train_size=56, test_size=64)[0]
    assert item["inputs"][0].shape == (17, 32, 64, 64)
