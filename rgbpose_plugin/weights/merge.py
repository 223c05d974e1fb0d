"""Stage 2 of the recipe: the fused model's initial weights from the two stage-1 models.

* RGB-only backbone -> RGB pathway, its classifier -> the "rgb" linear layer;
* pose-only backbone -> pose pathway, its classifier -> the "pose" linear layer;
* the tensors whose input grew for lateral channels (block 0's first conv and shortcut
  conv in the stages after a fusion) take the old weights in their first input channels
  and zeros in the new ones;
* the lateral connections keep their fresh initialisation;
* a stage-1 classifier trained for another class count than the fused model's (a
  published model finetuned on your own classes) keeps the fused model's fresh one, and
  is named; any other mismatch stops the merge.

With zero weights on the lateral channels, the fused model at step 0 computes exactly
what the two separate models compute: the finetune starts from their late fusion.
"""

from __future__ import annotations

import logging
from typing import Dict, List, Tuple

import torch
import torch.nn as nn

from ..model_kinds import kind_by_key
from ..models import build_model
from .checkpoints import load_checkpoint, save_checkpoint
from .convert import WeightMismatchError
from .finetune import CLASSIFIER_PATTERN, other_class_count
from .mmcv_names import NameLayout, from_mmcv, infer_plugin_layout, to_mmcv

__all__ = ["merge_stage1_weights", "merge_checkpoint_files"]

logger = logging.getLogger(__name__)


def _as_fused_mmcv(state: Dict[str, torch.Tensor], stream: str) -> Dict[str, torch.Tensor]:
    """A stage-1 plugin state in the fused model's mmcv names (rgb_path / fc_rgb ...)."""
    layout = infer_plugin_layout(state)
    if layout.kind != stream:
        raise WeightMismatchError(f"expected a {stream}-only model, got a {layout.kind} model")
    out = {}
    for name, tensor in to_mmcv(state, layout).items():
        if name.startswith("cls_head.fc_cls."):
            out[name.replace("fc_cls", f"fc_{stream}")] = tensor
        else:
            out[name.replace("backbone.", f"backbone.{stream}_path.", 1)] = tensor
    return out


def _fit(name: str, source: torch.Tensor, target: torch.Tensor) -> Tuple[torch.Tensor, bool]:
    """``source`` placed into a tensor shaped like ``target``; True if it was widened."""
    if source.shape == target.shape:
        return source.clone(), False
    widened = (source.dim() == target.dim() >= 2 and source.shape[0] == target.shape[0]
               and source.shape[2:] == target.shape[2:] and source.shape[1] < target.shape[1])
    if not widened:
        raise WeightMismatchError(f"{name}: stage-1 shape {tuple(source.shape)} does not fit "
                                  f"the fused model's {tuple(target.shape)}")
    out = torch.zeros_like(target)
    out[:, : source.shape[1]] = source
    return out, True


def merge_stage1_weights(rgb_state: Dict[str, torch.Tensor], pose_state: Dict[str, torch.Tensor],
                         fused_model: nn.Module) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """The fused model's state dict initialised from the stage-1 states.

    Returns the state and the names (plugin naming) of the widened tensors. Every
    stage-1 tensor must find its place; anything left over is an error. Classifiers of
    another class count keep their fresh values (:func:`merge_checkpoint_files` names them).
    """
    merged, widened, _ = _merge_states(rgb_state, pose_state, fused_model)
    return merged, widened


def _merge_states(rgb_state: Dict[str, torch.Tensor], pose_state: Dict[str, torch.Tensor],
                  fused_model: nn.Module) -> Tuple[Dict[str, torch.Tensor], List[str], List[str]]:
    """``(state, widened, re-initialised)``: see :func:`merge_stage1_weights`."""
    fused = fused_model.state_dict()
    layout = infer_plugin_layout(fused)
    if layout.kind != "rgbpose":
        raise WeightMismatchError("the target of a merge must be an RGBPoseConv3D model")
    sources = {**_as_fused_mmcv(rgb_state, "rgb"), **_as_fused_mmcv(pose_state, "pose")}
    sources = from_mmcv(sources, NameLayout("rgbpose", layout.rgb_stages, layout.pose_stages))
    leftover = sorted(set(sources) - set(fused))
    if leftover:
        raise WeightMismatchError(f"stage-1 weights with no place in the fused model: {leftover}")
    merged, widened, fresh = dict(fused), [], []
    for name, tensor in sources.items():
        if other_class_count(name, tensor, fused[name]):
            fresh.append(name)
            continue
        merged[name], grew = _fit(name, tensor, fused[name])
        if grew:
            widened.append(name)
    return merged, widened, sorted(fresh)


def _class_count(state: Dict[str, torch.Tensor]) -> int:
    """The class count of a model's (first) classifier."""
    return next(t.shape[0] for k, t in state.items()
                if CLASSIFIER_PATTERN.fullmatch(k) and k.endswith(".weight"))


def merge_checkpoint_files(cfg, rgb_path: str, pose_path: str, dst: str) -> List[str]:
    """Merge two stage-1 plugin checkpoints into ``dst`` for the fused model of ``cfg``.

    Returns the widened tensors' names. Classifiers trained for another class count than
    ``MODEL.NUM_CLASSES`` keep their fresh initialisation: a warning names them (and the
    checkpoint lists them under ``"reinitialised"``).
    """
    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.MODEL_NAME = kind_by_key("rgbpose").name
    rgb, pose = load_checkpoint(rgb_path), load_checkpoint(pose_path)
    try:
        merged, widened, fresh = _merge_states(rgb["model_state"], pose["model_state"],
                                               build_model(cfg))
    except WeightMismatchError as err:
        raise WeightMismatchError(f"merging {rgb_path} + {pose_path}: {err}") from None
    if fresh:
        counts = ", ".join(f"{path} has {_class_count(ckpt['model_state'])}"
                           for path, ckpt in ((rgb_path, rgb), (pose_path, pose)))
        logger.warning(f"merge: re-initialised {', '.join(fresh)}: {counts} classes, "
                       f"MODEL.NUM_CLASSES is {cfg.MODEL.NUM_CLASSES}")
    save_checkpoint(dst, {"epoch": 0, "model_state": merged, "optimizer_state": None,
                          "cfg": cfg.dump(), "model_name": cfg.MODEL.MODEL_NAME,
                          "merged_from": [rgb_path, pose_path], "reinitialised": fresh})
    return widened
