#!/usr/bin/env python
"""Late fusion of saved test results (TEST.SAVE_RESULTS_PATH files).

    python tools/fuse_scores.py rgb_only/test_results.pkl pose_only/test_results.pkl --weights 1 1

Each file contributes one stream: its only one, or the one named with --streams
(e.g. --streams rgb pose). Videos are matched by id; labels must agree.
"""

import argparse
import sys

from rgbpose_plugin.cli import report_errors
from rgbpose_plugin.engine.evaluation import align, load_results, score_metrics
from rgbpose_plugin.engine.logs import format_metrics_table
from rgbpose_plugin.scores import fuse, fusion_name


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="test_results.pkl files")
    parser.add_argument("--weights", type=float, nargs="+", help="one weight per file (default 1)")
    parser.add_argument("--streams", nargs="+", help="the stream to take from each file")
    args = parser.parse_args(argv)
    weights = args.weights or [1.0] * len(args.results)
    if len(weights) != len(args.results) or (args.streams and len(args.streams) != len(args.results)):
        parser.error("give one --weights value (and one --streams name) per results file")
    files = [load_results(p) for p in args.results]
    order, labels, scores = align(files, args.results)
    rows, chosen = {}, {}
    for i, (path, s) in enumerate(zip(args.results, scores)):
        stream = args.streams[i] if args.streams else None
        if stream is None and len(s) != 1:
            parser.error(f"{path} has streams {sorted(s)}: choose one with --streams")
        stream = stream or next(iter(s))
        if stream not in s:
            parser.error(f"{path} has no stream {stream!r} (it has {sorted(s)})")
        rows[f"[{i}] {stream}"] = score_metrics(s[stream], labels)
        chosen[f"[{i}] {stream}"] = s[stream]
    fused = fuse(chosen, dict(zip(chosen, weights)))
    rows["fused " + fusion_name(weights)] = score_metrics(fused, labels)
    print(f"{len(order)} videos in common")
    print(format_metrics_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main))
