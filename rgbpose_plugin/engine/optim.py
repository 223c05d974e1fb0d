"""SGD and the per-iteration learning-rate schedules of the recipe.

The schedule is a pure function of the (fractional) epoch, so resuming needs no
scheduler object: the epoch and iteration in the checkpoint give the LR back exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from ..config.checks import check_lr_schedule, scaled_base_lr

__all__ = ["build_optimizer", "scaled_base_lr", "lr_at_epoch", "set_lr"]


def build_optimizer(cfg, model: nn.Module) -> torch.optim.Optimizer:
    """SGD with momentum (SOLVER.OPTIMIZING_METHOD's one value); BN parameters get
    ``BN.WEIGHT_DECAY`` (the reference decays all)."""
    bn, rest = [], []
    for module in model.modules():
        params = [p for p in module.parameters(recurse=False) if p.requires_grad]
        (bn if isinstance(module, nn.modules.batchnorm._NormBase) else rest).extend(params)
    groups = [{"params": rest, "weight_decay": cfg.SOLVER.WEIGHT_DECAY},
              {"params": bn, "weight_decay": cfg.BN.WEIGHT_DECAY}]
    return torch.optim.SGD([g for g in groups if g["params"]], lr=scaled_base_lr(cfg),
                           momentum=cfg.SOLVER.MOMENTUM, nesterov=cfg.SOLVER.NESTEROV)


def _cosine(cfg, base: float, epoch: float) -> float:
    s = cfg.SOLVER
    offset = s.WARMUP_EPOCHS if s.COSINE_AFTER_WARMUP else 0.0
    progress = (epoch - offset) / (s.MAX_EPOCH - offset)
    return s.COSINE_END_LR + (base - s.COSINE_END_LR) * (math.cos(math.pi * progress) + 1) / 2


def _steps_with_relative_lrs(cfg, base: float, epoch: float) -> float:
    s = cfg.SOLVER
    index = sum(epoch >= step for step in s.STEPS) - 1  # the last step reached
    return base * s.LRS[index]


# PySlowFast looks policies up as lr_func_<LR_POLICY>; these are its two, same formulas
# (config/checks.py lists them as SOLVER.LR_POLICY's allowed values).
_POLICIES = {"cosine": _cosine, "steps_with_relative_lrs": _steps_with_relative_lrs}


def _schedule_lr(cfg, epoch: float) -> float:
    # The config's rule for these keys: a config built by hand gets the same error.
    check_lr_schedule(cfg)
    return _POLICIES[cfg.SOLVER.LR_POLICY](cfg, scaled_base_lr(cfg), epoch)


def lr_at_epoch(cfg, epoch: float) -> float:
    """Learning rate at fractional ``epoch``: the schedule, after an optional linear warm-up
    from WARMUP_START_LR to the schedule's value at WARMUP_EPOCHS."""
    warmup = cfg.SOLVER.WARMUP_EPOCHS
    if epoch < warmup:
        start, target = cfg.SOLVER.WARMUP_START_LR, _schedule_lr(cfg, warmup)
        return start + (target - start) * epoch / warmup
    return _schedule_lr(cfg, epoch)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
