"""Command line of ``tools/demo_net.py``: one video in, top-5 classes and pictures out.

Exit status: 0 on success, 2 for bad input (missing video or checkpoint, a checkpoint
that does not fit the config, a skeleton file without the video, ...): the message names
the file.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Dict, List, Optional

from ..errors import UserError
from ..pose import available_pose_backends
from .demo import format_top, run_demo

__all__ = ["build_parser", "main"]

# Errors caused by the user's input: printed as one line, exit status 2.
INPUT_ERRORS = (UserError, FileNotFoundError, ImportError)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="demo_net.py",
        description="Classify one video with a trained RGBPoseConv3D (or rgb-only / pose-only) "
        "checkpoint; print the top-5 classes and write prediction.png, prediction.mp4 and "
        "prediction.json to --out.")
    p.add_argument("--checkpoint", required=True,
                   help="a run folder of tools/run_net.py (its fused model), a stage folder "
                   "(the checkpoint its DONE.json names) or a .pyth file")
    p.add_argument("--video", required=True, help="the video to classify")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--cfg", dest="cfg_file", default=None,
                   help="config YAML (default: the config stored in the checkpoint); a recipe "
                   "config is set to the checkpoint's stage, as tools/run_net.py tests it")
    p.add_argument("--skeleton", help="annotation file (.pkl) holding the video's skeleton "
                   "(matched by frame_dir = the video's file stem); default: extract it now")
    p.add_argument("--labels", help="class names: ntu60, ntu120, or a .txt/.csv file "
                   "(default: labels.txt beside the config's DATA.ANN_FILE, else indices)")
    p.add_argument("--views", type=_positive_int, help="test clips (default TEST.NUM_ENSEMBLE_VIEWS)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--topk", type=_positive_int, default=5, help="classes listed (default 5)")
    p.add_argument("--no-video", action="store_true", help="skip the annotated MP4")
    p.add_argument("--video-size", type=_positive_int, default=640,
                   help="longer side of the annotated MP4 in pixels (default 640)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no warnings")

    g = p.add_argument_group("skeleton extraction (without --skeleton)")
    g.add_argument("--backend", default="mediapipe", choices=available_pose_backends())
    g.add_argument("--max-persons", type=_positive_int, default=2, help="persons kept (default 2)")
    g.add_argument("--pose-device", default="cpu", help="device of the mmpose models")
    g.add_argument("--det-config", help="mmpose: mmdet person detector config")
    g.add_argument("--det-checkpoint", help="mmpose: detector weights (file or URL)")
    g.add_argument("--pose-config", help="mmpose: top-down COCO-17 pose model config")
    g.add_argument("--pose-checkpoint", help="mmpose: pose model weights (file or URL)")
    g.add_argument("--det-score-thr", type=float, default=0.7, help="mmpose: min box score")
    g.add_argument("--det-area-thr", type=float, default=1600.0, help="mmpose: min box area (px^2)")
    p.add_argument("--opts", nargs=argparse.REMAINDER, default=[],
                   help="config overrides KEY VALUE ... (last on the command line)")
    return p


def backend_options(args: argparse.Namespace) -> Dict[str, Any]:
    """Keyword arguments of the chosen pose backend (mmpose: its model files)."""
    if args.backend == "mmpose":
        return dict(det_config=args.det_config, det_checkpoint=args.det_checkpoint,
                    pose_config=args.pose_config, pose_checkpoint=args.pose_checkpoint,
                    det_score_thr=args.det_score_thr, det_area_thr=args.det_area_thr,
                    device=args.pose_device)
    return {}


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR if args.quiet else logging.WARNING,
                        format="%(levelname)s: %(message)s")
    try:
        result = run_demo(
            args.checkpoint, args.video, args.out, cfg_file=args.cfg_file, opts=args.opts,
            skeleton=args.skeleton, labels=args.labels, views=args.views, backend=args.backend,
            backend_options=backend_options(args), max_persons=args.max_persons,
            device=args.device, topk=args.topk, write_video=not args.no_video,
            video_size=args.video_size, progress=not args.quiet)
    except INPUT_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_top(result.prediction, args.topk))
    truth = result.report["annotated_label"]
    if truth is not None:
        print(f"\nAnnotated label: {truth['name']}")
    print("\nWrote " + ", ".join(result.outputs.values()))
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
    print(f"Timings: {timings}")
    return 0
