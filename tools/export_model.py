#!/usr/bin/env python
"""Export a trained checkpoint to ONNX or TorchScript, verified against PyTorch.

    python tools/export_model.py --checkpoint RUN_DIR|STAGE_DIR|CKPT|--pretrained NAME \
        --out model.onnx [--format onnx|torchscript] [--video V --skeleton ANN.pkl] [--batch N]

Writes the model file and model.json beside it (inputs, class names, preprocessing, the test
config), runs both on random inputs (and on the video's real test input) and prints the
largest difference per output and both median latencies. A difference over --tolerance
removes the files. Exit status 2 for bad input (a checkpoint that is not one of the three
model kinds, a missing file, onnxruntime not installed): the message names the file.
docs/export.md says how to use the files; the logic lives in rgbpose_plugin.export.
"""

from __future__ import annotations

import argparse
import sys

from rgbpose_plugin.cli import positive_int, report_errors
from rgbpose_plugin.export import FORMATS, export_checkpoint, format_report
from rgbpose_plugin.export.checkpoint_export import DEFAULT_TOLERANCE


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="export_model.py",
        description="Export an RGBPoseConv3D (or rgb-only / pose-only) checkpoint to ONNX or "
        "TorchScript, with model.json beside it, and verify it against PyTorch.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="a run folder of tools/run_net.py (its fused model), "
                        "a stage folder or a .pyth file")
    source.add_argument("--pretrained", metavar="NAME",
                        help="a model of the zoo (rgbpose_plugin.zoo), downloaded and converted once")
    p.add_argument("--out", required=True, help="the model file to write (model.onnx, model.pt); "
                   "model.json is written beside it")
    p.add_argument("--format", default="onnx", choices=FORMATS, help="default onnx")
    p.add_argument("--video", help="also verify on this video's real test input (all its views)")
    p.add_argument("--skeleton", help="annotation file (.pkl) with the video's skeleton")
    p.add_argument("--batch", type=positive_int, default=1,
                   help="clips of the random verification input (default 1)")
    p.add_argument("--runs", type=positive_int, default=3,
                   help="timed runs per latency median (default 3)")
    p.add_argument("--labels", help="class names for model.json: ntu60, ntu120, or a .txt/.csv "
                   "file (default: the names stored in the checkpoint, as zoo models have, else labels.txt "
                   "beside the config's DATA.ANN_FILE, else indices)")
    p.add_argument("--opset", type=positive_int, help="ONNX opset (default: the exporter's)")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                   help="largest |difference| allowed, times max(1, largest |logit|) "
                   f"(default {DEFAULT_TOLERANCE:g})")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.video is None) != (args.skeleton is None):
        parser.error("--video and --skeleton go together")
    checkpoint = args.checkpoint
    if args.pretrained:
        from rgbpose_plugin.zoo import zoo_checkpoint

        checkpoint = zoo_checkpoint(args.pretrained)
    report = export_checkpoint(checkpoint, args.out, args.format, video=args.video,
                               skeleton=args.skeleton, batch=args.batch, labels=args.labels,
                               opset=args.opset, runs=args.runs, tolerance=args.tolerance)
    print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main))
