"""SGD and the per-iteration learning-rate schedules of the recipe.

The schedule is a pure function of the (fractional) epoch, so resuming needs no
scheduler object: the epoch and iteration in the checkpoint give the LR back exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

__all__ = ["build_optimizer", "scaled_base_lr", "lr_at_epoch", "set_lr"]


def scaled_base_lr(cfg) -> float:
    """BASE_LR, scaled linearly when the total batch (TRAIN.BATCH_SIZE per shard times
    NUM_SHARDS) differs from SOLVER.REFERENCE_BATCH_SIZE (when that is set)."""
    ref = cfg.SOLVER.REFERENCE_BATCH_SIZE
    total = cfg.TRAIN.BATCH_SIZE * max(1, cfg.NUM_SHARDS)
    return cfg.SOLVER.BASE_LR * (total / ref if ref > 0 else 1.0)


def build_optimizer(cfg, model: nn.Module) -> torch.optim.Optimizer:
    """SGD with momentum; BN parameters get ``BN.WEIGHT_DECAY`` (the reference decays all)."""
    if cfg.SOLVER.OPTIMIZING_METHOD != "sgd":
        raise ValueError(f"SOLVER.OPTIMIZING_METHOD {cfg.SOLVER.OPTIMIZING_METHOD!r}: only 'sgd'")
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
    if not s.COSINE_END_LR < base:
        raise ValueError(f"SOLVER.COSINE_END_LR ({s.COSINE_END_LR}) must be below the base "
                         f"learning rate ({base})")
    progress = (epoch - offset) / (s.MAX_EPOCH - offset)
    return s.COSINE_END_LR + (base - s.COSINE_END_LR) * (math.cos(math.pi * progress) + 1) / 2


def _steps_with_relative_lrs(cfg, base: float, epoch: float) -> float:
    s = cfg.SOLVER
    steps = list(s.STEPS)
    if not steps or steps[0] != 0 or len(s.LRS) != len(steps):
        raise ValueError(
            f"SOLVER.LR_POLICY steps_with_relative_lrs needs SOLVER.STEPS starting at 0 and "
            f"one SOLVER.LRS factor per step (PySlowFast's meaning); got STEPS {steps}, "
            f"LRS {list(s.LRS)}")
    index = sum(epoch >= step for step in steps) - 1  # the last step reached
    return base * s.LRS[index]


# PySlowFast looks policies up as lr_func_<LR_POLICY>; these are its two, same formulas.
_POLICIES = {"cosine": _cosine, "steps_with_relative_lrs": _steps_with_relative_lrs}


def _schedule_lr(cfg, epoch: float) -> float:
    policy = cfg.SOLVER.LR_POLICY
    if policy not in _POLICIES:
        hint = (" (the former 'steps' with STEPS [12, 16] and GAMMA 0.1 is "
                "steps_with_relative_lrs with STEPS [0, 12, 16] and LRS [1, 0.1, 0.01])"
                if policy == "steps" else "")
        raise ValueError(f"SOLVER.LR_POLICY {policy!r}: use one of {sorted(_POLICIES)}{hint}")
    return _POLICIES[policy](cfg, scaled_base_lr(cfg), epoch)


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
