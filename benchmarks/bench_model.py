#!/usr/bin/env python
"""CPU speed of the fused RGBPoseConv3D (NTU-60 size, fp32): forward and forward+backward.

    python benchmarks/bench_model.py [--threads 2] [--repeats 3] [--batches 1 2]

Prints the median seconds per call at training size (RGB 8x224x224, pose 32x56x56).
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from rgbpose_plugin import create_rgbpose_conv3d


def timed(fn, repeats: int) -> float:
    fn()  # warm-up: allocator, kernel selection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_rgbpose_conv3d()
    print(f"RGBPoseConv3D, {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"{args.threads} threads, fp32, median of {args.repeats}")
    for n in args.batches:
        inputs = [torch.randn(n, 3, 8, 224, 224), torch.randn(n, 17, 32, 56, 56)]
        labels = torch.zeros(n, dtype=torch.long)
        fwd = timed(lambda: forward(model, inputs), args.repeats)  # noqa: B023 (called here)
        both = timed(lambda: forward_backward(model, inputs, labels), args.repeats)  # noqa: B023
        print(f"batch {n}: forward {fwd:.2f} s, forward+backward {both:.2f} s")


def forward(model, inputs) -> None:
    model.eval()
    with torch.no_grad():
        model(inputs)


def forward_backward(model, inputs, labels) -> None:
    model.train()
    out = model(inputs)
    loss = F.cross_entropy(out["rgb"], labels) + F.cross_entropy(out["pose"], labels)
    loss.backward()
    model.zero_grad(set_to_none=True)


if __name__ == "__main__":
    main()
