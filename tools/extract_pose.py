#!/usr/bin/env python
"""Extract skeletons from videos into an annotation file (pyskl / mmaction2 format).

    python tools/extract_pose.py VIDEO_OR_DIR [...] --out ann.pkl \
        [--backend mediapipe|mmpose|rtmlib] [--mediapipe-model FILE_OR_URL] \
        [--labels labels.csv] [--label-map ntu60] \
        [--split-by COLUMN | --val-ratio 0.2 --seed 0] [--device cpu]

Exit status: 0 when every video was annotated, 1 when some failed (the file still holds
the others), 2 for bad arguments or inputs (nothing extracted). The logic lives in
rgbpose_dataprep.pose.
"""

from __future__ import annotations

import argparse
import logging
import sys

from rgbpose_dataprep.pose import available_pose_backends, backend_options, open_backend, plan_extraction
from rgbpose_dataprep.pose.job import add_label_arguments
from rgbpose_plugin.cli import report_errors


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="extract_pose.py",
        description="Extract COCO-17 skeletons from videos into a pyskl/mmaction2-style "
        "annotation pickle.",
    )
    p.add_argument("inputs", nargs="+", metavar="VIDEO_OR_DIR", help="video files or folders")
    p.add_argument("--out", required=True, help="annotation file to write (.pkl)")
    p.add_argument("--backend", default="mediapipe", choices=available_pose_backends())
    p.add_argument("--device", default="cpu", help="e.g. cpu, cuda:0 (mmpose, rtmlib)")
    p.add_argument("--recursive", action="store_true", help="search folders recursively")
    p.add_argument("--max-persons", type=int, default=2,
                   help="persons kept per video (default 2); for mediapipe also the most "
                   "persons a frame gives")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")

    add_label_arguments(p)

    m = p.add_argument_group("mmpose backend")
    m.add_argument("--det-config")
    m.add_argument("--det-checkpoint")
    m.add_argument("--pose-config")
    m.add_argument("--pose-checkpoint")
    m.add_argument("--det-score-thr", type=float, default=0.7, help="min box score (also rtmlib)")
    m.add_argument("--det-area-thr", type=float, default=1600.0,
                   help="min box area in px^2 (also rtmlib)")

    r = p.add_argument_group("rtmlib backend (models fetched on first use, or local files)")
    r.add_argument("--det-model", help="YOLOX person detector: .onnx/.zip file or URL")
    r.add_argument("--pose-model", help="COCO-17 RTMPose model: .onnx/.zip file or URL")
    r.add_argument("--rtmlib-mode", choices=["lightweight", "balanced", "performance"],
                   help="rtmlib's model set when --det-model/--pose-model are not given "
                   "(default balanced)")

    g = p.add_argument_group("mediapipe backend (Tasks PoseLandmarker, else legacy solutions.pose)")
    g.add_argument("--mediapipe-model", metavar="PATH_OR_URL",
                   help="PoseLandmarker .task bundle: file or URL (default $RGBPOSE_MEDIAPIPE_MODEL, "
                   "else Google's pose_landmarker_full.task, fetched once into the torch hub cache)")
    g.add_argument("--mediapipe-api", choices=["auto", "tasks", "legacy"],
                   help="which MediaPipe API to use (default auto: Tasks where it works)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(message)s")  # the backend's one-line notes (which API, ...)
    logging.getLogger("rgbpose_dataprep.pose").setLevel(logging.INFO)
    job = plan_extraction(args.inputs, recursive=args.recursive, labels_csv=args.labels,
                          label_map=args.label_map, split_by=args.split_by,
                          val_ratio=args.val_ratio, seed=args.seed)
    backend = open_backend(args.backend, **backend_options(args.backend, args.device, vars(args)))
    classes = job.write_class_names(args.out)
    if classes is not None:
        print(f"Class names (sorted, index = line number - 1) written to {classes}")
    with backend:
        result = job.run(args.out, backend, max_persons=args.max_persons,
                         progress=not args.no_progress)
    print(result.summary())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(report_errors(main))
