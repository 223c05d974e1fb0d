"""The training objective of the recipe: a weighted sum of one cross-entropy per stream.

One function serves the plugin's trainer and the host loss ``rgbpose_ce``
(:mod:`rgbpose_plugin.host.outputs`), so both compute the same numbers in the same order.
"""

from __future__ import annotations

from typing import Dict, Sequence

import torch
import torch.nn.functional as F

__all__ = ["STREAM_ORDER", "stream_losses"]

# RGBPOSE.HEAD.LOSS_WEIGHTS lists the weights in this order.
STREAM_ORDER = ("rgb", "pose")


def stream_losses(logits: Dict[str, torch.Tensor], labels: torch.Tensor,
                  loss_weights: Sequence[float], reduction: str = "mean"
                  ) -> Dict[str, torch.Tensor]:
    """``{"loss_<stream>": CE, ..., "loss": sum of weight * CE}`` over the streams present."""
    weights = dict(zip(STREAM_ORDER, loss_weights))
    losses = {f"loss_{s}": F.cross_entropy(v.float(), labels, reduction=reduction)
              for s, v in logits.items()}
    losses["loss"] = sum(weights[s] * losses[f"loss_{s}"] for s in logits)
    return losses
