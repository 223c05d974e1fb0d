"""What a PySlowFast-style host feeds the plugin's models and what it gets back.

The host calls ``preds = model(inputs)`` with the batch's list of pathway tensors, then
``loss_fun(preds, labels)`` and ``topk`` over ``preds``'s dim 1, and in testing sums
``preds`` over the views of a video. So in host mode (``RGBPOSE.HOST_MODE``) a model's
``{"rgb", "pose"}`` logits become one ``(N, num_classes)`` tensor:

* eval: the fused 1:1 probability ``(softmax(rgb) + softmax(pose)) / 2`` (a single-stream
  model: its softmax). Summed over views, it ranks a video's classes exactly as the
  plugin's tester's 1:1 fusion (the mean of each stream's view probabilities, added).
* training: :class:`StreamScores`, the log of that probability (so ``topk`` ranks as in
  eval, and a plain ``cross_entropy`` would be the NLL of the fused probability), which
  also carries each stream's logits and the loss weights to the ``rgbpose_ce`` loss.

Inputs: test items carry a trailing per-view weight (1, or 0 for the items that only pad
the split to a multiple of the process count); the prediction is multiplied by it. The
host's FLOP count passes one RGB clip ``(1, 3, T, S, S)``; the pose input it lacks is
derived as zero heatmaps of the configured geometry (FLOPs do not depend on values).

All of this is two hooks on the unchanged module, so the state dict (and every
checkpoint) is the same as in native mode.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from fvcore.common.config import CfgNode

from ..data.heatmaps import heatmap_size
from ..models.build import model_streams
from ..scores import mean_probability, view_probabilities

__all__ = ["StreamScores", "HostModelIO", "attach_host_io"]


class StreamScores(torch.Tensor):
    """An ``(N, C)`` tensor of fused log-probabilities that also holds the per-stream
    logits (``streams``) and ``loss_weights``. Operations on it give plain tensors."""

    __torch_function__ = torch._C._disabled_torch_function_impl
    streams: Dict[str, torch.Tensor]
    loss_weights: Sequence[float]

    @classmethod
    def wrap(cls, logits: Dict[str, torch.Tensor], loss_weights: Sequence[float]
             ) -> StreamScores:
        out = fused_log_probability(logits).as_subclass(cls)
        out.streams, out.loss_weights = dict(logits), list(loss_weights)
        return out


def fused_probability(logits: Dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean over the streams of each stream's softmax: ``(N, C)`` (rgbpose_plugin.scores)."""
    return mean_probability({s: view_probabilities(v) for s, v in logits.items()})


def fused_log_probability(logits: Dict[str, torch.Tensor]) -> torch.Tensor:
    """``log(fused_probability)``, computed without underflow to -inf."""
    logs = torch.stack([torch.log_softmax(v.float(), dim=1) for v in logits.values()])
    return torch.logsumexp(logs, dim=0) - math.log(len(logits))


class HostModelIO:
    """The pair of hooks that adapt a model's inputs and outputs to the host."""

    def __init__(self, cfg: CfgNode) -> None:
        self.streams = model_streams(cfg)
        self.loss_weights = list(cfg.RGBPOSE.HEAD.LOSS_WEIGHTS)
        self.pose_channels = int(cfg.RGBPOSE.POSE.IN_CHANNELS)
        self.pose_frames = int(cfg.DATA.POSE_NUM_FRAMES)
        self.rgb_frames = int(cfg.DATA.NUM_FRAMES)
        self.scaling = float(cfg.RGBPOSE.HEATMAP.SCALING)
        self.arch_hint = cfg.MODEL.get("ARCH", None)
        self._weight: Optional[torch.Tensor] = None

    # --- inputs -----------------------------------------------------------------------
    def before(self, module: nn.Module, args: tuple):
        inputs: List[torch.Tensor] = list(args[0])
        self._weight = None
        if len(inputs) == len(self.streams) + 1 and inputs[-1].dim() == 1:
            self._weight = inputs.pop()  # the per-view weight of a host test batch
        if "pose" in self.streams and not self._has_pose(inputs):
            inputs = self._with_derived_pose(inputs)
        return (inputs,) + tuple(args[1:])

    def _has_pose(self, inputs: List[torch.Tensor]) -> bool:
        return len(inputs) == len(self.streams) and inputs[-1].shape[1] == self.pose_channels

    def _with_derived_pose(self, inputs: List[torch.Tensor]) -> List[torch.Tensor]:
        """The host's model-analysis input: one RGB clip; add zero heatmaps for it."""
        if len(inputs) != 1 or inputs[0].dim() != 5 or inputs[0].shape[1] != 3:
            shapes = [tuple(x.shape) for x in inputs]
            raise ValueError(
                f"{'/'.join(self.streams)} model got inputs of shapes {shapes}; expected "
                f"{list(self.streams)} pathways, or one RGB clip (N, 3, T, H, W) from the "
                f"host's model analysis (MODEL.ARCH is {self.arch_hint!r}: use a single-"
                f"pathway arch such as 'slow')")
        rgb = inputs[0]
        n, _, t, h, w = rgb.shape
        frames = self.pose_frames * t // self.rgb_frames
        ph, pw = heatmap_size((h, w), self.scaling)
        pose = rgb.new_zeros(n, self.pose_channels, frames, ph, pw)
        return [rgb, pose] if "rgb" in self.streams else [pose]

    # --- outputs ----------------------------------------------------------------------
    def after(self, module: nn.Module, args: tuple, out: Dict[str, torch.Tensor]):
        weight, self._weight = self._weight, None
        if module.training:
            return StreamScores.wrap(out, self.loss_weights)
        probs = fused_probability(out)
        if weight is not None:
            probs = probs * weight.to(probs.dtype)[:, None]
        return probs


def attach_host_io(model: nn.Module, cfg: CfgNode) -> nn.Module:
    """Make ``model`` speak the host's language (in place; the weights are untouched)."""
    io = HostModelIO(cfg)
    model.register_forward_pre_hook(io.before)
    model.register_forward_hook(io.after)
    model.host_io = io  # for inspection; not a module, so not in the state dict
    return model
