"""Checkpoint files: PySlowFast-shaped, written atomically, read through iopath.

A plugin checkpoint is a dict::

    {"epoch": int, "model_state": {...}, "optimizer_state": {...} | None,
     "cfg": "<YAML dump>", "model_name": str, ...trainer state (scheduler, scaler, RNG)}

Everything in it is tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(weights_only=True)``. Only pyskl / mmaction2 files (pickled OpenMMLab
metadata) need ``weights_only=False``; :func:`load_mmcv_checkpoint` is the one place that
does so, and only for files the user names.
"""

from __future__ import annotations

import io
import os
import re
from typing import Dict, List, Optional, Tuple

import torch
from iopath.common.file_io import g_pathmgr

from ..errors import UserError
from ..fileio import atomic_write_bytes

__all__ = ["save_checkpoint", "load_checkpoint", "load_mmcv_checkpoint",
           "list_checkpoints", "last_checkpoint", "checkpoint_path", "checkpoint_position",
           "CheckpointError"]


class CheckpointError(UserError, RuntimeError):
    """A checkpoint that cannot be read or does not fit; the message names the file."""


_NAME = re.compile(r"checkpoint_epoch_(\d+)(?:_iter_(\d+))?\.pyth")


def checkpoint_path(folder: str, epoch: int, iteration: int = 0) -> str:
    """``epoch`` epochs done (+ ``iteration`` iterations of the next, after a preemption)."""
    name = f"checkpoint_epoch_{epoch:05d}" + (f"_iter_{iteration:06d}" if iteration else "")
    return os.path.join(folder, "checkpoints", name + ".pyth")


def checkpoint_position(path: str) -> Tuple[int, int]:
    """``(epochs done, iterations of the next)`` that :func:`checkpoint_path` put in ``path``."""
    match = _NAME.fullmatch(os.path.basename(path))
    if match is None:
        raise ValueError(f"{path!r} is not named like checkpoint_epoch_00005[_iter_000010].pyth")
    return int(match.group(1)), int(match.group(2) or 0)


def save_checkpoint(path: str, payload: Dict) -> str:
    """Write ``payload`` to ``path`` atomically: a crash leaves the old file intact
    (:func:`rgbpose_plugin.fileio.atomic_write_bytes`)."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def _read_bytes(path: str) -> io.BytesIO:
    if not g_pathmgr.exists(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist")
    with g_pathmgr.open(path, "rb") as f:
        return io.BytesIO(f.read())


def _torch_load(path: str, weights_only: bool):
    data = _read_bytes(path)  # raises CheckpointError for a missing file
    try:
        return torch.load(data, map_location="cpu", weights_only=weights_only)
    except Exception as err:
        raise CheckpointError(f"cannot read checkpoint {path!r}: {err}") from err


def load_checkpoint(path: str) -> Dict:
    """Load a plugin checkpoint (``weights_only=True``: no arbitrary code runs)."""
    data = _torch_load(path, weights_only=True)
    if not isinstance(data, dict) or "model_state" not in data:
        keys = sorted(data)[:8] if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(
            f"{path!r} is not a plugin checkpoint (no 'model_state'; found {keys}). "
            "Convert pyskl / mmaction2 files with tools/convert_checkpoint.py first."
        )
    return data


def load_mmcv_checkpoint(path: str) -> Dict:
    """The ``state_dict`` of a pyskl / mmaction2 checkpoint.

    These files pickle OpenMMLab objects (mmengine message hubs, numpy scalars), which
    ``weights_only=True`` refuses; they are loaded with ``weights_only=False``, so only
    pass files from a source you trust.
    """
    data = _torch_load(path, weights_only=False)
    state = data.get("state_dict", data) if isinstance(data, dict) else None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(f"{path!r} holds no state_dict of tensors")
    return state


def list_checkpoints(folder: str) -> List[str]:
    """Checkpoints of a stage folder, oldest first (by epoch, then iteration)."""
    ckpt_dir = os.path.join(folder, "checkpoints")
    if not g_pathmgr.exists(ckpt_dir):
        return []
    found = [(m, n) for n in g_pathmgr.ls(ckpt_dir) if (m := _NAME.fullmatch(n))]
    found.sort(key=lambda mn: (int(mn[0].group(1)), int(mn[0].group(2) or 0)))
    return [os.path.join(ckpt_dir, n) for _, n in found]


def last_checkpoint(folder: str) -> Optional[str]:
    found = list_checkpoints(folder)
    return found[-1] if found else None
