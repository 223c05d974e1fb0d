"""The RGBPoseConv3D family: sizes, shapes, compute, init and the output contract."""

import pytest
import torch
import torch.nn as nn
from fvcore.nn import FlopCountAnalysis

from rgbpose_plugin import (
    build_model,
    create_pose_slowonly,
    create_rgb_slowonly,
    create_rgbpose_conv3d,
    get_cfg,
)
from rgbpose_plugin.models import PathwaySpec


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def fused():
    torch.manual_seed(0)
    return create_rgbpose_conv3d().eval()


def test_parameter_counts_match_the_reference(fused):
    assert n_params(fused) == 36_147_928
    assert n_params(create_rgb_slowonly()) == 31_757_436
    assert n_params(create_pose_slowonly()) == 2_024_860
    backbone = sum(n_params(b) for b in fused.blocks[:-1])
    assert backbone == 35_994_208
    assert n_params(fused.blocks[-1]) == 153_720
    lateral = [n_params(b.multipathway_fusion) for b in fused.blocks[1:-1]
               if b.multipathway_fusion is not None]
    # pose->RGB 128*128*7 + RGB->pose (512*32*7 + BN 64), then 256 / 1024 widths.
    assert lateral == [128 * 128 * 7 + 512 * 32 * 7 + 64, 256 * 256 * 7 + 1024 * 64 * 7 + 128]


def _features(model, inputs):
    x = list(inputs)
    for block in model.blocks[:-1]:
        x = block(x)
    return x


@pytest.mark.parametrize("size", [224, 256])
def test_feature_and_logit_shapes(fused, size):
    rgb = torch.randn(1, 3, 8, size, size)
    pose = torch.randn(1, 17, 32, size // 4, size // 4)
    with torch.no_grad():
        feats = _features(fused, [rgb, pose])
        out = fused([rgb, pose])
    final = size // 32
    assert feats[0].shape == (1, 2048, 8, final, final)
    assert feats[1].shape == (1, 512, 32, final, final)
    assert set(out) == {"rgb", "pose"} and out["rgb"].shape == out["pose"].shape == (1, 60)


def test_model_does_not_rewrite_callers_list(fused):
    inputs = [torch.randn(1, 3, 8, 64, 64), torch.randn(1, 17, 32, 16, 16)]
    kept = list(inputs)
    with torch.no_grad():
        fused(inputs)
    assert all(a is b for a, b in zip(inputs, kept))


def test_flops_match_the_reference(fused):
    # fvcore counts one multiply-add as one flop: 58.29 G at 224/56, 76.13 G at 256/64.
    for size, expected in ((224, 58.29e9), (256, 76.13e9)):
        inputs = ([torch.randn(1, 3, 8, size, size), torch.randn(1, 17, 32, size // 4, size // 4)],)
        flops = FlopCountAnalysis(fused, inputs)
        flops.unsupported_ops_warnings(False)
        flops.uncalled_modules_warnings(False)
        assert flops.total() == pytest.approx(expected, rel=0.01)


def test_weight_init_follows_the_reference(fused):
    model = create_rgbpose_conv3d()
    bottleneck = model.blocks[1].multipathway_blocks[0].res_blocks[0]
    assert torch.all(bottleneck.branch2.norm_c.weight == 0)  # block-final BN zeroed
    assert torch.all(bottleneck.branch1_norm.weight == 1)  # shortcut BN kept at 1
    conv = bottleneck.branch2.conv_a.weight
    fan_out = conv.shape[0] * conv[0, 0].numel()
    assert conv.std().item() == pytest.approx((2.0 / fan_out) ** 0.5, rel=0.1)
    fusion = model.blocks[2].multipathway_fusion
    assert torch.all(fusion.rgb_to_pose.bn.weight == 1) and torch.all(fusion.rgb_to_pose.bn.bias == 0)
    # The transposed conv keeps PyTorch's default init: uniform within +-1/sqrt(fan_in).
    deconv = fusion.rgb_to_pose.conv.weight
    bound = 1 / (deconv.shape[1] * deconv[0, 0].numel()) ** 0.5
    assert deconv.abs().max() <= bound and deconv.std() > bound / 4
    assert deconv.shape == (512, 32, 7, 1, 1)  # stored (C_in, C_out, 7, 1, 1)
    fc = model.blocks[-1].proj["rgb"]
    assert fc.weight.std().item() == pytest.approx(0.01, rel=0.1) and torch.all(fc.bias == 0)
    assert all(m.bias is None for m in model.modules() if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d)))


def test_single_stream_contract():
    rgb_model = create_rgb_slowonly(pathway=PathwaySpec(stem_channels=8, stage_inner_channels=(4, 8, 8, 8),
                                                         stage_depths=(1, 1, 1, 1)), num_classes=5)
    out = rgb_model([torch.randn(2, 3, 4, 32, 32)])
    assert list(out) == ["rgb"] and out["rgb"].shape == (2, 5)


def tiny_cfg(name: str):
    cfg = get_cfg()
    cfg.MODEL.MODEL_NAME = name
    cfg.MODEL.NUM_CLASSES = 7
    cfg.RGBPOSE.RGB.STEM_CHANNELS = 8
    cfg.RGBPOSE.RGB.STAGE_DEPTHS = [1, 1, 1, 1]
    cfg.RGBPOSE.RGB.STAGE_INNER_CHANNELS = [8, 8, 16, 16]
    cfg.RGBPOSE.POSE.STEM_CHANNELS = 8
    cfg.RGBPOSE.POSE.STAGE_DEPTHS = [1, 1, 1]
    cfg.RGBPOSE.POSE.STAGE_INNER_CHANNELS = [4, 8, 8]
    return cfg


@pytest.mark.parametrize("name,streams", [("RGBPoseConv3D", ["rgb", "pose"]),
                                          ("RGBSlowOnly", ["rgb"]), ("PoseSlowOnly", ["pose"])])
def test_registered_models_from_config(name, streams):
    model = build_model(tiny_cfg(name))
    inputs = {"rgb": torch.randn(2, 3, 4, 32, 32), "pose": torch.randn(2, 17, 16, 8, 8)}
    out = model([inputs[s] for s in streams])
    assert list(out) == streams
    assert all(v.shape == (2, 7) for v in out.values())


def test_bad_frame_ratio_is_a_clear_error():
    cfg = tiny_cfg("RGBPoseConv3D")
    cfg.DATA.POSE_NUM_FRAMES = 30
    with pytest.raises(ValueError, match="POSE_NUM_FRAMES"):
        build_model(cfg)
