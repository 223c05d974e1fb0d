"""Stopping a run on request (SLURM preemption, a time limit) at a safe point.

A request (:func:`request_stop`, called from a signal handler of :mod:`rgbpose_plugin.launch`)
is only remembered. The trainer asks :func:`stop_agreed` at each iteration boundary and
saves a checkpoint before it raises :class:`StopRequested`; between phases (after training,
a test, the merge) :func:`stop_point` stops with the finished work's checkpoint. All
processes of a distributed run agree, so they stop at the same step.

The request is process state (a signal arrives for the process, not for an object), kept
here, private; other modules use the functions.
"""

from __future__ import annotations

import threading

import torch
import torch.distributed as dist

from .batch import device_for
from .distributed import get_info

__all__ = ["StopRequested", "request_stop", "stop_agreed", "stop_point", "consume_stop"]

_requested = threading.Event()


class StopRequested(RuntimeError):
    """Training stopped early on request; the state was saved in ``checkpoint``."""

    def __init__(self, checkpoint: str) -> None:
        where = f"state saved to {checkpoint}" if checkpoint else "between stages, nothing to save"
        super().__init__(f"stopped on request; {where}")
        self.checkpoint = checkpoint


def request_stop() -> None:
    """Ask the running stage to save at the next safe point and stop."""
    _requested.set()


def stop_agreed(device: torch.device) -> bool:
    """True when any process was asked to stop (all processes stop at the same step)."""
    flag = torch.tensor([1.0 if _requested.is_set() else 0.0], device=device)
    if get_info().world_size > 1:
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def consume_stop(checkpoint: str) -> StopRequested:
    """The error that ends the run once the state is saved in ``checkpoint``; the request
    is cleared only here, so one that arrives while a stage is still being built is
    honoured at its first safe point."""
    _requested.clear()
    return StopRequested(checkpoint)


def stop_point(cfg, checkpoint: str) -> None:
    """Between phases: stop here if any process was asked to. ``checkpoint`` is where the
    finished work is; the rerun skips what is done."""
    if stop_agreed(device_for(cfg)):
        raise consume_stop(checkpoint)
