"""Importing the plugin registers its parts, also in a PySlowFast-style host project."""

import subprocess
import sys
import textwrap

import pytest

from rgbpose_plugin.registry import DATASET_REGISTRY, MODEL_REGISTRY, register_dataset

HOST_BUILD = """
from fvcore.common.registry import Registry
{name} = Registry("{kind}")
"""


@pytest.fixture
def fake_slowfast(tmp_path):
    """A minimal PySlowFast lookalike: slowfast.models.build / slowfast.datasets.build."""
    pkg = tmp_path / "slowfast"
    parts = (("models", "MODEL_REGISTRY", "MODEL"), ("datasets", "DATASET_REGISTRY", "DATASET"))
    for sub, name, kind in parts:
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
        (pkg / sub / "build.py").write_text(HOST_BUILD.format(name=name, kind=kind))
    (pkg / "__init__.py").write_text("")
    return tmp_path


def test_plugin_parts_appear_in_host_registries(fake_slowfast):
    script = textwrap.dedent("""
        import torch
        from fvcore.common.config import CfgNode
        from slowfast.models.build import MODEL_REGISTRY
        from slowfast.datasets.build import DATASET_REGISTRY
        import rgbpose_plugin
        from rgbpose_plugin import add_rgbpose_config

        cfg = CfgNode()  # the host's own config, extended with the plugin's keys
        cfg.MODEL = CfgNode(); cfg.MODEL.MODEL_NAME = "PoseSlowOnly"; cfg.MODEL.NUM_CLASSES = 5
        cfg.MODEL.DROPOUT_RATE = 0.0
        cfg.DATA = CfgNode(); cfg.DATA.NUM_FRAMES = 8
        add_rgbpose_config(cfg)
        assert cfg.RGBPOSE.HOST_MODE  # a host's config: host-shaped items and outputs
        cfg.RGBPOSE.POSE.STAGE_DEPTHS = [1, 1, 1]
        model = MODEL_REGISTRY.get(cfg.MODEL.MODEL_NAME)(cfg).eval()  # PySlowFast's build_model
        out = model([torch.randn(1, 17, 8, 16, 16)])
        assert out.shape == (1, 5) and torch.allclose(out.sum(1), torch.ones(1))
        for name in ("RGBPoseConv3D", "RGBSlowOnly", "PoseSlowOnly"):
            assert name in MODEL_REGISTRY
        for name in ("rgbpose", "rgbpose_rgb", "rgbpose_pose"):
            assert name.capitalize() in DATASET_REGISTRY, name  # PySlowFast's dataset lookup
        print("ok")
    """)
    res = subprocess.run([sys.executable, "-c", script], cwd=fake_slowfast, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def test_own_registries_and_name_rule():
    assert "RGBPoseConv3D" in MODEL_REGISTRY
    assert "Rgbpose" in DATASET_REGISTRY
    with pytest.raises(ValueError, match="capitalize"):
        register_dataset("RGBPose")
