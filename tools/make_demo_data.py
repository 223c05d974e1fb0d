#!/usr/bin/env python
"""Generate the synthetic demo dataset (videos + pyskl/mmaction2 annotation pickle).

    python tools/make_demo_data.py --out data/demo [--seed 0] [--videos-per-class 20]
    python tools/make_demo_data.py --out data/demo --videos-per-class 0 \
        --long-scenes 2 --long-duration 60 --long-actors 2     # only long scenes, in out/long

Long scenes (rgbpose_dataprep/demo_data/long_scene.py) are test beds for per-person action
timelines: one or two actors doing the classes in sequence, with ground-truth segments.

See rgbpose_dataprep/demo_data for what the videos show and why. A wrong request (an
unknown class, too few frames) is one line ``error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rgbpose_dataprep.demo_data import CLASSES, make_demo_dataset
from rgbpose_dataprep.demo_data.long_scene import make_long_scene
from rgbpose_plugin.cli import report_errors


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--videos-per-class", type=int, default=20,
                   help="training-set videos per class (0: none, only --long-scenes)")
    p.add_argument("--min-frames", type=int, default=40, help="shortest video (frames)")
    p.add_argument("--max-frames", type=int, default=56, help="longest video (frames)")
    p.add_argument("--classes", nargs="+", default=None, metavar="NAME",
                   help="subset of classes, in label order (default: all): "
                        + " ".join(c.name for c in CLASSES))
    p.add_argument("--workers", type=int, default=None,
                   help="parallel processes (default: all CPU cores)")
    p.add_argument("--crf", type=int, default=23, help="x264 quality (lower = better)")
    p.add_argument("--preset", default="veryfast", help="x264 speed preset")
    p.add_argument("--long-scenes", type=int, default=0, metavar="N",
                   help="also write N long scenes with ground truth into OUT/long")
    p.add_argument("--long-duration", type=float, default=60.0, metavar="SECONDS",
                   help="length of each long scene")
    p.add_argument("--long-actors", type=int, default=1, choices=(1, 2),
                   help="actors per long scene (left and right when 2)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.time()
    if args.videos_per_class != 0:
        ann_file = make_demo_dataset(
            args.out, seed=args.seed, videos_per_class=args.videos_per_class,
            num_frames=(args.min_frames, args.max_frames), classes=args.classes,
            workers=args.workers, crf=args.crf, preset=args.preset, progress=True)
        print(f"wrote {ann_file} and its videos in {time.time() - start:.1f} s")
    for i in range(args.long_scenes):  # Seeds args.seed, +1, ...: keyed apart from training.
        video = make_long_scene(
            Path(args.out) / "long", seed=args.seed + i, classes=args.classes,
            actors=args.long_actors, duration_s=args.long_duration, crf=args.crf,
            preset=args.preset, progress=True)
        print(f"wrote {video} and its ground truth ({time.time() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main))
