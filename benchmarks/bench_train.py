#!/usr/bin/env python
"""Training throughput of the fused RGBPoseConv3D in clips/s, through the trainer's own code.

    python benchmarks/bench_train.py [--tiny] [--batch B] [--steps N] [--workers 0 1 2]
                                     [--compile | --no-compile] [--no-loader] [--device cpu|cuda]

Rows (GPU when there is one, else the CPU; NTU-60 size by default: RGB 8x224x224 + pose
32x56x56, 60 classes; ``--tiny``: the demo's model and sizes):

* model only, synthetic batches: fp32; fp32 + channels_last_3d; bf16 autocast;
  bf16 + channels_last_3d; the same + torch.compile (default on CUDA only: compiling the
  NTU-size model takes minutes on a small CPU). Each is ``engine.trainer.train_step``
  (forward, loss, backward, gradient clipping, SGD step) with the ``engine.fast_paths``
  switches the trainer uses.
* test views, forward only: ``--batch`` views of one video at the test crop, through
  ``prepare_batch`` as the tester runs them (fp32, + channels_last_3d, bf16 + channels_last_3d).
* the full step with the real loader: a generated 960x540, 100-frame H.264 clip (as in
  bench_data.py) decoded, augmented and collated by DataLoader workers (0..N), then
  moved, converted and stepped as the trainer does (bf16 + channels_last_3d); one more row
  draws the heatmaps on the training device (``RGBPOSE.HEATMAP.ON_GPU``).

The last line is a one-line summary.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
from bench_data import make_annotation, make_clip  # same folder: the benchmark clip

from rgbpose_plugin.config import load_cfg, merge_opts
from rgbpose_plugin.data import build_dataset
from rgbpose_plugin.data.heatmaps import heatmap_size
from rgbpose_plugin.engine.batch import prepare_batch
from rgbpose_plugin.engine.fast_paths import (
    autocast,
    channels_last_inputs,
    channels_last_model,
    compile_net,
    grad_scaler,
)
from rgbpose_plugin.engine.loader import build_loader
from rgbpose_plugin.engine.optim import build_optimizer
from rgbpose_plugin.engine.trainer import train_step
from rgbpose_plugin.models import build_model

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {  # row name -> (RGBPOSE.AMP_DTYPE or "" for fp32, TRAIN.CHANNELS_LAST, TRAIN.COMPILE)
    "fp32": ("", False, False),
    "fp32 + channels_last_3d": ("", True, False),
    "bf16 autocast": ("bf16", False, False),
    "bf16 + channels_last_3d": ("bf16", True, False),
    "bf16 + channels_last_3d + compile": ("bf16", True, True),
}
LOADER_VARIANT = "bf16 + channels_last_3d"
EVAL_VARIANTS = ["fp32", "fp32 + channels_last_3d", "bf16 + channels_last_3d"]


def base_cfg(tiny: bool, device: torch.device, batch: int):
    """NTU-60 defaults (or the demo's model and sizes), one process on ``device``."""
    cfg = load_cfg(str(ROOT / "configs" / ("demo/rgbpose_demo.yaml" if tiny else "rgbpose_ntu.yaml")))
    return merge_opts(cfg, ["NUM_GPUS", int(device.type == "cuda"), "TRAIN.BATCH_SIZE", batch,
                            "DATA_LOADER.PIN_MEMORY", device.type == "cuda", "SOLVER.WARMUP_EPOCHS", 0.0])


def with_variant(cfg, variant: str):
    precision, channels_last, compiled = VARIANTS[variant]
    cfg = cfg.clone()
    cfg.TRAIN.MIXED_PRECISION = bool(precision)
    cfg.TRAIN.CHANNELS_LAST, cfg.TRAIN.COMPILE = channels_last, compiled
    cfg.RGBPOSE.AMP_DTYPE = precision or cfg.RGBPOSE.AMP_DTYPE
    return cfg


class Stepper:
    """The trainer's model, optimizer, scaler and network for one variant, on ``device``."""

    def __init__(self, cfg, device: torch.device) -> None:
        torch.manual_seed(cfg.RNG_SEED)
        self.cfg, self.device = cfg, device
        self.model = channels_last_model(cfg, build_model(cfg).to(device)).train()
        self.optimizer = build_optimizer(cfg, self.model)
        self.scaler = grad_scaler(cfg, device)
        self.net = compile_net(cfg, self.model)

    def step(self, inputs: List[torch.Tensor], labels: torch.Tensor) -> None:
        values = train_step(self.cfg, self.net, self.optimizer, self.scaler, inputs, labels)
        if not math.isfinite(values["loss"]):
            dtype = self.cfg.RGBPOSE.AMP_DTYPE if self.cfg.TRAIN.MIXED_PRECISION else "fp32"
            raise RuntimeError(f"{dtype}: loss {values['loss']}")


def timed_clips_per_s(step: Callable[[], None], batch: int, warmup: int, steps: int,
                      device: torch.device) -> float:
    """``batch`` / the median time of ``steps`` steps after ``warmup`` untimed ones (allocator,
    kernel choice, compilation, worker start-up); the median shrugs off a step slowed by
    another process on a shared machine."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def synthetic_batch(cfg, batch: int, device: torch.device):
    size = cfg.DATA.TRAIN_CROP_SIZE
    h, w = heatmap_size((size, size), cfg.RGBPOSE.HEATMAP.SCALING)
    rgb = torch.randn(batch, 3, cfg.DATA.NUM_FRAMES, size, size, device=device)
    pose = torch.rand(batch, cfg.RGBPOSE.KEYPOINTS.NUM, cfg.DATA.POSE_NUM_FRAMES, h, w, device=device)
    labels = torch.randint(0, cfg.MODEL.NUM_CLASSES, (batch,), device=device)
    return [rgb, pose], labels


def model_rows(cfg, args, device) -> Dict[str, float]:
    rows = {}
    for variant in VARIANTS:
        vcfg = with_variant(cfg, variant)
        if vcfg.TRAIN.COMPILE and not args.compile:
            print(f"  {variant}: left out (--compile adds it; on the CPU the first, compiling "
                  f"step of the NTU-size model takes minutes)")
            continue
        stepper = Stepper(vcfg, device)
        inputs, labels = synthetic_batch(vcfg, args.batch, device)
        inputs = channels_last_inputs(vcfg, inputs)
        start = time.perf_counter()
        rows[variant] = timed_clips_per_s(lambda: stepper.step(inputs, labels),  # noqa: B023
                                          args.batch, args.warmup + vcfg.TRAIN.COMPILE, args.steps, device)
        print(f"  {variant}: {rows[variant]:.3g} clips/s ({time.perf_counter() - start:.0f} s)", flush=True)
    return rows


def eval_rows(cfg, args, device) -> Dict[str, float]:
    """Test-time forward passes of ``args.batch`` views of one video at the test crop size,
    through ``prepare_batch`` (views flattened, then channels_last_3d) as the tester runs them."""
    rows = {}
    size, views = cfg.DATA.TEST_CROP_SIZE, args.batch
    h, w = heatmap_size((size, size), cfg.RGBPOSE.HEATMAP.SCALING)
    batch = {"inputs": [torch.randn(1, views, 3, cfg.DATA.NUM_FRAMES, size, size),
                        torch.rand(1, views, cfg.RGBPOSE.KEYPOINTS.NUM, cfg.DATA.POSE_NUM_FRAMES, h, w)],
             "label": torch.zeros(1, dtype=torch.long)}
    for variant in EVAL_VARIANTS:
        vcfg = with_variant(cfg, variant)
        model = channels_last_model(vcfg, build_model(vcfg).to(device)).eval()

        @torch.no_grad()
        def forward() -> None:
            inputs, _, _ = prepare_batch(batch, vcfg, device)  # noqa: B023
            with autocast(vcfg, device):  # noqa: B023
                model(inputs)  # noqa: B023

        rows[variant] = timed_clips_per_s(forward, views, args.warmup, args.steps, device)
        print(f"  test views, {variant}: {rows[variant]:.3g} clips/s", flush=True)
    return rows


def loader_cfg(cfg, folder: Path, samples: int, workers: int, on_device: bool = False):
    """``cfg`` reading the benchmark clip ``samples`` times per epoch with ``workers`` workers."""
    return merge_opts(cfg.clone(), [
        "DATA.ANN_FILE", str(folder / "bench.pkl"), "DATA.PATH_PREFIX", str(folder),
        "DATA.TRAIN_SPLIT", "bench", "DATA.REPEAT", samples, "DATA_LOADER.NUM_WORKERS", workers,
        "RGBPOSE.HEATMAP.ON_GPU", on_device, "TRAIN.DATASET", "rgbpose"])


def make_bench_data(folder: Path) -> Path:
    make_clip(folder / "bench.mp4")
    make_annotation(folder / "bench.pkl", "bench")
    return folder


def full_step_rows(cfg, args, device, folder: Path) -> Dict[str, float]:
    rows = {}
    runs = [(w, False) for w in args.workers] + [(max(args.workers), True)]
    for workers, on_device in runs:
        samples = args.batch * (args.warmup + args.steps)
        lcfg = loader_cfg(with_variant(cfg, LOADER_VARIANT), folder, samples, workers, on_device)
        stepper = Stepper(lcfg, device)
        batches = iter(build_loader(lcfg, build_dataset(lcfg, "train"), "train"))

        def step() -> None:
            inputs, labels, _ = prepare_batch(next(batches), lcfg, device)  # noqa: B023
            stepper.step(inputs, labels)  # noqa: B023

        name = f"{workers} worker(s)" + (f", heatmaps drawn on {device.type}" if on_device else "")
        rows[name] = timed_clips_per_s(step, args.batch, args.warmup, args.steps, device)
        print(f"  full step, {name}: {rows[name]:.3g} clips/s", flush=True)
    return rows


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tiny", action="store_true", help="the demo's model and sizes")
    p.add_argument("--device", default="cuda" if cuda else "cpu")
    p.add_argument("--batch", type=int, help="clips per step (default: 16 on CUDA, 2 on the CPU)")
    p.add_argument("--steps", type=int,
                   help="timed steps per row (default: 20 on CUDA; on the CPU 2, --tiny 10)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first (compile: +1)")
    p.add_argument("--workers", type=int, nargs="+", help="loader workers per row (default 0..cores)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="the torch.compile row (default: on CUDA only)")
    p.add_argument("--no-loader", action="store_true", help="model rows only")
    args = p.parse_args(argv)
    on_cuda = args.device.startswith("cuda")
    args.batch = args.batch or (16 if on_cuda else 2)
    args.steps = args.steps or (20 if on_cuda else 10 if args.tiny else 2)
    args.compile = on_cuda if args.compile is None else args.compile
    cores = os.cpu_count() or 1
    args.workers = args.workers or ([0, 2, 4, 8, 12] if on_cuda and cores >= 12 else list(range(cores + 1)))
    return args


def device_name(device: torch.device, threads: int) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    return f"CPU ({cpu}, {threads} torch threads)"


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    cfg = base_cfg(args.tiny, device, args.batch)
    size = "demo size" if args.tiny else "NTU-60 size"
    load = os.getloadavg()[0]
    print(f"RGBPoseConv3D training throughput (batch / median step time), {size} (RGB {cfg.DATA.NUM_FRAMES}x"
          f"{cfg.DATA.TRAIN_CROP_SIZE}², pose {cfg.DATA.POSE_NUM_FRAMES} frames), batch {args.batch}, "
          f"{args.steps} timed steps per row, on {device_name(device, args.threads)}; "
          f"torch {torch.__version__}; load average {load:.1f}")
    rows = {f"model only, {k}": v for k, v in model_rows(cfg, args, device).items()}
    rows.update({f"test views, forward only, {k}": v for k, v in eval_rows(cfg, args, device).items()})
    if not args.no_loader:
        with tempfile.TemporaryDirectory() as tmp:
            folder = make_bench_data(Path(tmp))
            rows.update({f"full step ({LOADER_VARIANT}), {k}": v
                         for k, v in full_step_rows(cfg, args, device, folder).items()})
    fp32, width = rows["model only, fp32"], max(map(len, rows))
    print(f"\n| {'training step':{width}s} | clips/s | vs fp32 |\n|{'-' * (width + 2)}|--------:|--------:|")
    for name, value in rows.items():
        base = rows["test views, forward only, fp32"] if name.startswith("test") else fp32
        print(f"| {name:{width}s} | {value:7.3g} | {value / base:6.2f}x |")
    print("\nsummary: " + summary(rows, f"{device.type} {size} batch {args.batch}"))


def summary(rows: Dict[str, float], what: str) -> str:
    fp32 = rows["model only, fp32"]
    best = max((k for k in rows if k.startswith("model only")), key=rows.get)
    text = (f"{what}: fp32 {fp32:.3g} clips/s, best {best.split(', ', 1)[1]} {rows[best]:.3g} "
            f"clips/s ({rows[best] / fp32:.2f}x)")
    full = max((k for k in rows if k.startswith("full step")), key=rows.get, default=None)
    if full:
        text += f", full step with the loader {rows[full]:.3g} clips/s ({full.split(', ', 1)[1]})"
    return text


if __name__ == "__main__":
    main()
