"""Load weights trained on another class count: everything but the classifier.

Finetuning a published model on a new dataset keeps the backbone and the laterals and
starts the classifier afresh. Only the head's linear layers (plugin names
``blocks.<H>.proj.<stream>.weight|bias``, see :mod:`.mmcv_names`) may differ, and only in
their class count; any other difference means the weights belong to another
architecture, which must stop the run rather than silently train half a model.
"""

from __future__ import annotations

import re
from typing import Dict, List

import torch
import torch.nn as nn

from .convert import WeightMismatchError, state_problems, summarize_problems

__all__ = ["CLASSIFIER_PATTERN", "load_for_finetune", "other_class_count"]

CLASSIFIER_PATTERN = re.compile(r"blocks\.\d+\.proj\.\w+\.(weight|bias)")


def other_class_count(name: str, given: torch.Tensor, own: torch.Tensor) -> bool:
    """True if ``name`` is a classifier tensor that differs from the model's only in its
    first dimension (the class count)."""
    return (CLASSIFIER_PATTERN.fullmatch(name) is not None
            and given.dim() == own.dim() and given.dim() >= 1
            and tuple(given.shape[1:]) == tuple(own.shape[1:])
            and given.shape[0] != own.shape[0])


def load_for_finetune(model: nn.Module, state: Dict[str, torch.Tensor], source: str
                      ) -> List[str]:
    """Load ``state`` into ``model``, keeping the model's fresh classifier where the class
    counts differ; returns the names of the tensors so kept (empty if none).

    Any other missing, unexpected or mis-shaped key raises :class:`WeightMismatchError`
    naming ``source``.
    """
    own = model.state_dict()
    fresh = sorted(k for k in set(state) & set(own) if other_class_count(k, state[k], own[k]))
    problems = [p for p in state_problems(state, own)
                if not (p.startswith("mis-shaped ") and p.split(" ")[1].rstrip(":") in fresh)]
    if problems:
        raise WeightMismatchError(f"{source}: the weights do not fit the model: "
                                  f"{summarize_problems(problems)}")
    kept = {k: v for k, v in state.items() if k not in fresh}
    model.load_state_dict({**own, **kept})
    return fresh
