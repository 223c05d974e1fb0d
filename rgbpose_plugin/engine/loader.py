"""DataLoaders for a stage, with samplers that make runs reproducible.

* Training order is a permutation seeded by (RNG_SEED, epoch), split across processes;
  a resumed run can start part-way into an epoch and sees the same remaining batches.
* Evaluation gives each process a disjoint slice with no padding, so every video is
  scored once.
* No loader draws from the global RNG (each gets its own generator), so evaluation
  never shifts the training's random numbers.
* Worker processes live exactly as long as one pass over a loader (:func:`batches`),
  however that pass ends, and an error raised in a worker reaches the caller as the
  error it was, with its own one-line message (not PyTorch's wrapped traceback).
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import multiprocessing.util  # noqa: F401  (its exit handler first: ours must run before it)
import re
import signal
from typing import Iterator, List, Optional

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .distributed import get_info, processes_per_shard

__all__ = ["batches", "build_loader", "end_workers", "TrainSampler",
           "EvalSampler"]


class TrainSampler(Sampler):
    """This process's share of a (seed, epoch)-seeded permutation, from ``start`` on."""

    def __init__(self, size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.size, self.seed, self.rank, self.world_size = size, seed, rank, world_size
        self.epoch, self.start = 0, 0
        self.per_rank = -(-size // world_size)  # padded like DistributedSampler

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.size, generator=g).tolist()
        order += order[: self.per_rank * self.world_size - self.size]
        return iter(order[self.rank::self.world_size][self.start:])

    def __len__(self) -> int:
        return self.per_rank - self.start


class EvalSampler(Sampler):
    """Indices ``rank, rank + world, ...``: disjoint across processes, none repeated."""

    def __init__(self, size: int, rank: int = 0, world_size: int = 1) -> None:
        self.indices = list(range(rank, size, world_size))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def _worker_init(_: int) -> None:
    """DataLoader workers leave SIGTERM and SIGUSR2 to their parent.

    SLURM sends them to every process of a job step (SIGTERM before a preemption, USR2
    before a time limit). A worker would otherwise run the handler inherited from its
    parent (submitit's, which tries to checkpoint from inside the worker) or PyTorch's
    worker handler, which dies on a SIGTERM its parent did not send, so the trainer
    fails on its next batch instead of saving. The parent ends its workers itself.
    """
    for sig in (signal.SIGTERM, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_IGN)


@contextlib.contextmanager
def batches(loader: DataLoader) -> Iterator[Iterator]:
    """One pass over ``loader``: ``with batches(loader) as it: for batch in it: ...``.

    Its worker processes end when the block ends, on every path (exhausted, an exception
    in the loop or in a worker, Ctrl-C, a stop request, another rank's failure). PyTorch
    leaves that to the iterator's garbage collection, which an exception's traceback can
    postpone to interpreter exit, where its terminate() does not end our workers (they
    ignore SIGTERM, see :func:`_worker_init`) and the process waits on them forever.
    """
    it = iter(loader)
    try:
        yield it
    except Exception as err:
        original = worker_error(err)
        if original is None:
            raise
        raise original from err  # the worker's traceback stays in the chain (log.txt)
    finally:
        end_workers(it)


def end_workers(it: Iterator) -> None:
    """End the worker processes of a DataLoader iterator (no-op without workers).

    PyTorch's shutdown asks every worker to stop after its current item and waits for it;
    one still alive after that (stuck in a read) gets SIGKILL, since it ignores SIGTERM.
    """
    shutdown = getattr(it, "_shutdown_workers", None)
    if shutdown is None:
        return
    workers = list(getattr(it, "_workers", ()))
    try:
        shutdown()
    finally:
        _kill(workers)


def _kill(processes: List[multiprocessing.Process]) -> None:
    for proc in processes:
        if proc.is_alive():
            proc.kill()
    for proc in processes:
        proc.join(timeout=5)


# PyTorch re-raises a worker's exception as ``type(err)(text)`` where ``text`` is
# "Caught X in DataLoader worker process N.\nOriginal Traceback ...", ending in the line
# "module.X: message".
_WRAPPED = re.compile(r"Caught \w+ in DataLoader worker process \d+\.\nOriginal Traceback")


def worker_error(err: BaseException) -> Optional[BaseException]:
    """The error a DataLoader worker raised, rebuilt with its own message; None when
    ``err`` is not a worker's (or its message cannot be recovered)."""
    text = str(err)
    if not _WRAPPED.match(text):
        return None
    kind = type(err)
    for name in (f"{kind.__module__}.{kind.__qualname__}", kind.__qualname__):
        _, marker, message = text.rpartition(f"\n{name}: ")
        if marker:
            try:
                return kind(message.rstrip("\n"))
            except Exception:  # a type that cannot be built from its message
                return None
    return None


@atexit.register
def _kill_leftover_workers() -> None:
    """At exit, kill daemonic child processes still alive (workers of a loader that was
    never ended): multiprocessing's own exit handler, which runs after this one, sends
    them SIGTERM, which our workers ignore, and would then wait for them forever."""
    _kill([p for p in multiprocessing.active_children() if p.daemon])


def per_process_batch(cfg, per_shard: int, what: str) -> int:
    """PySlowFast's meaning: a batch size counts one shard (node), split over its processes."""
    procs = processes_per_shard(cfg)
    if per_shard % procs:
        raise ValueError(f"{what} ({per_shard}) must be divisible by the processes per shard "
                         f"({procs}: NUM_GPUS, or RGBPOSE.CPU_PROCESSES on the CPU)")
    return per_shard // procs


def test_videos_per_batch(cfg) -> int:
    """Videos per test batch and process: TEST.BATCH_SIZE counts clips per shard (as in
    PySlowFast); each test item here holds NUM_ENSEMBLE_VIEWS clips of one video."""
    clips = max(1, cfg.TEST.BATCH_SIZE // processes_per_shard(cfg))
    return max(1, clips // cfg.TEST.NUM_ENSEMBLE_VIEWS)


def build_loader(cfg, dataset: Dataset, split: str) -> DataLoader:
    from ..data import collate  # the data package registers the datasets on import

    info = get_info()
    if split == "train":
        sampler = TrainSampler(len(dataset), cfg.RNG_SEED, info.rank, info.world_size)
        batch = per_process_batch(cfg, cfg.TRAIN.BATCH_SIZE, "TRAIN.BATCH_SIZE")
    else:
        sampler = EvalSampler(len(dataset), info.rank, info.world_size)
        batch = (test_videos_per_batch(cfg) if split == "test"
                 else max(1, cfg.TRAIN.BATCH_SIZE // processes_per_shard(cfg)))
    workers = cfg.DATA_LOADER.NUM_WORKERS
    return DataLoader(
        dataset, batch_size=batch, sampler=sampler, num_workers=workers,
        collate_fn=collate, pin_memory=cfg.DATA_LOADER.PIN_MEMORY and cfg.NUM_GPUS > 0,
        generator=torch.Generator().manual_seed(cfg.RNG_SEED), drop_last=False,
        worker_init_fn=_worker_init if workers else None,
    )
