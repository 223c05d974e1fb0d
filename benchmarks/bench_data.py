"""Per-sample cost of the data pipeline on an NTU-like clip.

Makes a 960x540, 100-frame H.264 video with libx264's defaults through PyAV (smooth
background, two moving figures: 1 I, 25 P and 74 B frames, like a re-encoded NTU clip)
and a 2-person annotation measured at 1920x1080, then prints the median time of a
training item, a validation item, a 10-clip test item and of the heatmaps alone
(2 persons x 32 frames x 17 joints at 56x56), with torch on 2 threads.

    python benchmarks/bench_data.py [--repeats 30] [--threads 2] [--decode-threads 0]

Targets: heatmaps <= 1 ms, training item <= 65 ms, 10-clip test item <= 0.25 s
(mmaction2 1.2.0 on the same clip: 18.5 ms, 133 ms, 1.15 s; docs/design.md section 6).
"""

from __future__ import annotations

import argparse
import collections
import os
import pickle
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, List

import av
import numpy as np
import torch

from rgbpose_plugin.data import DataOptions, RGBPoseDataset, pose_heatmaps

WIDTH, HEIGHT, FRAMES = 960, 540, 100


def make_clip(path: Path) -> None:
    """The benchmark clip (deterministic content)."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    background = np.stack([60 + 120 * xx / WIDTH, 80 + 100 * yy / HEIGHT,
                           140 - 60 * xx / WIDTH], -1)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for i in range(FRAMES):
            img = background.copy()
            for k in range(2):
                cx, cy = 250 + 400 * k + 3 * i, 270 + 60 * np.sin(i / 10 + k)
                inside = ((xx - cx) / 50) ** 2 + ((yy - cy) / 160) ** 2 < 1
                img[inside] = (200 - 100 * k, 80 + i, 60)
            frame = av.VideoFrame.from_ndarray(img.clip(0, 255).astype(np.uint8), "rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def frame_types(path: Path) -> str:
    with av.open(str(path)) as container:
        kinds = collections.Counter(av.video.frame.PictureType(int(f.pict_type)).name
                                    for f in container.decode(video=0))
    return ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))


def make_annotation(path: Path, frame_dir: str) -> None:
    """Two persons following the figures, in 1920x1080 pixels (as NTU's annotations)."""
    rng = np.random.default_rng(0)
    t = np.arange(FRAMES, dtype=np.float32)
    keypoint = np.zeros((2, FRAMES, 17, 2), np.float32)
    for k in range(2):
        cx = 2 * (250 + 400 * k + 3 * t)
        cy = 2 * (270 + 60 * np.sin(t / 10 + k))
        keypoint[k, :, :, 0] = cx[:, None] + rng.uniform(-100, 100, (FRAMES, 17))
        keypoint[k, :, :, 1] = cy[:, None] + rng.uniform(-320, 320, (FRAMES, 17))
    ann = {"frame_dir": frame_dir, "label": 0, "img_shape": (1080, 1920),
           "original_shape": (1080, 1920), "total_frames": FRAMES, "keypoint": keypoint,
           "keypoint_score": rng.uniform(0.5, 1.0, (2, FRAMES, 17)).astype(np.float32)}
    with open(path, "wb") as f:
        pickle.dump({"split": {"bench": [frame_dir]}, "annotations": [ann]}, f)


def median_ms(fn: Callable[[int], object], repeats: int) -> float:
    fn(0)  # warm-up
    times: List[float] = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i + 1)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--decode-threads", type=int, default=0, help="DATA.DECODE_THREADS")
    args = parser.parse_args()
    load = os.getloadavg()[0]  # before this process adds to it
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_clip(root / "bench.mp4")
        make_annotation(root / "bench.pkl", "bench")
        opts = DataOptions(video_prefix=str(root), decode_threads=args.decode_threads,
                           num_views=10)

        def build(split: str) -> RGBPoseDataset:
            return RGBPoseDataset.from_file(str(root / "bench.pkl"), "bench", opts, split)

        train, val, test = build("train"), build("val"), build("test")
        kp = torch.rand(1, 2, 32, 17, 2) * 56
        score = torch.rand(1, 2, 32, 17)

        def train_item(i: int) -> object:
            train.set_epoch(i)  # a fresh random draw each time
            return train[0]

        rows = [
            ("heatmaps 2x32x17 @56x56", median_ms(
                lambda i: pose_heatmaps(kp, score, (56, 56), 0.7), args.repeats * 10), 1.0,
             18.5),
            ("training item", median_ms(train_item, args.repeats), 65.0, 133.0),
            ("validation item", median_ms(lambda i: val[0], args.repeats), None, None),
            ("10-clip test item", median_ms(lambda i: test[0], max(5, args.repeats // 3)),
             250.0, 1150.0),
        ]
        print(f"clip: {WIDTH}x{HEIGHT}, {FRAMES} frames ({frame_types(root / 'bench.mp4')}); "
              f"torch threads {args.threads}, decode threads {args.decode_threads}")
        if load > 0.5:
            print(f"note: load average {load:.1f} before this run: other processes share the "
                  f"CPU and inflate these times (with 2 torch threads, OpenMP waits for a busy "
                  f"core on every parallel op; OMP_WAIT_POLICY=PASSIVE softens that)")
        print(f"{'':26s} {'median ms':>10s} {'target':>8s} {'mmaction2':>10s}")
        for name, ms, target, ref in rows:
            print(f"{name:26s} {ms:10.2f} {target if target else '':>8} {ref if ref else '':>10}")


if __name__ == "__main__":
    main()
