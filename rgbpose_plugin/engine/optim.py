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
    """BASE_LR, scaled linearly when the total batch differs from the reference's."""
    ref = cfg.SOLVER.REFERENCE_BATCH_SIZE
    return cfg.SOLVER.BASE_LR * (cfg.TRAIN.BATCH_SIZE / ref if ref > 0 else 1.0)


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


def _schedule_lr(cfg, epoch: float) -> float:
    base = scaled_base_lr(cfg)
    if cfg.SOLVER.LR_POLICY == "cosine":
        end = cfg.SOLVER.COSINE_END_LR
        return end + (base - end) * (1 + math.cos(math.pi * epoch / cfg.SOLVER.MAX_EPOCH)) / 2
    if cfg.SOLVER.LR_POLICY == "steps":
        return base * cfg.SOLVER.GAMMA ** sum(epoch >= s for s in cfg.SOLVER.STEPS)
    raise ValueError(f"SOLVER.LR_POLICY {cfg.SOLVER.LR_POLICY!r}: use 'cosine' or 'steps'")


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
