#!/usr/bin/env python
"""Generate the synthetic demo dataset (videos + pyskl/mmaction2 annotation pickle).

    python tools/make_demo_data.py --out data/demo [--seed 0] [--videos-per-class 20]

See rgbpose_dataprep/demo_data for what the videos show and why. A wrong request (an
unknown class, too few frames) is one line ``error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time

from rgbpose_dataprep.demo_data import CLASSES, make_demo_dataset
from rgbpose_plugin.cli import report_errors


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--videos-per-class", type=int, default=20)
    p.add_argument("--min-frames", type=int, default=40, help="shortest video (frames)")
    p.add_argument("--max-frames", type=int, default=56, help="longest video (frames)")
    p.add_argument("--classes", nargs="+", default=None, metavar="NAME",
                   help="subset of classes, in label order (default: all): "
                        + " ".join(c.name for c in CLASSES))
    p.add_argument("--workers", type=int, default=None,
                   help="parallel processes (default: all CPU cores)")
    p.add_argument("--crf", type=int, default=23, help="x264 quality (lower = better)")
    p.add_argument("--preset", default="veryfast", help="x264 speed preset")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.time()
    ann_file = make_demo_dataset(
        args.out, seed=args.seed, videos_per_class=args.videos_per_class,
        num_frames=(args.min_frames, args.max_frames), classes=args.classes,
        workers=args.workers, crf=args.crf, preset=args.preset, progress=True)
    print(f"wrote {ann_file} and its videos in {time.time() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main))
