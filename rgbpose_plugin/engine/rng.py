"""Seeding and the RNG states a checkpoint carries, so a resumed run draws the same numbers.

Each process saves the CUDA generator of its own device only (not every visible GPU):
a run resumed on a node that shows fewer GPUs, or a different set, must still load.
"""

from __future__ import annotations

import random
from typing import Dict

import numpy as np
import torch

__all__ = ["seed_everything", "capture_rng_state", "restore_rng_state"]

_CPU = torch.device("cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng_state(device: torch.device = _CPU) -> Dict:
    """Python, NumPy, torch (and, on a CUDA ``device``, its generator) states as tensors
    and plain types."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": [list(x) if isinstance(x, tuple) else x for x in random.getstate()],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: Dict, device: torch.device = _CPU) -> None:
    """Set the generators from :func:`capture_rng_state`'s ``state``; the CUDA state goes
    to ``device`` (this process's GPU), whatever its index was at save time."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)
