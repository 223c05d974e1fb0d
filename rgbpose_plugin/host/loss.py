"""The ``rgbpose_ce`` loss for a PySlowFast-style host's loss table.

The host builds its loss as ``get_loss_func(cfg.MODEL.LOSS_FUNC)(reduction="mean")`` and
calls it as ``loss_fun(preds, labels)``; it passes no config, so the loss weights
(``RGBPOSE.HEAD.LOSS_WEIGHTS``) travel with ``preds`` (:class:`~.model_io.StreamScores`).
The value is the recipe's objective, the same function the plugin's trainer uses:
``w_rgb * CE(rgb) + w_pose * CE(pose)``.
"""

from __future__ import annotations

import importlib
from typing import Optional

import torch
import torch.nn as nn

from ..models.losses import stream_losses

__all__ = ["LOSS_NAME", "RGBPoseCrossEntropy", "register_host_loss"]

LOSS_NAME = "rgbpose_ce"
# Where a PySlowFast-style host keeps its loss table.
_HOST_LOSSES = ("slowfast.models.losses", "_LOSSES")


class RGBPoseCrossEntropy(nn.Module):
    """``loss_fun(preds, labels)`` for the plugin's models in host mode."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, preds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        streams = getattr(preds, "streams", None)
        if streams is None:
            raise TypeError(
                f"{LOSS_NAME} needs the training output of an rgbpose_plugin model in host "
                f"mode (RGBPOSE.HOST_MODE: True), which carries each stream's logits; got a "
                f"plain {type(preds).__name__} of shape {tuple(preds.shape)}. (A wrapper "
                f"that rebuilds the output, e.g. DistributedDataParallel with "
                f"find_unused_parameters=True, drops them.)")
        return stream_losses(streams, labels, preds.loss_weights, self.reduction)["loss"]


def register_host_loss() -> Optional[dict]:
    """Add ``rgbpose_ce`` to the host's loss table when there is a host; return the table."""
    module_name, attr = _HOST_LOSSES
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    table = getattr(module, attr, None)
    if isinstance(table, dict):
        table.setdefault(LOSS_NAME, RGBPoseCrossEntropy)
    return table
