"""Convert pyskl / mmaction2 checkpoints to plugin checkpoints and back.

Every tensor is accounted for: the converted state must match, name for name and shape
for shape, the model the config describes (the published architecture by default);
an unknown, missing or mis-shaped key raises :class:`WeightMismatchError` naming it.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import torch
import torch.nn as nn
from fvcore.common.config import CfgNode

from ..config import get_cfg
from ..errors import UserError
from ..model_kinds import kind_by_key, model_kind
from ..models import build_model
from .mmcv_names import NameLayout, from_mmcv, infer_mmcv_layout, infer_plugin_layout, to_mmcv

__all__ = ["WeightMismatchError", "check_state_matches", "config_for_layout",
           "mmcv_to_plugin", "plugin_to_mmcv", "state_problems", "summarize_problems"]



class WeightMismatchError(UserError, ValueError):
    """A state dict that does not fit the model; the message lists the keys."""


def state_problems(state: Dict[str, torch.Tensor], expected: Dict[str, torch.Tensor]
                   ) -> List[str]:
    """Why ``state`` does not fit a model whose state dict is ``expected`` (empty if it does):
    ``missing K``, ``unexpected K`` and ``mis-shaped K: (a) != model (b)`` lines."""
    problems = [f"missing {k}" for k in sorted(set(expected) - set(state))]
    problems += [f"unexpected {k}" for k in sorted(set(state) - set(expected))]
    problems += [f"mis-shaped {k}: {tuple(state[k].shape)} != model {tuple(expected[k].shape)}"
                 for k in sorted(set(state) & set(expected))
                 if hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(expected[k].shape)]
    return problems


def summarize_problems(problems: List[str]) -> str:
    """``"2 tensors missing (e.g. a.w); 1 tensor of another shape (e.g. ...)"``."""
    kinds: Dict[str, List[str]] = {}
    for problem in problems:
        kind, name = problem.split(" ", 1)
        kinds.setdefault(kind, []).append(name)
    words = {"missing": "missing in the state", "unexpected": "unknown to the model",
             "mis-shaped": "of another shape"}
    return "; ".join(f"{len(v)} tensor(s) {words[k]} (e.g. {v[0]})" for k, v in kinds.items())


def check_state_matches(state: Dict[str, torch.Tensor], model: nn.Module, source: str) -> None:
    """Raise unless ``state`` has exactly the model's keys with the model's shapes."""
    problems = state_problems(state, model.state_dict())
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise WeightMismatchError(f"{source}: {len(problems)} key problem(s):\n  {shown}{more}")


def config_for_layout(layout: NameLayout, state: Dict[str, torch.Tensor],
                      cfg: Optional[CfgNode] = None) -> CfgNode:
    """A config for the model ``state`` belongs to.

    The model kind, class count and input channels come from the state itself; the
    rest of the architecture from ``cfg`` (the published one by default).
    """
    cfg = (cfg or get_cfg()).clone()
    cfg.defrost()
    cfg.MODEL.MODEL_NAME = kind_by_key(layout.kind).name
    for stream in layout.streams:
        fc = state[f"blocks.{layout.head_block}.proj.{stream}.weight"]
        cfg.MODEL.NUM_CLASSES = int(fc.shape[0])
        stem = state[f"blocks.0.multipathway_blocks.{layout.streams.index(stream)}.conv.weight"]
        getattr(cfg.RGBPOSE, stream.upper()).IN_CHANNELS = int(stem.shape[1])
    return cfg


def mmcv_to_plugin(mmcv_state: Dict[str, torch.Tensor], source: str,
                   cfg: Optional[CfgNode] = None) -> Dict:
    """A plugin checkpoint from a pyskl / mmaction2 ``state_dict``."""
    layout = infer_mmcv_layout(mmcv_state)
    state = from_mmcv(mmcv_state, layout)
    model_cfg = config_for_layout(layout, state, cfg)
    check_state_matches(state, build_model(model_cfg), source)
    return {"epoch": 0, "model_state": state, "optimizer_state": None,
            "cfg": model_cfg.dump(), "model_name": model_cfg.MODEL.MODEL_NAME,
            "converted_from": source}


def plugin_to_mmcv(checkpoint: Dict, source: str) -> Dict:
    """A pyskl / mmaction2-style ``{"state_dict": ..., "meta": ...}`` from a plugin one."""
    state = checkpoint["model_state"]
    layout = infer_plugin_layout(state)
    name = checkpoint.get("model_name")
    if name and model_kind(name).key != layout.kind:
        raise WeightMismatchError(f"{source}: model_name {name!r} but the weights are a "
                                  f"{kind_by_key(layout.kind).name}")
    return {"state_dict": to_mmcv(state, layout),
            "meta": {"converted_from": source, "epoch": checkpoint.get("epoch", 0)}}
