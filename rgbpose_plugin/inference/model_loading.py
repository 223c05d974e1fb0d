"""The config and the trained model for inference, from a checkpoint.

The config is the checkpoint's own (stored in it at training time) unless the user gives
a YAML file. A recipe config is turned into the config of the stage that tests the
checkpoint's model (:func:`rgbpose_plugin.stage_graph.stage_that_tests`) exactly as
``tools/run_net.py`` tests it, so the same YAML works for the rgb-only, pose-only and
fused checkpoints of a run.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import torch.nn as nn
from fvcore.common.config import CfgNode

from ..config import ConfigError, get_cfg, load_cfg, merge_opts, stage_cfg
from ..errors import InferenceError
from ..host.config import native_cfg_from_host
from ..models import build_model
from ..stage_graph import stage_that_tests
from ..weights import state_problems, summarize_problems
from ..weights.checkpoints import load_checkpoint
from .checkpoint_path import resolve_checkpoint

__all__ = ["config_from_checkpoint", "resolve_config", "load_model"]


def config_from_checkpoint(checkpoint: Dict[str, Any], path: str) -> CfgNode:
    """The config a checkpoint was trained with (its ``"cfg"`` YAML dump).

    A host project's checkpoint (PySlowFast's, ``RGBPOSE.HOST_MODE`` on) stores the host's
    whole config: only the keys the plugin knows are taken from it.
    """
    text = checkpoint.get("cfg")
    if not text:
        raise InferenceError(f"checkpoint {path} stores no config; pass the training config "
                             f"with --cfg")
    cfg = get_cfg()
    try:
        stored = CfgNode.load_cfg(text)
        if stored.get("RGBPOSE", {}).get("HOST_MODE", False):
            return native_cfg_from_host(stored, cfg)
        cfg.merge_from_other_cfg(stored)
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
    try:
        cfg = stage_cfg(cfg, stage_that_tests(model_name).name, cfg_file or checkpoint_path)
        merge_opts(cfg, opts)
    except ConfigError as err:
        raise InferenceError(str(err)) from err
    return cfg


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
    problems = state_problems(checkpoint["model_state"], model.state_dict())
    if problems:
        raise InferenceError(
            f"checkpoint {checkpoint_path} does not fit the {cfg.MODEL.MODEL_NAME} built from "
            f"{source}: {summarize_problems(problems)}. Was it "
            f"trained with another architecture or class count? Omit --cfg (and --opts) to "
            f"use the checkpoint's own config")
    model.load_state_dict(checkpoint["model_state"])
    return model.eval(), cfg, checkpoint
