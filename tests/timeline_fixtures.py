"""A random-weight tiny checkpoint for the timeline tests (their mechanics, not labels)."""

from pathlib import Path

import torch
from trainer_fixtures import tiny_cfg

from rgbpose_plugin.config import stage_cfg
from rgbpose_plugin.models import build_model


def random_tiny_checkpoint(root: Path) -> Path:
    """``root/random.pyth``: the tiny fused model with seeded random weights."""
    cfg = stage_cfg(tiny_cfg(root / "none.pkl", root / "run"), "rgbpose")
    torch.manual_seed(0)
    ckpt = root / "random.pyth"
    torch.save({"epoch": 0, "model_state": build_model(cfg).state_dict(), "cfg": cfg.dump(),
                "model_name": cfg.MODEL.MODEL_NAME}, ckpt)
    return ckpt
