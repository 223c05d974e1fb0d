#!/usr/bin/env python
"""Classify one video with a trained checkpoint: its top classes, a picture, an MP4.

    python tools/demo_net.py --checkpoint RUN_DIR|STAGE_DIR|CKPT|zoo:NAME --video VIDEO --out OUT_DIR \
        [--cfg CFG.yaml] [--skeleton ANN.pkl] [--labels ntu60|ntu120|FILE] [--views N] \
        [--backend mediapipe|mmpose|rtmlib ...] [--opts KEY VALUE ...]
    python tools/demo_net.py --model model.onnx --video VIDEO --out OUT_DIR ...   # exported
    python tools/demo_net.py --checkpoint CKPT --video LONG.mp4 --skeleton LONG.pkl --out OUT_DIR \
        --window SECONDS|auto [--stride SECONDS] [--min-score P] [--min-duration SECONDS] \
        [--per-person]
    python tools/demo_net.py --checkpoint CKPT --video -|rtsp://...|/dev/video0 --out OUT_DIR \
        [--live|--no-live] [--max-latency S] [--stall-timeout S]   # a stream, read once
    python tools/demo_net.py ... --video LONG.mp4 --stream ...   # a file read the same way

Writes OUT_DIR/prediction.png, prediction.mp4, prediction.json (and skeleton.pkl when
the skeleton was extracted). With --window or --stride (a long video): one line per
window, and OUT_DIR/segments.csv, timeline.json, timeline.png, timeline.mp4; with
--per-person each person slot of the skeleton (a tracked person) gets its own timeline,
on windows that show that person alone. A stream (- for standard input, a URL, a capture
device, or any video with --stream) is read once, its skeleton extracted as it goes, and
each window classified as soon as it is complete (no timeline.mp4). Exit status 2 for bad
input (missing video or checkpoint, a checkpoint that does not fit the config, a skeleton
file without the video, ...): the message names the file. Run with --help for every
option; the logic lives in rgbpose_plugin.inference (the timeline: its .timeline).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional

from rgbpose_dataprep.pose import available_pose_backends, backend_options
from rgbpose_plugin.cli import positive_int, report_errors
from rgbpose_plugin.inference import format_result, run_demo
from rgbpose_plugin.inference.timeline import (
    format_timeline,
    is_live_source,
    run_live_timeline,
    run_timeline,
)
from rgbpose_plugin.zoo import ZOO_PREFIX


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="demo_net.py",
        description="Classify one video with a trained RGBPoseConv3D (or rgb-only / pose-only) "
        "checkpoint; print the top-5 classes and write prediction.png, prediction.mp4 and "
        "prediction.json to --out.")
    weights = p.add_mutually_exclusive_group(required=True)
    weights.add_argument("--checkpoint",
                         help="a run folder of tools/run_net.py (its fused model), a stage folder "
                         "(the checkpoint its DONE.json names), a .pyth file or zoo:NAME")
    weights.add_argument("--pretrained", metavar="NAME",
                         help="a published model of the zoo, e.g. ntu60_xsub (the same as "
                         "--checkpoint zoo:NAME; downloaded and converted on first use)")
    weights.add_argument("--model", metavar="FILE",
                         help="an exported model (model.onnx, run by onnxruntime, or a TorchScript "
                         "file) with its model.json beside it (tools/export_model.py)")
    p.add_argument("--video", required=True, help="the video to classify")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--cfg", dest="cfg_file", default=None,
                   help="config YAML (default: the config stored in the checkpoint); a recipe "
                   "config is set to the checkpoint's stage, as tools/run_net.py tests it")
    p.add_argument("--skeleton", help="annotation file (.pkl) holding the video's skeleton "
                   "(matched by frame_dir = the video's file stem); default: extract it now")
    p.add_argument("--labels", help="class names: ntu60, ntu120, or a .txt/.csv file "
                   "(default: the names stored in the checkpoint, as zoo models have, else "
                   "labels.txt beside the config's DATA.ANN_FILE, else indices)")
    p.add_argument("--views", type=positive_int, help="test clips (default TEST.NUM_ENSEMBLE_VIEWS)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--topk", type=positive_int, default=5,
                   help="classes listed (default 5; all of them when the model has fewer)")
    p.add_argument("--no-video", action="store_true", help="skip the annotated MP4")
    p.add_argument("--video-size", type=positive_int, default=640,
                   help="longer side of the annotated MP4 in pixels (default 640)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no warnings")

    g = p.add_argument_group("skeleton extraction (without --skeleton)")
    g.add_argument("--backend", default="mediapipe", choices=available_pose_backends())
    g.add_argument("--max-persons", type=positive_int, default=2, help="persons kept (default 2)")
    g.add_argument("--pose-device", default="cpu",
                   help="device of the pose backend (mmpose, rtmlib: e.g. cuda:0; mediapipe: "
                   "cpu only)")
    g.add_argument("--det-config", help="mmpose: mmdet person detector config")
    g.add_argument("--det-checkpoint", help="mmpose: detector weights (file or URL)")
    g.add_argument("--pose-config", help="mmpose: top-down COCO-17 pose model config")
    g.add_argument("--pose-checkpoint", help="mmpose: pose model weights (file or URL)")
    g.add_argument("--det-score-thr", type=float, default=0.7, help="mmpose: min box score")
    g.add_argument("--det-area-thr", type=float, default=1600.0, help="mmpose: min box area (px^2)")
    g.add_argument("--det-model", help="rtmlib: YOLOX person detector, .onnx/.zip file or URL")
    g.add_argument("--pose-model", help="rtmlib: COCO-17 RTMPose model, .onnx/.zip file or URL")
    g.add_argument("--rtmlib-mode", choices=["lightweight", "balanced", "performance"],
                   help="rtmlib: model set fetched when --det-model/--pose-model are not given")
    g.add_argument("--mediapipe-model", metavar="PATH_OR_URL",
                   help="mediapipe: PoseLandmarker .task file or URL (default "
                   "$RGBPOSE_MEDIAPIPE_MODEL, else Google's, fetched once)")
    g.add_argument("--mediapipe-api", choices=["auto", "tasks", "legacy"],
                   help="mediapipe: which API (default auto: Tasks where it works)")
    t = p.add_argument_group("long videos: a timeline (on with --window, --stride or --per-person)")
    # SUPPRESS: absent unless given, which is what turns the timeline on.
    t.add_argument("--window", type=_seconds, default=argparse.SUPPRESS,
                   help="seconds per classified window, or auto: max(2, DATA.POSE_NUM_FRAMES / fps)")
    t.add_argument("--stride", type=_seconds, default=argparse.SUPPRESS,
                   help="seconds between window starts, or auto: half the window")
    t.add_argument("--min-score", type=float, default=0.5,
                   help="a window's fused top-1 probability needed for a label (default 0.5)")
    t.add_argument("--min-duration", type=float, default=0.0,
                   help="segments shorter than this many seconds are dropped (default 0)")
    t.add_argument("--per-person", action="store_true",
                   help="classify each person slot of the skeleton (a tracked person) on its "
                   "own: segments per track (default: the scene, everybody together)")
    t.add_argument("--stream", action="store_true",
                   help="read --video once, front to back, in three overlapping threads "
                   "(decode, skeleton extraction as it goes, model); always so for -, stream "
                   "URLs and /dev/video*")
    t.add_argument("--live", action=argparse.BooleanOptionalAction, default=None,
                   help="a stream: skip windows that are more than --max-latency behind "
                   "rather than fall behind (default: on for -, URLs and devices, off for files)")
    t.add_argument("--max-latency", type=float, default=None,
                   help="live: a window that ended more than this many seconds ago on the "
                   "stream's clock when the model is free is skipped (default: the window)")
    t.add_argument("--stall-timeout", type=float, default=10.0,
                   help="a stream that delivers no frame for this many seconds stops, "
                   "keeping what was written (default 10)")
    p.add_argument("--opts", nargs=argparse.REMAINDER, default=[],
                   help="config overrides KEY VALUE ... (last on the command line)")
    return p


def _seconds(text: str) -> Optional[float]:
    """A positive number of seconds, or None for "auto" (the default rule)."""
    if text == "auto":
        return None
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive or auto, got {text}")
    return value


def _streamed(args) -> bool:
    """Read --video once as a stream: asked for, or a source that can only be read that
    way (-, a URL, a capture device)."""
    return args.stream or bool(args.live) or is_live_source(args.video)


def _timeline(args) -> int:
    common = dict(
        skeleton=args.skeleton, window=getattr(args, "window", None),
        stride=getattr(args, "stride", None), min_score=args.min_score,
        min_duration=args.min_duration, labels=args.labels, views=args.views,
        device=args.device, topk=args.topk, echo=print, backend=args.backend,
        backend_options=backend_options(args.backend, args.pose_device, vars(args)),
        max_persons=args.max_persons, per_person=args.per_person, model_file=args.model,
        cfg_file=args.cfg_file, opts=args.opts)
    weights = ZOO_PREFIX + args.pretrained if args.pretrained else args.checkpoint
    if _streamed(args):
        result = run_live_timeline(weights, args.video, args.out,
                                   live=is_live_source(args.video) if args.live is None else args.live,
                                   max_latency=args.max_latency,
                                   stall_timeout=args.stall_timeout,
                                   **common)
    else:
        result = run_timeline(weights, args.video, args.out, progress=not args.quiet,
                              write_video=not args.no_video, video_size=args.video_size,
                              **common)
    print(format_timeline(result))
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR if args.quiet else logging.WARNING,
                        format="%(levelname)s: %(message)s")
    if "window" in vars(args) or "stride" in vars(args) or args.per_person or _streamed(args):
        return _timeline(args)
    result = run_demo(
        ZOO_PREFIX + args.pretrained if args.pretrained else args.checkpoint, args.video,
        args.out, model_file=args.model, cfg_file=args.cfg_file, opts=args.opts,
        skeleton=args.skeleton, labels=args.labels, views=args.views, backend=args.backend,
        backend_options=backend_options(args.backend, args.pose_device, vars(args)),
        max_persons=args.max_persons, device=args.device, topk=args.topk,
        write_video=not args.no_video, video_size=args.video_size, progress=not args.quiet)
    print(format_result(result, args.topk))
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main))
