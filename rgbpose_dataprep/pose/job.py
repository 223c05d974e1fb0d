"""One run of ``tools/extract_pose.py``: its inputs checked before any frame is decoded,
then the extraction.

:func:`plan_extraction` finds the videos and reads their labels and splits;
:func:`open_backend` builds the pose backend. Every problem they meet (a missing file, a
labels CSV that does not fit the videos, a label map that does not load, a backend
package or model file that is missing) is raised as
:class:`~rgbpose_plugin.errors.DataPrepError` naming the file, so a command line reports
it in one line and extracts nothing. Videos that fail during the extraction itself are
listed in the :class:`~.extract.ExtractionResult` instead.
"""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

from rgbpose_plugin.errors import DataPrepError
from rgbpose_plugin.labels import load_label_map

from .base import PoseBackend, create_pose_backend
from .extract import (
    ExtractionResult,
    check_labelled_videos_exist,
    check_labels_cover,
    extract_annotations,
    find_videos,
)
from .metadata import LabelTable, choose_splits, read_labels_csv

__all__ = ["ExtractionJob", "add_label_arguments", "open_backend", "plan_extraction", "plan_labels"]

# What bad inputs raise before the extraction starts (file and CSV checks, label maps,
# building a backend): each becomes a DataPrepError with the same message.
_INPUT_ERRORS = (OSError, ValueError, KeyError, ImportError, RuntimeError)


@contextlib.contextmanager
def _as_input_error() -> Iterator[None]:
    try:
        yield
    except DataPrepError:
        raise
    except _INPUT_ERRORS as err:
        raise DataPrepError(str(err)) from err


@dataclass
class ExtractionJob:
    """The videos to annotate, the labels CSV's table (None: every label is -1) and the
    splits (split name -> video stems)."""

    videos: List[Path]
    table: Optional[LabelTable]
    splits: Dict[str, List[str]]

    @property
    def labels(self) -> Optional[Dict[str, int]]:
        return self.table.labels if self.table is not None else None

    def write_class_names(self, out: Union[str, Path]) -> Optional[Path]:
        """Write ``<out>.labels.txt`` (one class per line, index = line number - 1) when
        the class names come from the labels CSV rather than a label map; return its path,
        or None when there is nothing to write."""
        if self.table is None or not self.table.derived_class_names:
            return None
        classes = Path(out).with_suffix(".labels.txt")
        classes.parent.mkdir(parents=True, exist_ok=True)
        classes.write_text("\n".join(self.table.class_names) + "\n", encoding="utf-8")
        return classes

    def run(self, out: Union[str, Path], backend: PoseBackend, *, max_persons: int = 2,
            progress: bool = True) -> ExtractionResult:
        """Extract every video with ``backend`` and write the annotation file ``out``."""
        return extract_annotations(self.videos, out, backend, labels=self.labels,
                                   splits=self.splits, max_persons=max_persons,
                                   progress=progress)


def plan_extraction(inputs: Sequence[Union[str, Path]], *, recursive: bool = False,
                    labels_csv: Optional[str] = None, label_map: Optional[str] = None,
                    split_by: Optional[str] = None, val_ratio: Optional[float] = None,
                    seed: int = 0) -> ExtractionJob:
    """The videos under ``inputs`` with the labels of ``labels_csv`` (class names looked up
    in ``label_map``: ntu60, ntu120 or a file) and splits by the CSV column ``split_by``
    or the seeded ``val_ratio``; checked so that every labelled video exists and every
    video has a label."""
    with _as_input_error():
        videos = find_videos(inputs, recursive=recursive)
    return plan_labels(videos, labels_csv=labels_csv, label_map=label_map, split_by=split_by,
                       val_ratio=val_ratio, seed=seed)


def add_label_arguments(parser: argparse.ArgumentParser) -> None:
    """The options :func:`plan_labels` takes, as ``tools/extract_pose.py`` and
    ``tools/import_skeletons.py`` both offer them."""
    g = parser.add_argument_group("labels and splits")
    g.add_argument("--labels", help="CSV with columns video,label[,...]; without it labels are -1")
    g.add_argument("--label-map", help="ntu60, ntu120, or a .txt/.csv of class names")
    s = g.add_mutually_exclusive_group()
    s.add_argument("--split-by", metavar="COLUMN", help="split by this column of --labels")
    s.add_argument("--val-ratio", type=float, help="seeded stratified train/val split")
    g.add_argument("--seed", type=int, default=0, help="seed of --val-ratio (default 0)")


def plan_labels(videos: Sequence[Union[str, Path]], *, labels_csv: Optional[str] = None,
                label_map: Optional[str] = None, split_by: Optional[str] = None,
                val_ratio: Optional[float] = None, seed: int = 0) -> ExtractionJob:
    """The job of :func:`plan_extraction` for ``videos`` already found: any source of
    annotations matched to the labels CSV by file stem (skeleton importers use it too)."""
    videos = [Path(v) for v in videos]
    with _as_input_error():
        class_names = load_label_map(label_map) if label_map else None
        table = read_labels_csv(labels_csv, class_names) if labels_csv else None
        check_labels_cover(videos, table.labels if table is not None else None)
        if table is not None:
            check_labelled_videos_exist(videos, table.labels, labels_csv)
        splits = choose_splits(table, [v.stem for v in videos], split_by=split_by,
                               val_ratio=val_ratio, seed=seed)
    return ExtractionJob(videos, table, splits)


def open_backend(name: str, **options: Any) -> PoseBackend:
    """``create_pose_backend(name, **options)``; an unknown name, a missing package or
    model file or an unusable device raises :class:`DataPrepError`."""
    with _as_input_error():
        return create_pose_backend(name, **options)
