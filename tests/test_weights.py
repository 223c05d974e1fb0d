"""pyskl / mmaction2 checkpoint conversion and the stage-2 merge."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rgbpose_plugin import create_pose_slowonly, create_rgb_slowonly, create_rgbpose_conv3d
from rgbpose_plugin.weights import (
    WeightMismatchError,
    WeightNameError,
    from_mmcv,
    merge_stage1_weights,
    mmcv_to_plugin,
    plugin_to_mmcv,
    to_mmcv,
)
from rgbpose_plugin.weights.checkpoints import load_checkpoint, save_checkpoint
from rgbpose_plugin.weights.mmcv_names import infer_mmcv_layout, infer_plugin_layout

# Parameter names and shapes of mmaction2 1.2.0's RGBPoseConv3D (NTU-60), as its
# state_dict() lists them: one "name (shape)" per line.
ROOT = Path(__file__).resolve().parents[1]
KEYS_FILE = ROOT / "tests" / "data" / "mmaction2_rgbpose_conv3d_keys.txt"


def reference_keys():
    out = {}
    for line in KEYS_FILE.read_text().splitlines():
        name, shape = line.split(" ", 1)
        out[name] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    return out


@pytest.fixture(scope="module")
def fused_state():
    torch.manual_seed(0)
    return create_rgbpose_conv3d().state_dict()


def fake_mmaction2_state(keys):
    """A mmaction2 state dict with the reference's 594 names and shapes, random values."""
    g = torch.Generator().manual_seed(1)
    return {k: (torch.randint(0, 9, shape, generator=g) if k.endswith("num_batches_tracked")
                else torch.randn(shape, generator=g)) for k, shape in keys.items()}


def test_mapping_covers_all_594_reference_keys(fused_state):
    keys = reference_keys()
    assert len(keys) == 594
    layout = infer_plugin_layout(fused_state)
    mm = to_mmcv(fused_state, layout)
    assert set(mm) == set(keys)
    assert {k: tuple(v.shape) for k, v in mm.items()} == keys


def test_round_trip_is_exact(tmp_path):
    keys = reference_keys()
    mm = fake_mmaction2_state(keys)
    src = tmp_path / "mmaction2.pth"
    torch.save({"state_dict": mm, "meta": {"mmengine_version": "0.10"}}, src)
    ckpt = mmcv_to_plugin(mm, str(src))
    assert ckpt["model_name"] == "RGBPoseConv3D"
    model = create_rgbpose_conv3d()
    model.load_state_dict(ckpt["model_state"])  # strict
    back = plugin_to_mmcv(ckpt, "x")["state_dict"]
    assert set(back) == set(mm) and all(torch.equal(back[k], mm[k]) for k in mm)


@pytest.mark.parametrize("factory,kind", [(create_rgb_slowonly, "rgb"), (create_pose_slowonly, "pose")])
def test_single_stream_checkpoints_convert(factory, kind):
    state = factory().state_dict()
    layout = infer_plugin_layout(state)
    mm = to_mmcv(state, layout)
    assert "cls_head.fc_cls.weight" in mm and "backbone.conv1.conv.weight" in mm
    assert infer_mmcv_layout(mm) == layout
    ckpt = mmcv_to_plugin(mm, "src")
    assert ckpt["model_name"] == {"rgb": "RGBSlowOnly", "pose": "PoseSlowOnly"}[kind]
    assert all(torch.equal(ckpt["model_state"][k], state[k]) for k in state)


def test_unknown_missing_and_misshaped_keys_are_named():
    mm = fake_mmaction2_state(reference_keys())
    extra = dict(mm, **{"backbone.rgb_path.layer9_lateral.foo": torch.zeros(1)})
    with pytest.raises(WeightNameError, match="layer9_lateral.foo"):
        mmcv_to_plugin(extra, "bad.pth")
    missing = dict(mm)
    del missing["backbone.pose_path.layer2.3.conv2.bn.running_var"]
    with pytest.raises(WeightMismatchError, match=r"(?s)bad\.pth.*missing blocks\.3\.multipathway_blocks\.1"):
        mmcv_to_plugin(missing, "bad.pth")
    shaped = dict(mm, **{"backbone.rgb_path.layer2_lateral.conv.weight": torch.zeros(128, 128, 5, 1, 1)})
    with pytest.raises(WeightMismatchError, match="mis-shaped blocks.2.multipathway_fusion.pose_to_rgb"):
        mmcv_to_plugin(shaped, "bad.pth")


def test_converter_cli_round_trip_and_error(tmp_path):
    mm = fake_mmaction2_state(reference_keys())
    src, dst, back = tmp_path / "a.pth", tmp_path / "b.pyth", tmp_path / "c.pth"
    torch.save({"state_dict": mm, "meta": {"note": object.__name__}}, src)
    tool = [sys.executable, str(ROOT / "tools" / "convert_checkpoint.py")]
    subprocess.run(tool + ["--src", str(src), "--dst", str(dst)], check=True, capture_output=True)
    subprocess.run(tool + ["--src", str(dst), "--dst", str(back), "--to-mmcv"], check=True,
                   capture_output=True)
    assert load_checkpoint(str(dst))["model_name"] == "RGBPoseConv3D"
    out = torch.load(back, weights_only=True)["state_dict"]
    assert all(torch.equal(out[k], mm[k]) for k in mm)
    del mm["cls_head.fc_pose.bias"]
    torch.save({"state_dict": mm}, src)
    res = subprocess.run(tool + ["--src", str(src), "--dst", str(dst)], capture_output=True, text=True)
    assert res.returncode != 0 and "missing blocks.5.proj.pose.bias" in res.stderr


def test_merged_model_equals_the_two_stage1_models():
    torch.manual_seed(0)
    rgb_model, pose_model = create_rgb_slowonly(), create_pose_slowonly()
    # Non-trivial BN statistics and final-BN weights, so the test is not vacuous.
    for m in (rgb_model, pose_model):
        for bn in m.modules():
            if isinstance(bn, torch.nn.BatchNorm3d):
                bn.weight.data.uniform_(0.5, 1.0)
                bn.bias.data.uniform_(-0.1, 0.1)
                bn.running_mean.uniform_(-0.1, 0.1)
                bn.running_var.uniform_(0.5, 1.5)
    fused = create_rgbpose_conv3d()
    merged, widened = merge_stage1_weights(rgb_model.state_dict(), pose_model.state_dict(), fused)
    assert len(widened) == 8
    fused.load_state_dict(merged)
    for m in (rgb_model, pose_model, fused):
        m.eval()
    rgb, pose = torch.randn(2, 3, 8, 64, 64), torch.randn(2, 17, 32, 16, 16)
    with torch.no_grad():
        out = fused([rgb, pose])
        assert (out["rgb"] - rgb_model([rgb])["rgb"]).abs().max() <= 1e-5
        assert (out["pose"] - pose_model([pose])["pose"]).abs().max() <= 1e-5
        assert out["rgb"].abs().max() > 1e-3  # logits are not trivially zero


def test_merge_cli(tmp_path):
    torch.manual_seed(0)
    paths = {}
    for name, factory in (("rgb", create_rgb_slowonly), ("pose", create_pose_slowonly)):
        paths[name] = str(tmp_path / f"{name}.pyth")
        save_checkpoint(paths[name], {"epoch": 3, "model_state": factory().state_dict(),
                                      "optimizer_state": None, "cfg": "", "model_name": name})
    dst = tmp_path / "init.pyth"
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "merge_pretrained.py"), "--rgb", paths["rgb"],
                          "--pose", paths["pose"], "--dst", str(dst)], capture_output=True, text=True,
                         check=True)
    assert "8 tensors widened" in res.stdout
    create_rgbpose_conv3d().load_state_dict(load_checkpoint(str(dst))["model_state"])
    # Swapped inputs are refused with a clear message.
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "merge_pretrained.py"), "--rgb", paths["pose"],
                          "--pose", paths["rgb"], "--dst", str(dst)], capture_output=True, text=True)
    assert res.returncode != 0 and "expected a rgb-only model, got a pose model" in res.stderr


def test_from_mmcv_rejects_foreign_names():
    with pytest.raises(WeightNameError, match="foo.bar"):
        from_mmcv({"foo.bar": torch.zeros(1)}, infer_plugin_layout(create_pose_slowonly().state_dict()))
