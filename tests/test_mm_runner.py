"""An MMAction2 ``Runner`` trains and tests a tiny RGBPoseConv3D through our transforms."""

from __future__ import annotations

import math

import pytest
from mm_fixtures import RGBPOSE_FAST, load_config, make_clips
from mmengine.runner import Runner

pytestmark = pytest.mark.mmaction

NUM_CLASSES = 3
# Smaller frames than the shipped config (64/56 px RGB, 14-16 px heatmaps): same pipeline.
SMALLER = {(256, 256): (64, 64), (224, 224): (56, 56)}


def _small(pipeline, num_clips=None):
    out = []
    for step in pipeline:
        step = dict(step)
        if step["type"] == "Resize":
            step["scale"] = SMALLER[tuple(step["scale"])]
        if num_clips and step["type"] == "MMUniformSampleFrames":
            step["num_clips"] = num_clips
        out.append(step)
    return out


def _tiny_config(cfg, ann_file, videos, work_dir):
    """The fast config with a tiny model (1 block per stage, 1/8 of the widths) on the
    generated clips: 2 epochs of 2 iterations, one validation at the end, a 2-clip test."""
    backbone = cfg.model.backbone
    backbone.rgb_pathway.update(base_channels=8, stage_blocks=(1, 1, 1, 1))
    backbone.pose_pathway.update(base_channels=4, stage_blocks=(1, 1, 1))
    cfg.model.cls_head.update(num_classes=NUM_CLASSES, in_channels=[256, 64])
    data = dict(ann_file=str(ann_file), data_prefix=dict(video=str(videos)), split="all")
    for split, clips in (("train", None), ("val", None), ("test", 2)):
        loader = cfg[f"{split}_dataloader"]
        loader.update(batch_size=2, num_workers=0, persistent_workers=False)
        loader.dataset.update(data, pipeline=_small(cfg[f"{split}_pipeline"], clips))
    cfg.train_cfg.update(max_epochs=2, val_interval=2)
    cfg.param_scheduler = [dict(type="ConstantLR", factor=1.0, by_epoch=True, begin=0, end=2)]
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.update(save_best=None)
    cfg.load_from = None
    cfg.work_dir = str(work_dir)
    return cfg


def test_runner_trains_and_tests_with_our_transforms(tmp_path):
    ann_file, videos = make_clips(tmp_path / "data", num=4, frames=36, num_classes=NUM_CLASSES)
    cfg = _tiny_config(load_config(RGBPOSE_FAST), ann_file, videos, tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    used = {type(t).__name__ for t in runner.train_dataloader.dataset.pipeline.transforms}
    assert {"FastMMDecode", "FastMMCompact", "FastGeneratePoseTarget"} <= used
    runner.train()
    assert runner.iter == 4 and runner.epoch == 2
    loss = runner.message_hub.get_scalar("train/loss").current()
    assert math.isfinite(loss) and loss > 0
    assert (tmp_path / "work" / "epoch_2.pth").is_file()
    metrics = runner.test()
    for stream in ("rgb", "pose", "RGBPose_1:1"):  # RGBPoseHead's per-stream and fused scores
        assert 0.0 <= metrics[f"acc/{stream}_top1"] <= 1.0
