"""Command line of ``tools/extract_pose.py``: videos in, annotation file out.

Exit status: 0 when every video was annotated, 1 when some failed (the file still holds
the others), 2 for bad arguments or inputs (nothing extracted).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List, Optional

from ..labels import load_label_map
from .base import available_pose_backends, create_pose_backend
from .extract import check_labelled_videos_exist, check_labels_cover, extract_annotations, find_videos
from .metadata import LabelTable, read_labels_csv, split_by_column, split_by_ratio

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="extract_pose.py",
        description="Extract COCO-17 skeletons from videos into a pyskl/mmaction2-style "
        "annotation pickle.",
    )
    p.add_argument("inputs", nargs="+", metavar="VIDEO_OR_DIR", help="video files or folders")
    p.add_argument("--out", required=True, help="annotation file to write (.pkl)")
    p.add_argument("--backend", default="mediapipe", choices=available_pose_backends())
    p.add_argument("--device", default="cpu", help="e.g. cpu, cuda:0 (mmpose only)")
    p.add_argument("--recursive", action="store_true", help="search folders recursively")
    p.add_argument("--max-persons", type=int, default=2, help="persons kept per video (default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")

    g = p.add_argument_group("labels and splits")
    g.add_argument("--labels", help="CSV with columns video,label[,...]; without it labels are -1")
    g.add_argument("--label-map", help="ntu60, ntu120, or a .txt/.csv of class names")
    s = g.add_mutually_exclusive_group()
    s.add_argument("--split-by", metavar="COLUMN", help="split by this column of --labels")
    s.add_argument("--val-ratio", type=float, help="seeded stratified train/val split")
    g.add_argument("--seed", type=int, default=0, help="seed of --val-ratio (default 0)")

    m = p.add_argument_group("mmpose backend")
    m.add_argument("--det-config")
    m.add_argument("--det-checkpoint")
    m.add_argument("--pose-config")
    m.add_argument("--pose-checkpoint")
    m.add_argument("--det-score-thr", type=float, default=0.7)
    m.add_argument("--det-area-thr", type=float, default=1600.0)
    return p


def _backend_kwargs(args: argparse.Namespace) -> dict:
    if args.backend == "mmpose":
        return dict(
            det_config=args.det_config, det_checkpoint=args.det_checkpoint,
            pose_config=args.pose_config, pose_checkpoint=args.pose_checkpoint,
            det_score_thr=args.det_score_thr, det_area_thr=args.det_area_thr,
            device=args.device,
        )
    return dict(device=args.device)


def _splits(args, table: Optional[LabelTable], stems: List[str]) -> Dict[str, List[str]]:
    if args.split_by:
        if table is None:
            raise ValueError("--split-by needs --labels (the column is read from it)")
        return split_by_column(table, args.split_by)
    if args.val_ratio is not None:
        labels = table.labels if table is not None else None
        return split_by_ratio(stems, labels, args.val_ratio, args.seed)
    return {"all": sorted(stems)}


def _write_derived_classes(out: Path, table: LabelTable) -> None:
    classes = out.with_suffix(".labels.txt")
    classes.parent.mkdir(parents=True, exist_ok=True)
    classes.write_text("\n".join(table.class_names) + "\n", encoding="utf-8")
    print(f"Class names (sorted, index = line number - 1) written to {classes}")


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    try:
        videos = find_videos(args.inputs, recursive=args.recursive)
        class_names = load_label_map(args.label_map) if args.label_map else None
        table = read_labels_csv(args.labels, class_names) if args.labels else None
        check_labels_cover(videos, table.labels if table is not None else None)
        if table is not None:
            check_labelled_videos_exist(videos, table.labels, args.labels)
        splits = _splits(args, table, [v.stem for v in videos])
        backend = create_pose_backend(args.backend, **_backend_kwargs(args))
    except (OSError, ValueError, KeyError, ImportError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    if table is not None and table.derived_class_names:
        _write_derived_classes(out, table)
    with backend:
        result = extract_annotations(
            videos, out, backend,
            labels=table.labels if table is not None else None,
            splits=splits, max_persons=args.max_persons, progress=not args.no_progress,
        )
    print(result.summary())
    return 0 if result.ok else 1
