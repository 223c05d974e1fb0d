"""Process groups: one process per GPU (NCCL) or several CPU processes (gloo).

Ranks come from the environment when a launcher set them (torchrun, SLURM through
submitit: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT); otherwise
:func:`launch` spawns ``NUM_GPUS`` (or ``RGBPOSE.CPU_PROCESSES``) processes per shard
itself, as PySlowFast does.

A spawned process that fails on a user's mistake, or is interrupted, reports that to the
launching process, which raises it as its own (one line in the tools), not as PyTorch's
traceback of the child; when one process fails, the others are given
``_GRACE_S`` seconds to leave on their own (their collectives fail) before they are
terminated.
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, TypeVar

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ..errors import Interrupted, UserError, stop_signals

__all__ = ["DistInfo", "launch", "get_info", "is_main", "all_gather_objects", "barrier",
           "main_decides", "sync_buffers", "processes_per_shard", "free_port", "cuda_index"]

T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def get_info() -> DistInfo:
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(),
                        int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    return DistInfo()


def is_main() -> bool:
    return get_info().is_main


def barrier() -> None:
    if get_info().world_size > 1:
        dist.barrier()


def all_gather_objects(obj: Any) -> List[Any]:
    """Every process's ``obj``, in rank order (a one-element list without DDP)."""
    info = get_info()
    if info.world_size == 1:
        return [obj]
    out: List[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def main_decides(decide: Callable[[], T]) -> T:
    """``decide()`` on rank 0 only, its answer broadcast to every rank.

    For decisions read from shared files (which checkpoint to resume, which stage is
    done): on a network file system ranks may see different states, and ranks acting on
    different answers pair their collectives wrongly or hang.
    """
    if get_info().world_size == 1:
        return decide()
    box = [decide() if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def sync_buffers(module: torch.nn.Module) -> None:
    """Rank 0's buffers (BatchNorm statistics) on every rank, e.g. before evaluating.

    Each rank updates its running statistics from its own batches; DDP copies rank 0's at
    the next training forward, which evaluation (run on the bare module) never does.
    """
    if get_info().world_size == 1:
        return
    for buf in module.buffers():
        dist.broadcast(buf.data, src=0)


def cuda_index(local_rank: int, local_world_size: int, visible: int) -> int:
    """The CUDA device of a task, given how many GPUs it sees.

    A task sees every GPU of its node (``visible >= local_world_size``: take
    ``local_rank``) or, where the site binds one GPU per task, exactly one (take 0).
    """
    if visible >= local_world_size and local_rank < visible:
        return local_rank
    if visible == 1:
        return 0
    raise RuntimeError(
        f"task with LOCAL_RANK {local_rank} of {local_world_size} on its node sees {visible} GPU(s) "
        "(CUDA_VISIBLE_DEVICES): expected one GPU per task or all the node's GPUs")


def processes_per_shard(cfg) -> int:
    return cfg.NUM_GPUS if cfg.NUM_GPUS > 0 else max(1, cfg.RGBPOSE.CPU_PROCESSES)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _init_process_group(cfg, rank: int, world_size: int, local_rank: int, init_method: str) -> None:
    os.environ["LOCAL_RANK"] = str(local_rank)
    if cfg.NUM_GPUS > 0:
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", cfg.NUM_GPUS))
        torch.cuda.set_device(cuda_index(local_rank, local_world, torch.cuda.device_count()))
    if world_size == 1:
        return
    backend = cfg.DIST_BACKEND if cfg.NUM_GPUS > 0 else "gloo"
    timeout = datetime.timedelta(seconds=float(cfg.RGBPOSE.DIST_TIMEOUT_S))
    dist.init_process_group(backend=backend, init_method=init_method, rank=rank, world_size=world_size,
                            timeout=timeout)


def _run_then_leave_group(fn: Callable, cfg) -> None:
    try:
        fn(cfg)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


_GRACE_S = 10.0  # after one spawned process failed, how long the others get to leave


def _worker(local_rank: int, fn: Callable, cfg, init_method: str, per_shard: int,
            reports: Any) -> None:
    os.environ["LOCAL_WORLD_SIZE"] = str(per_shard)
    world_size = per_shard * cfg.NUM_SHARDS
    rank = cfg.SHARD_ID * per_shard + local_rank
    try:
        with stop_signals():
            _init_process_group(cfg, rank, world_size, local_rank, init_method)
            _run_then_leave_group(fn, cfg)
    except UserError as err:  # the parent raises it (a plain UserError with this text)
        reports.put(("user", str(err)))
        raise
    except Interrupted as err:  # a quiet exit for PyTorch's spawner; the parent reports it
        reports.put(("interrupted", err.where, err.signum))
        raise


def _spawn(fn: Callable, cfg, init_method: str, per_shard: int) -> None:
    """Run ``fn`` in ``per_shard`` spawned processes; raise what the first of them reported."""
    reports = mp.get_context("spawn").SimpleQueue()
    context = mp.spawn(_worker, args=(fn, cfg, init_method, per_shard, reports),
                       nprocs=per_shard, join=False)
    try:
        while not context.join(grace_period=_GRACE_S):
            pass
    except KeyboardInterrupt as err:  # Ctrl-C or SIGTERM here: the processes stop too
        for proc in context.processes:
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGINT)
        _end_within(context.processes, _GRACE_S)
        raise (_first_report(reports) or err) from None
    except Exception as err:
        report = _first_report(reports)
        if report is None:
            raise
        raise report from err
    report = _first_report(reports)
    if report is not None:  # every process was interrupted and left quietly
        raise report


def _first_report(reports: Any) -> Optional[BaseException]:
    first = None
    while not reports.empty():
        kind, *values = reports.get()
        if first is None:
            first = UserError(*values) if kind == "user" else Interrupted(*values)
    return first


def _end_within(processes: List[mp.Process], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for proc in processes:
        proc.join(timeout=max(0.0, deadline - time.monotonic()))
    for proc in processes:
        if proc.is_alive():
            proc.kill()
            proc.join()


def launch(cfg, fn: Callable, init_method: str = "") -> None:
    """Run ``fn(cfg)`` in every process of the job.

    * ranks already in the environment (torchrun, submitit): join that group;
    * one process in all: run ``fn`` here;
    * otherwise spawn this shard's processes (``--init_method`` for several shards).
    """
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local = int(os.environ.get("LOCAL_RANK", 0))
        _init_process_group(cfg, rank, world, local, "env://")
        _run_then_leave_group(fn, cfg)
        return
    per_shard = processes_per_shard(cfg)
    if per_shard * cfg.NUM_SHARDS == 1:
        fn(cfg)
        return
    if not init_method:
        if cfg.NUM_SHARDS > 1:
            raise ValueError("several shards need --init_method tcp://HOST:PORT shared by all")
        init_method = f"tcp://127.0.0.1:{free_port()}"
    _spawn(fn, cfg, init_method, per_shard)
