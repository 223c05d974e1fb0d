#!/usr/bin/env python
"""Turn skeletons made by another tool into an annotation file (pyskl / mmaction2 format).

    python tools/import_skeletons.py SKELETONS_FILE_OR_DIR [...] --out ann.pkl \
        --format coco|openpose|mmpose|rtmlib|numpy (--videos DIR | --size WxH) \
        [--labels labels.csv] [--label-map ntu60] [--split-by COLUMN | --val-ratio 0.2 --seed 0]

Skeleton files are matched to videos (and to the labels CSV) by file stem. Exit status:
0 when every file was imported, 1 when some failed (the file still holds the others), 2
for bad arguments or inputs (nothing imported). The logic lives in
rgbpose_dataprep.importers; labels and splits are those of tools/extract_pose.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Tuple

from rgbpose_dataprep.importers import FORMATS, create_reader, find_sources, import_skeletons
from rgbpose_dataprep.pose import find_videos
from rgbpose_dataprep.pose.job import add_label_arguments, plan_labels
from rgbpose_plugin.cli import report_errors
from rgbpose_plugin.errors import DataPrepError

# Labels CSV rows are matched to skeleton sources by stem, as to videos; this suffix keeps
# a stem with dots whole when the shared checks take Path(...).stem.
_STEM_SUFFIX = ".skeletons"


def frame_size(text: str) -> Tuple[int, int]:
    """An argparse ``type``: ``WxH`` as (W, H)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1920x1080, "
                                         f"got {text!r}") from None
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"the size must be positive, got {text!r}")
    return width, height


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="import_skeletons.py",
        description="Import COCO-17 skeletons from other tools into a pyskl/mmaction2-style "
        "annotation pickle (docs/data_preparation.md, 'Skeletons from other tools').",
    )
    p.add_argument("inputs", nargs="+", metavar="SKELETONS_FILE_OR_DIR",
                   help="skeleton files or folders of them")
    p.add_argument("--out", required=True, help="annotation file to write (.pkl)")
    p.add_argument("--format", required=True, choices=sorted(FORMATS), help="skeleton format")
    p.add_argument("--videos", metavar="DIR",
                   help="the videos (matched by stem): frame counts and sizes are checked")
    p.add_argument("--size", type=frame_size, metavar="WxH",
                   help="frame size when there are no --videos (img_shape, normalised keypoints)")
    p.add_argument("--frame-offset", type=int, default=None,
                   help="frame = id - offset (coco: image_id, default 0; mmpose: frame_id, "
                        "default 1)")
    p.add_argument("--recursive", action="store_true", help="search folders recursively")
    p.add_argument("--max-persons", type=int, default=2, help="persons kept per video (default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    add_label_arguments(p)
    return p


def _videos(folder: Optional[str], recursive: bool):
    if folder is None:
        return None
    if not Path(folder).is_dir():
        raise DataPrepError(f"--videos {folder}: no such folder; give the folder of the videos")
    try:
        return {v.stem: v for v in find_videos([folder], recursive=recursive)}
    except (OSError, ValueError) as err:
        raise DataPrepError(f"--videos: {err}") from err


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.max_persons < 1:
        raise DataPrepError(f"--max-persons must be >= 1, got {args.max_persons}")
    try:
        reader = create_reader(args.format, args.frame_offset)
        sources = find_sources(args.inputs, reader, recursive=args.recursive)
    except (OSError, ValueError, KeyError) as err:
        raise DataPrepError(str(err)) from err
    videos = _videos(args.videos, args.recursive)
    job = plan_labels([Path(stem + _STEM_SUFFIX) for stem in sources], labels_csv=args.labels,
                      label_map=args.label_map, split_by=args.split_by,
                      val_ratio=args.val_ratio, seed=args.seed)
    result = import_skeletons(sources, args.out, reader, videos=videos, size=args.size,
                              labels=job.labels, splits=job.splits,
                              max_persons=args.max_persons, progress=not args.no_progress)
    if not result.num_annotations:
        messages = list(result.failed.values()) or ["no skeletons found"]
        more = f" (and {len(messages) - 1} more failed files)" if len(messages) > 1 else ""
        raise DataPrepError(f"nothing imported: {messages[0]}{more}")
    classes = job.write_class_names(args.out)
    if classes is not None:
        print(f"Class names (sorted, index = line number - 1) written to {classes}")
    print(result.summary())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(report_errors(main))
