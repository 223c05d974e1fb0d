#!/usr/bin/env python
"""The training loader alone: samples/s per worker process, and its memory over a long run.

    python benchmarks/bench_loader.py [--tiny] [--workers 0 1 2] [--samples 200]
                                      [--memory-samples 2000] [--memory-workers 2]

Reads the generated 960x540, 100-frame H.264 clip of bench_data.py through the trainer's
own dataset and DataLoader (NTU-60 training items by default: RGB 8x224x224 + pose
32x56x56; ``--tiny``: the demo's sizes). First the throughput with each worker count, then
one run of ``--memory-samples`` samples that records the resident memory (VmRSS) of the
main process plus its workers every 100 samples: it must stay flat (no per-sample leak).
The last line is a one-line summary.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import torch
from bench_train import base_cfg, loader_cfg, make_bench_data  # same folder

from rgbpose_plugin.data import build_dataset
from rgbpose_plugin.engine.loader import build_loader

CHECK_EVERY = 100  # samples between memory readings


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kb / 1024


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (the DataLoader workers), in MiB."""
    children: List[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            children += [int(c) for c in f.read().split()]
    total = rss_mb(pid)
    for child in children:
        try:
            total += rss_mb(child)
        except (FileNotFoundError, StopIteration):  # a worker that just exited
            pass
    return total


def loader(cfg, folder: Path, samples: int, workers: int):
    lcfg = loader_cfg(cfg, folder, samples, workers)
    return build_loader(lcfg, build_dataset(lcfg, "train"), "train")


def samples_per_s(cfg, folder: Path, samples: int, workers: int) -> float:
    """Throughput after the first batch (worker start-up and first decode excluded)."""
    batches = iter(loader(cfg, folder, samples + cfg.TRAIN.BATCH_SIZE, workers))
    next(batches)
    start, count = time.perf_counter(), 0
    for b in batches:
        count += len(b["label"])
    return count / (time.perf_counter() - start)


def memory_trace(cfg, folder: Path, samples: int, workers: int) -> List[float]:
    """Tree RSS (MiB) after every CHECK_EVERY samples."""
    trace, seen, next_check = [], 0, CHECK_EVERY
    for b in loader(cfg, folder, samples, workers):
        seen += len(b["label"])
        if seen >= next_check:
            trace.append(tree_rss_mb(os.getpid()))
            next_check += CHECK_EVERY
    return trace


def main() -> None:
    cores = os.cpu_count() or 1
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tiny", action="store_true", help="the demo's item sizes")
    p.add_argument("--workers", type=int, nargs="+", default=list(range(cores + 1)))
    p.add_argument("--samples", type=int, default=200, help="samples per throughput row")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--memory-samples", type=int, default=2000)
    p.add_argument("--memory-workers", type=int, default=min(2, cores))
    args = p.parse_args()
    torch.set_num_threads(1)  # as in a worker: the loader's own cost, not torch's threads
    cfg = base_cfg(args.tiny, torch.device("cpu"), args.batch)
    print(f"training loader, {'demo' if args.tiny else 'NTU-60'} items (RGB {cfg.DATA.NUM_FRAMES}x"
          f"{cfg.DATA.TRAIN_CROP_SIZE}², pose {cfg.DATA.POSE_NUM_FRAMES} frames), batch {args.batch}, "
          f"{cores} cores, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_bench_data(Path(tmp))
        rates: Dict[int, float] = {}
        print("\n| workers | samples/s | samples/s per process |\n|---:|---:|---:|")
        for w in args.workers:
            rates[w] = samples_per_s(cfg, folder, args.samples, w)
            print(f"| {w} | {rates[w]:.1f} | {rates[w] / max(1, w):.1f} |", flush=True)
        trace = memory_trace(cfg, folder, args.memory_samples, args.memory_workers)
    growth = trace[-1] - trace[0]
    print(f"\nresident memory, main + {args.memory_workers} worker(s), every {CHECK_EVERY} samples (MiB): "
          + " ".join(f"{x:.0f}" for x in trace))
    best = max(rates, key=rates.get)
    print(f"summary: {rates[best]:.1f} samples/s with {best} worker(s) "
          f"({rates[best] / max(1, best):.1f} per process); memory over {args.memory_samples} samples "
          f"{trace[0]:.0f} -> {trace[-1]:.0f} MiB ({growth:+.0f} MiB, {100 * growth / trace[0]:+.1f}%)")


if __name__ == "__main__":
    main()
