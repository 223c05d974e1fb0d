"""Cost per test view in a PySlowFast host (one item per view, rgbpose_plugin.host).

On the benchmark clip of ``bench_data.py`` (960x540, 100 frames, 10 views), prints the
median time of the plugin tester's 10-clip item, and of one host test item (one view)
when the views of a video come in order (the host's single-process loader: the per-worker
cache decodes the video once) and in random order (e.g. the host's shuffling
DistributedSampler: every view misses the cache and pays for the whole video).

    python benchmarks/bench_host_views.py [--repeats 10] [--threads 2]

Target: a view in order costs at most 1/10 of the 10-clip item plus 5 ms.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from bench_data import make_annotation, make_clip, median_ms

from rgbpose_plugin.data import DataOptions, RGBPoseDataset
from rgbpose_plugin.host import HostViews

VIEWS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_clip(root / "bench.mp4")
        make_annotation(root / "bench.pkl", "bench")
        opts = DataOptions(video_prefix=str(root), num_views=VIEWS)
        test = RGBPoseDataset.from_file(str(root / "bench.pkl"), "bench", opts, "test")
        views = HostViews(test, world_size=1)

        def in_order(i: int) -> None:
            views._cache.clear()
            for clip in range(VIEWS):
                views[clip]

        def random_order(i: int) -> None:
            views._cache.clear()  # a view of another video came in between
            views[i % VIEWS]

        whole = median_ms(lambda i: test[0], args.repeats)
        ordered = median_ms(in_order, args.repeats) / VIEWS
        shuffled = median_ms(random_order, args.repeats)
    print(f"{'':34s} {'median ms':>10s}")
    print(f"{'tester: 10-clip item':34s} {whole:10.2f}")
    print(f"{'host: one view, views in order':34s} {ordered:10.2f}   (1/10 of the item: "
          f"{whole / VIEWS:.2f})")
    print(f"{'host: one view, random order':34s} {shuffled:10.2f}")


if __name__ == "__main__":
    main()
