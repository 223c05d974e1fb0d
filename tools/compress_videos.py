#!/usr/bin/env python
"""Re-encode NTU RGB+D videos (1920x1080 ``*_rgb.avi``) to 960x540 H.264 ``<name>.mp4``.

    python tools/compress_videos.py SRC_DIR DST_DIR [--workers 8] [--height 540] [--crf 23]

SRC_DIR is searched recursively. Finished outputs are skipped, so an interrupted run can
be restarted; files that fail are listed at the end and the exit status is 1. A wrong
request (no SRC_DIR, no file matching --pattern in it, an odd --height) is one line
``error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from rgbpose_dataprep.compress import compress_videos, summarize
from rgbpose_plugin.cli import report_errors


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src_dir", help="folder with the source videos (searched recursively)")
    p.add_argument("dst_dir", help="output folder (flat)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="parallel processes (default: all CPU cores)")
    p.add_argument("--height", type=int, default=540, help="output height (even)")
    p.add_argument("--crf", type=int, default=23, help="x264 quality (lower = better)")
    p.add_argument("--preset", default="medium", help="x264 speed preset")
    p.add_argument("--pattern", default="*_rgb.avi", help="source file glob")
    p.add_argument("--strip-suffix", default="_rgb",
                   help="removed from the source name to make <frame_dir>.mp4")
    p.add_argument("--allow-frame-mismatch", action="store_true",
                   help="accept files that decode fewer frames than their header says")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    results = compress_videos(
        args.src_dir, args.dst_dir, workers=args.workers, height=args.height,
        crf=args.crf, preset=args.preset, pattern=args.pattern,
        strip_suffix=args.strip_suffix, allow_frame_mismatch=args.allow_frame_mismatch)
    print(summarize(results))
    return 1 if any(r.status == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(report_errors(main))
