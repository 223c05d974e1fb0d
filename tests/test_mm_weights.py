"""Checkpoints cross between MMAction2's RGBPoseConv3D and ours, and compute the same."""

from __future__ import annotations

import pytest
import torch
from mm_fixtures import RGBPOSE_FAST, base_config
from mmaction.registry import MODELS
from mmengine.runner import load_checkpoint as mm_load_checkpoint
from mmengine.runner import save_checkpoint as mm_save_checkpoint

from rgbpose_plugin import create_rgbpose_conv3d
from rgbpose_plugin.inference.model_loading import load_model
from rgbpose_plugin.weights import mmcv_to_plugin, plugin_to_mmcv
from rgbpose_plugin.weights.checkpoints import load_mmcv_checkpoint, save_checkpoint

pytestmark = pytest.mark.mmaction


def _randomise(model: torch.nn.Module, seed: int) -> None:
    """Random weights and BN statistics, so that a wrong mapping cannot compute alike."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            noise = torch.rand(tensor.shape, generator=gen)
            if name.endswith("running_var"):
                tensor.copy_(0.5 + noise)
            elif name.endswith(("running_mean", "bias")):
                tensor.copy_(0.2 * (noise - 0.5))
            elif tensor.dim() == 1:  # BN scales
                tensor.copy_(0.5 + noise)
            else:
                tensor.mul_(1.0 + 0.1 * (noise - 0.5))


def _mm_model() -> torch.nn.Module:
    return MODELS.build(base_config(RGBPOSE_FAST).model).eval()


def _inputs():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(2, 3, 8, 64, 64, generator=gen), torch.rand(2, 17, 32, 16, 16,
                                                                   generator=gen)


def _mm_logits(model, rgb, pose):
    with torch.no_grad():
        return model.cls_head(model.backbone(rgb, pose))


def _ours_logits(model, rgb, pose):
    with torch.no_grad():
        return model([rgb, pose])


def _assert_same(mm_out, ours_out):
    for stream in ("rgb", "pose"):
        assert mm_out[stream].shape == ours_out[stream].shape == (2, 60)
        torch.testing.assert_close(ours_out[stream], mm_out[stream], atol=1e-4, rtol=1e-4)


def test_mmaction2_checkpoint_runs_in_the_plugin(tmp_path):
    mm = _mm_model()
    _randomise(mm, 1)
    src = tmp_path / "mmaction2.pth"
    mm_save_checkpoint({"state_dict": mm.state_dict(), "meta": {"epoch": 3}}, str(src))
    converted = mmcv_to_plugin(load_mmcv_checkpoint(str(src)), str(src))
    dst = tmp_path / "plugin.pyth"
    save_checkpoint(str(dst), converted)
    ours, _, _ = load_model(str(dst))
    _assert_same(_mm_logits(mm, *_inputs()), _ours_logits(ours, *_inputs()))


def test_plugin_checkpoint_runs_in_mmaction2(tmp_path):
    ours = create_rgbpose_conv3d(num_classes=60).eval()
    _randomise(ours, 2)
    checkpoint = {"epoch": 5, "model_state": ours.state_dict(), "model_name": "RGBPoseConv3D"}
    dst = tmp_path / "mmaction2.pth"
    save_checkpoint(str(dst), plugin_to_mmcv(checkpoint, "plugin.pyth"))
    mm = _mm_model()
    mm_load_checkpoint(mm, str(dst), map_location="cpu", strict=True)
    _assert_same(_mm_logits(mm, *_inputs()), _ours_logits(ours, *_inputs()))
