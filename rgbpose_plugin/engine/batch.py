"""From a loader's batch to a model's inputs: the device of this process, the move there.

The trainer, the tester and the benchmarks all feed models through :func:`prepare_batch`,
so every caller sees the same inputs (heatmaps drawn on the device when configured, views
flattened, the channels_last_3d layout when configured).
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import torch

from ..data import draw_heatmaps, to_device
from .fast_paths import channels_last_inputs

__all__ = ["device_for", "prepare_batch"]


def device_for(cfg) -> torch.device:
    """The device of this process: the GPU :func:`launch` selected (see ``cuda_index``)."""
    if cfg.NUM_GPUS > 0:
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def prepare_batch(batch: Dict, cfg, device: torch.device
                  ) -> Tuple[List[torch.Tensor], torch.Tensor, int]:
    """Pathway inputs and labels on ``device``, and the number of views per video.

    Heatmaps are drawn on ``device`` when configured. Test items stack views,
    (N, V, C, T, H, W): they are flattened to (N * V, C, T, H, W) here, before the
    channels_last_3d conversion, which takes 5-D tensors only.
    """
    moved = draw_heatmaps(to_device(batch, device, non_blocking=device.type == "cuda"))
    inputs, views = moved["inputs"], 1
    if inputs[0].dim() == 6:
        views = inputs[0].shape[1]
        inputs = [x.flatten(0, 1) for x in inputs]
    return channels_last_inputs(cfg, inputs), moved["label"], views
