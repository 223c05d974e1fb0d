"""A classification head per stream; returns logits by stream name.

::

    [feat_rgb, feat_pose]
        |          |
     avg-pool   avg-pool      (global, over T, H, W)
     dropout    dropout
     linear     linear
        |          |
    {"rgb": logits, "pose": logits}

Softmax and score fusion belong to evaluation, not to the model; training adds one
cross-entropy per stream.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import torch
import torch.nn as nn


class MultiStreamHead(nn.Module):
    """Pool, dropout and classify each pathway's features separately."""

    def __init__(self, *, streams: Sequence[str], in_channels: Sequence[int],
                 num_classes: int, dropout_rate: float = 0.5) -> None:
        super().__init__()
        if len(streams) != len(in_channels):
            raise ValueError(f"{len(streams)} stream names for {len(in_channels)} widths")
        self.streams = list(streams)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout_rate) if dropout_rate > 0 else nn.Identity()
        self.proj = nn.ModuleDict(
            {s: nn.Linear(c, num_classes) for s, c in zip(streams, in_channels)}
        )

    def forward(self, x: List[torch.Tensor]) -> Dict[str, torch.Tensor]:
        out = {}
        for stream, feat in zip(self.streams, x):
            feat = self.dropout(self.pool(feat).flatten(1))
            out[stream] = self.proj[stream](feat)
        return out
