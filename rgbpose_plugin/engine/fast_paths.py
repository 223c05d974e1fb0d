"""The trainer's speed options, on whichever device it runs (CUDA or the CPU).

* ``TRAIN.MIXED_PRECISION`` (PySlowFast's bool) with ``RGBPOSE.AMP_DTYPE`` "bf16" or
  "fp16": the forward pass runs under ``torch.autocast(<device type>, dtype)``; fp16 also
  scales the loss with a ``torch.amp.GradScaler`` (its small range underflows small
  gradients; bf16 has fp32's range and needs none).
* ``TRAIN.CHANNELS_LAST``: model weights and 5-D inputs in ``channels_last_3d``.
* ``TRAIN.COMPILE``: the training network goes through ``torch.compile``.

The same switches run on the CPU (``autocast("cpu", bfloat16)``, oneDNN channels-last
convolutions), so the tests reach every line here without a GPU.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import List, Optional

import torch
import torch.nn as nn

__all__ = ["AUTOCAST_DTYPES", "SCALER_MIN_TORCH", "amp_dtype", "autocast", "grad_scaler",
           "channels_last_model", "channels_last_inputs", "compile_net"]

# RGBPOSE.AMP_DTYPE -> autocast dtype. The allowed spellings are checked up front
# (rgbpose_plugin/config/checks.py).
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# torch.amp.GradScaler(device) appeared in torch 2.3; setup.cfg's floor is this version.
SCALER_MIN_TORCH = (2, 3)


def amp_dtype(cfg) -> Optional[torch.dtype]:
    """The autocast dtype, or None for fp32 (``TRAIN.MIXED_PRECISION`` off)."""
    return AUTOCAST_DTYPES[cfg.RGBPOSE.AMP_DTYPE] if cfg.TRAIN.MIXED_PRECISION else None


def autocast(cfg, device: torch.device) -> AbstractContextManager:
    """Autocast for the configured precision on ``device``'s type; a no-op for fp32."""
    dtype = amp_dtype(cfg)
    if dtype is None:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(cfg, device: torch.device) -> Optional[torch.amp.GradScaler]:
    """A loss scaler for fp16 (None otherwise), on ``device``'s type."""
    if amp_dtype(cfg) != torch.float16:
        return None
    if not hasattr(torch.amp, "GradScaler"):
        floor = ".".join(map(str, SCALER_MIN_TORCH))
        raise RuntimeError(f"RGBPOSE.AMP_DTYPE 'fp16' needs torch>={floor} "
                           f"(torch.amp.GradScaler); this is torch {torch.__version__}. "
                           f"Upgrade torch, or use 'bf16', which needs no loss scaling.")
    return torch.amp.GradScaler(device.type)


def channels_last_model(cfg, model: nn.Module) -> nn.Module:
    """``model`` with channels_last_3d weights when configured (in place, returned)."""
    if cfg.TRAIN.CHANNELS_LAST:
        model = model.to(memory_format=torch.channels_last_3d)
    return model


def channels_last_inputs(cfg, inputs: List[torch.Tensor]) -> List[torch.Tensor]:
    """5-D pathway inputs in channels_last_3d when configured.

    Multi-view test inputs (N, V, C, T, H, W) must be flattened to 5-D before this:
    channels_last_3d is defined for 5-D tensors only.
    """
    if not cfg.TRAIN.CHANNELS_LAST:
        return inputs
    for x in inputs:
        if x.dim() != 5:
            raise ValueError(f"channels_last_3d needs 5-D (N, C, T, H, W) inputs, got shape "
                             f"{tuple(x.shape)} (flatten the views first)")
    return [x.contiguous(memory_format=torch.channels_last_3d) for x in inputs]


def compile_net(cfg, net: nn.Module) -> nn.Module:
    """``torch.compile(net)`` when ``TRAIN.COMPILE`` is set (after any DDP wrapping, as
    torch recommends); the uncompiled module keeps the state_dict keys checkpoints use."""
    return torch.compile(net) if cfg.TRAIN.COMPILE else net
