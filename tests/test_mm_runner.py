"""An MMAction2 ``Runner`` trains and tests a tiny RGBPoseConv3D through our transforms;
MMAction2's own ``tools/train.py`` and ``tools/test.py`` run the demo config."""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import mmaction
import pytest
from data_fixtures import write_annotation_file
from mm_fixtures import RGBPOSE_FAST, ROOT, load_config, make_clips
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


# Where the mmaction2 wheel keeps MMAction2's tools (docs/hosts.md).
MIM_TOOLS = Path(mmaction.__file__).parent / ".mim" / "tools"
DEMO_CONFIG = ROOT / "configs" / "mmaction2" / "rgbpose_conv3d_demo.py"


def _demo_data(folder: Path) -> None:
    """``folder/demo_data`` as the demo config reads it: 6 generated clips of 8 classes,
    4 for training, 2 for validation and test."""
    ann_file, _ = make_clips(folder / "demo_data", num=6, frames=36, num_classes=8)
    with open(ann_file, "rb") as f:
        annotations = pickle.load(f)["annotations"]
    names = [a["frame_dir"] for a in annotations]
    write_annotation_file(folder / "demo_data" / "annotations.pkl", annotations,
                          {"train": names[:4], "val": names[4:], "test": names[4:]})


def _mmaction_tool(name: str, *args: str, cwd: Path) -> str:
    # MMAction2's checkpoints pickle mmengine objects; mmengine 0.10.7 loads them with
    # torch.load's default, which is weights_only on current torch (our own files: trusted).
    env = dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
    proc = subprocess.run([sys.executable, str(MIM_TOOLS / name), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def test_mmaction2_s_own_tools_run_the_demo_config(tmp_path):
    """docs/hosts.md's commands, one epoch: train.py (one iteration, a validation, a
    checkpoint), then test.py on that checkpoint."""
    _demo_data(tmp_path)
    work = tmp_path / "work"
    output = _mmaction_tool("train.py", str(DEMO_CONFIG), "--work-dir", str(work),
                            "--cfg-options", "train_cfg.max_epochs=1", cwd=tmp_path)
    assert "Epoch(train) [1][1/1]" in output and "Epoch(val) [1][1/1]" in output
    assert (work / "epoch_1.pth").is_file()
    output = _mmaction_tool("test.py", str(DEMO_CONFIG), str(work / "epoch_1.pth"),
                            "--work-dir", str(work), cwd=tmp_path)
    assert "Epoch(test) [1/1]" in output and "acc/RGBPose_1:1_top1" in output
