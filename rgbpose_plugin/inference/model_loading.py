"""The config and the trained model for inference, from a checkpoint.

The config is the checkpoint's own (stored in it at training time) unless the user gives
a YAML file. A recipe config (``RGBPOSE.RECIPE.*_OPTS``) is turned into the config of the
checkpoint's stage exactly as ``tools/run_net.py`` tests that stage, so the same YAML
works for the rgb-only, pose-only and fused checkpoints of a run.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
from fvcore.common.config import CfgNode

from ..config import ConfigError, get_cfg, load_cfg, merge_opts
from ..engine.checkpoint import load_checkpoint
from ..models import build_model
from ..recipe import stage_cfg
from .checkpoint_path import resolve_checkpoint
from .errors import InferenceError

__all__ = ["STAGE_OF_MODEL", "config_from_checkpoint", "resolve_config", "load_model",
           "state_mismatches"]

# The recipe stage whose test settings fit each model (see rgbpose_plugin/recipe.py):
# the fused model is tested by the "test" stage, the stage-1 models by their own stage.
STAGE_OF_MODEL = {"RGBPoseConv3D": "test", "RGBSlowOnly": "rgb_only", "PoseSlowOnly": "pose_only"}


def config_from_checkpoint(checkpoint: Dict[str, Any], path: str) -> CfgNode:
    """The config a plugin checkpoint was trained with (its ``"cfg"`` YAML dump)."""
    text = checkpoint.get("cfg")
    if not text:
        raise InferenceError(f"checkpoint {path} stores no config; pass the training config "
                             f"with --cfg")
    cfg = get_cfg()
    try:
        cfg.merge_from_other_cfg(CfgNode.load_cfg(text))
    except (KeyError, ValueError, AssertionError) as err:
        raise InferenceError(f"checkpoint {path}: its stored config does not load "
                             f"({err}); pass the training config with --cfg") from err
    return cfg


def resolve_config(checkpoint: Dict[str, Any], checkpoint_path: str,
                   cfg_file: Optional[str] = None, opts: Sequence = ()) -> CfgNode:
    """The inference config: ``cfg_file`` (else the checkpoint's), set to the checkpoint's
    stage, then ``opts`` (``[KEY, VALUE, ...]``)."""
    try:
        cfg = load_cfg(cfg_file) if cfg_file else config_from_checkpoint(checkpoint,
                                                                         checkpoint_path)
    except (ConfigError, OSError) as err:
        raise InferenceError(f"config {cfg_file}: {err}") from err
    model_name = checkpoint.get("model_name") or cfg.MODEL.MODEL_NAME
    stage = STAGE_OF_MODEL.get(model_name)
    if stage:  # a no-op for a config without recipe options
        cfg = stage_cfg(cfg, stage)
    try:
        merge_opts(cfg, opts)
    except ConfigError as err:
        raise InferenceError(str(err)) from err
    return cfg


def state_mismatches(model_state: Dict[str, Any], saved: Dict[str, Any]) -> List[str]:
    """Why ``saved`` cannot load into a model with ``model_state`` (empty if it can)."""
    missing = [k for k in model_state if k not in saved]
    unexpected = [k for k in saved if k not in model_state]
    shapes = [f"{k}: checkpoint {tuple(saved[k].shape)} vs model {tuple(v.shape)}"
              for k, v in model_state.items()
              if k in saved and hasattr(saved[k], "shape") and saved[k].shape != v.shape]
    problems = []
    for what, names in (("missing in the checkpoint", missing),
                        ("unknown to the model", unexpected), ("of another shape", shapes)):
        if names:
            problems.append(f"{len(names)} tensors {what} (e.g. {names[0]})")
    return problems


def load_model(checkpoint_path: str, cfg_file: Optional[str] = None, opts: Sequence = ()
               ) -> Tuple[nn.Module, CfgNode, Dict[str, Any]]:
    """Load ``checkpoint_path`` (a file, or a stage or run folder: :func:`resolve_checkpoint`),
    resolve the config and build the model in eval mode.

    Returns ``(model, cfg, checkpoint)``. A checkpoint that does not fit the configured
    architecture raises :class:`InferenceError` naming both files.
    """
    checkpoint_path = resolve_checkpoint(checkpoint_path)
    checkpoint = load_checkpoint(checkpoint_path)
    cfg = resolve_config(checkpoint, checkpoint_path, cfg_file, opts)
    source = f"config {cfg_file}" if cfg_file else "its stored config"
    stored_name = checkpoint.get("model_name")
    if stored_name and stored_name != cfg.MODEL.MODEL_NAME:
        raise InferenceError(
            f"checkpoint {checkpoint_path} holds a {stored_name} model but {source} builds "
            f"{cfg.MODEL.MODEL_NAME} (MODEL.MODEL_NAME); omit --cfg to use the checkpoint's "
            f"own config")
    try:
        model = build_model(cfg)
    except (KeyError, ValueError) as err:
        raise InferenceError(f"cannot build the model of {source}: {err}") from err
    problems = state_mismatches(model.state_dict(), checkpoint["model_state"])
    if problems:
        raise InferenceError(
            f"checkpoint {checkpoint_path} does not fit the {cfg.MODEL.MODEL_NAME} built from "
            f"{source}: {'; '.join(problems)}. Was it trained with another architecture or "
            f"class count? Omit --cfg (and --opts) to use the checkpoint's own config")
    model.load_state_dict(checkpoint["model_state"])
    return model.eval(), cfg, checkpoint
