"""Process groups: one process per GPU (NCCL) or several CPU processes (gloo).

Ranks come from the environment when a launcher set them (torchrun, SLURM through
submitit: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT); otherwise
:func:`launch` spawns ``NUM_GPUS`` (or ``RGBPOSE.CPU_PROCESSES``) processes per shard
itself, as PySlowFast does.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any, Callable, List

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

__all__ = ["DistInfo", "launch", "get_info", "is_main", "all_gather_objects", "barrier",
           "processes_per_shard", "free_port"]


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


def processes_per_shard(cfg) -> int:
    return cfg.NUM_GPUS if cfg.NUM_GPUS > 0 else max(1, cfg.RGBPOSE.CPU_PROCESSES)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _init_process_group(cfg, rank: int, world_size: int, local_rank: int, init_method: str) -> None:
    os.environ["LOCAL_RANK"] = str(local_rank)
    if world_size == 1:
        return
    backend = cfg.DIST_BACKEND if cfg.NUM_GPUS > 0 else "gloo"
    if cfg.NUM_GPUS > 0:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend, init_method=init_method, rank=rank, world_size=world_size)


def _run_then_leave_group(fn: Callable, cfg) -> None:
    try:
        fn(cfg)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _worker(local_rank: int, fn: Callable, cfg, init_method: str, per_shard: int) -> None:
    world_size = per_shard * cfg.NUM_SHARDS
    rank = cfg.SHARD_ID * per_shard + local_rank
    _init_process_group(cfg, rank, world_size, local_rank, init_method)
    _run_then_leave_group(fn, cfg)


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
    mp.spawn(_worker, args=(fn, cfg, init_method, per_shard), nprocs=per_shard, join=True)
