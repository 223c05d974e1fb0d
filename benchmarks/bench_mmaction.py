"""MMAction2's own RGBPoseConv3D pipelines against the same pipelines with our transforms.

Runs in the MMAction2 environment (``make mmaction-env``)::

    .venv-mmaction/bin/python benchmarks/bench_mmaction.py [--repeats 20] [--threads 1]

On the clip of ``bench_data.py`` (960x540, 100 frames, libx264 defaults; a 2-person
annotation measured at 1920x1080), both sides build MMAction2 ``PoseDataset`` items from
the shipped ``rgbpose_conv3d.py`` pipelines and from ``configs/mmaction2/
rgbpose_conv3d_fast.py`` (the same with FastMMDecode, FastMMCompact and
FastGeneratePoseTarget), timed alternately in one process: a training item (the same
random draws on both sides), a validation item, a 10-clip test item, and the heatmaps
alone (2 persons x 32 frames x 17 joints at 56x56). Prints medians, speed-ups, the
targets (2x, -, 5x, 15x) and how far the outputs are apart. Torch runs on one thread by
default, as in a DataLoader worker (PyTorch sets that there); decord, FFmpeg and OpenCV
keep their own defaults on both sides.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data import FRAMES, HEIGHT, WIDTH, frame_types, make_annotation, make_clip  # noqa: E402
from mmaction.registry import DATASETS, TRANSFORMS  # noqa: E402
from mmaction.utils import register_all_modules  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402

from rgbpose_plugin.mmaction import stock_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STOCK = "skeleton/posec3d/rgbpose_conv3d/rgbpose_conv3d.py"
FAST = ROOT / "configs" / "mmaction2" / "rgbpose_conv3d_fast.py"
SPLITS = ("train", "val", "test")


CLOCK = time.perf_counter  # --cpu-time: time.process_time (this process, all its threads)


def timed_pair(stock: Callable[[int], object], ours: Callable[[int], object], repeats: int
               ) -> Tuple[float, float]:
    """Median ms of each, measured alternately (so load changes hit both alike)."""
    stock(0), ours(0)  # warm-up
    times: Dict[str, List[float]] = {"stock": [], "ours": []}
    for i in range(repeats):
        for name, fn in (("stock", stock), ("ours", ours)):
            start = CLOCK()
            fn(i + 1)
            times[name].append(CLOCK() - start)
    return 1e3 * statistics.median(times["stock"]), 1e3 * statistics.median(times["ours"])


def datasets(cfg: Config, root: Path) -> Dict[str, object]:
    """The config's train/val/test ``PoseDataset`` on the benchmark clip."""
    out = {}
    for split in SPLITS:
        ds = copy.deepcopy(cfg[f"{split}_dataloader"]["dataset"])
        ds.update(ann_file=str(root / "bench.pkl"), data_prefix=dict(video=str(root)),
                  split="bench")
        out[split] = DATASETS.build(ds)
    return out


def item(dataset, i: int):
    """Item 0 with the draws of seed ``i`` (MMAction2 uses NumPy's and Python's RNGs)."""
    np.random.seed(i)
    random.seed(i)
    return dataset[0]


def max_diff(a, b, key: str) -> float:
    return (a["inputs"][key].float() - b["inputs"][key].float()).abs().max().item()


def heatmap_row(repeats: int) -> Tuple[float, float]:
    """GeneratePoseTarget as the training pipeline sets it (sigma 0.7, 224 px frames at
    scaling 0.25: 56x56 maps) against FastGeneratePoseTarget."""
    rng = np.random.default_rng(0)
    results = {"keypoint": rng.uniform(0, 224, (2, 32, 17, 2)).astype(np.float32),
               "keypoint_score": rng.uniform(0, 1, (2, 32, 17)).astype(np.float32),
               "img_shape": (224, 224)}
    args = dict(sigma=0.7, use_score=True, with_kp=True, with_limb=False, scaling=0.25)
    stock = TRANSFORMS.build(dict(type="GeneratePoseTarget", **args))
    ours = TRANSFORMS.build(dict(type="FastGeneratePoseTarget", **args))
    diff = np.abs(stock(dict(results))["imgs"] - ours(dict(results))["imgs"]).max()
    assert diff <= 1e-6, f"heatmaps differ by {diff}"
    return timed_pair(lambda i: stock(dict(results)), lambda i: ours(dict(results)), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time CPU seconds of this process instead of wall time (less "
                             "sensitive to other processes on a busy machine)")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.cpu_time else time.perf_counter
    load = os.getloadavg()[0]  # before this process adds to it
    torch.set_num_threads(args.threads)
    register_all_modules()
    MMLogger.get_instance("mmengine", log_level="WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_clip(root / "bench.mp4")
        make_annotation(root / "bench.pkl", "bench")
        stock, ours = datasets(stock_config(STOCK), root), datasets(Config.fromfile(str(FAST)), root)
        rows = []
        for split, label, target, repeats in (
                ("train", "training item", 2, args.repeats),
                ("val", "validation item", None, args.repeats),
                ("test", "10-clip test item", 5, max(8, args.repeats // 2))):
            ms = timed_pair(lambda i, s=split: item(stock[s], i),
                            lambda i, s=split: item(ours[s], i), repeats)
            a, b = item(stock[split], 0), item(ours[split], 0)
            note = (f"max |d| heatmaps {max_diff(a, b, 'heatmap_imgs'):.1e}, "
                    f"frames {max_diff(a, b, 'imgs'):.0f}")
            rows.append((label, *ms, target, note))
        rows.append(("heatmaps 2x32x17 @56x56", *heatmap_row(args.repeats * 10), 15,
                     "max |d| <= 1e-6"))
        clip = f"{WIDTH}x{HEIGHT}, {FRAMES} frames ({frame_types(root / 'bench.mp4')})"
    print(f"clip: {clip}; torch threads {args.threads}; "
          f"{'CPU' if args.cpu_time else 'wall'} time; load average before the run "
          f"{load:.1f} on {os.cpu_count()} CPUs")
    print(f"{'':24s} {'mmaction2 ms':>12s} {'ours ms':>9s} {'speed-up':>9s} {'target':>7s}  parity")
    for label, ms_stock, ms_ours, target, note in rows:
        goal = f">= {target}x" if target else ""
        print(f"{label:24s} {ms_stock:12.1f} {ms_ours:9.1f} {ms_stock / ms_ours:8.1f}x "
              f"{goal:>7s}  {note}")


if __name__ == "__main__":
    main()
