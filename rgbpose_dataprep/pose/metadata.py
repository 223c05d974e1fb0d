"""Labels and splits for a folder of videos: the labels CSV and split rules.

The labels CSV has a header row with at least the columns ``video`` and ``label``:

* ``video``: the file name (or a path, or the bare stem); videos are matched by stem,
  which becomes the annotation's ``frame_dir``;
* ``label``: a class index (0-based) or a class name. Names are looked up in the label
  map when one is given; without one, the sorted distinct names become the classes.
* any other columns are kept, e.g. a ``split`` column for :func:`split_by_column`.

Splits map a split name to a list of ``frame_dir``: :func:`split_by_column` uses a CSV
column, :func:`split_by_ratio` draws a seeded, per-class (stratified) train/val split, and
:func:`choose_splits` picks one of them (or the single split ``"all"``).
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Union

from rgbpose_plugin.labels import is_int

__all__ = ["LabelTable", "choose_splits", "read_labels_csv", "split_by_column", "split_by_ratio"]


@dataclass
class LabelTable:
    """What a labels CSV says about each video (keys are video stems)."""

    labels: Dict[str, int]
    rows: Dict[str, Dict[str, str]] = field(default_factory=dict)
    # The classes the indices refer to: the label map's, or names derived from the CSV.
    class_names: Optional[List[str]] = None
    # True when class_names came from the CSV (sorted distinct names), not a label map.
    derived_class_names: bool = False


def read_labels_csv(
    path: Union[str, Path], class_names: Optional[List[str]] = None
) -> LabelTable:
    """Read a labels CSV (see the module docstring); errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labels CSV {str(path)!r} does not exist")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        if "video" not in columns or "label" not in columns:
            raise ValueError(
                f"labels CSV {str(path)!r}: the header must name the columns 'video' and "
                f"'label'; found {columns}"
            )
        reader.fieldnames = columns
        rows = {}
        line_of = {}
        for line_no, row in enumerate(reader, start=2):
            row = {k: (v or "").strip() for k, v in row.items() if k is not None}
            if not any(row.values()):
                continue
            stem = Path(row["video"]).stem
            if not stem:
                raise ValueError(f"labels CSV {str(path)!r}, line {line_no}: empty 'video'")
            if stem in rows:
                raise ValueError(
                    f"labels CSV {str(path)!r}: video {stem!r} appears on lines "
                    f"{line_of[stem]} and {line_no}"
                )
            rows[stem] = row
            line_of[stem] = line_no
    if not rows:
        raise ValueError(f"labels CSV {str(path)!r} has no rows")
    return _resolve_labels(path, rows, line_of, class_names)


def _resolve_labels(path, rows, line_of, class_names) -> LabelTable:
    raw = {stem: row["label"] for stem, row in rows.items()}
    where = {stem: f"labels CSV {str(path)!r}, line {line_of[stem]}" for stem in rows}
    for stem, value in raw.items():
        if not value:
            raise ValueError(f"{where[stem]}: video {stem!r} has an empty label")
    names_used = sorted({v for v in raw.values() if not is_int(v)})
    derived = False
    if class_names is None and names_used:
        if any(is_int(v) for v in raw.values()):
            raise ValueError(
                f"labels CSV {str(path)!r} mixes class indices and class names; give a "
                f"label map to resolve the names, or use one kind"
            )
        class_names, derived = names_used, True

    labels = {}
    for stem, value in raw.items():
        if is_int(value):
            index = int(value)
            limit = len(class_names) if class_names is not None else None
            if index < 0 or (limit is not None and index >= limit):
                bound = f"0..{limit - 1}" if limit is not None else ">= 0"
                raise ValueError(f"{where[stem]}: label {index} is outside {bound}")
        else:
            if value not in class_names:
                raise ValueError(
                    f"{where[stem]}: class name {value!r} is not in the label map "
                    f"({len(class_names)} classes, e.g. {class_names[:3]})"
                )
            index = class_names.index(value)
        labels[stem] = index
    return LabelTable(labels, rows, class_names, derived)


def split_by_column(table: LabelTable, column: str) -> Dict[str, List[str]]:
    """Group the videos by the value of ``column`` (e.g. ``train`` / ``val``)."""
    if not table.rows:
        raise ValueError("split by column needs a labels CSV")
    some_row = next(iter(table.rows.values()))
    if column not in some_row:
        raise ValueError(
            f"split column {column!r} is not in the labels CSV; columns: {list(some_row)}"
        )
    splits: Dict[str, List[str]] = defaultdict(list)
    for stem, row in table.rows.items():
        if not row[column]:
            raise ValueError(f"video {stem!r} has an empty {column!r} column in the labels CSV")
        splits[row[column]].append(stem)
    return {name: sorted(stems) for name, stems in sorted(splits.items())}


def split_by_ratio(
    stems: Iterable[str],
    labels: Optional[Dict[str, int]] = None,
    val_ratio: float = 0.2,
    seed: int = 0,
) -> Dict[str, List[str]]:
    """A seeded ``{"train": [...], "val": [...]}`` split.

    Within each class (all videos when ``labels`` is None) ``round(n * val_ratio)``
    videos go to ``val``, but a class keeps at least one training video. The same stems,
    labels, ratio and seed always give the same split.
    """
    if not 0.0 <= val_ratio < 1.0:
        raise ValueError(f"val_ratio must be in [0, 1), got {val_ratio}")
    groups: Dict[int, List[str]] = defaultdict(list)
    for stem in sorted(set(stems)):
        groups[labels[stem] if labels else -1].append(stem)
    rng = random.Random(seed)
    train, val = [], []
    for key in sorted(groups):
        members = groups[key][:]
        rng.shuffle(members)
        n_val = min(round(len(members) * val_ratio), len(members) - 1)
        val += members[:n_val]
        train += members[n_val:]
    return {"train": sorted(train), "val": sorted(val)}



def choose_splits(table: Optional[LabelTable], stems: Iterable[str], *,
                  split_by: Optional[str] = None, val_ratio: Optional[float] = None,
                  seed: int = 0) -> Dict[str, List[str]]:
    """The splits of ``stems``: by the column ``split_by`` of the labels CSV, by the seeded
    ``val_ratio`` (stratified by label when there is a ``table``), else one split ``"all"``."""
    if split_by:
        if table is None:
            raise ValueError("--split-by needs --labels (the column is read from it)")
        return split_by_column(table, split_by)
    if val_ratio is not None:
        return split_by_ratio(stems, table.labels if table is not None else None, val_ratio, seed)
    return {"all": sorted(stems)}
