"""Which class names to print: a label map the user names, or the one beside the data.

Order of precedence:

1. ``--labels``: ``ntu60``, ``ntu120`` or a ``.txt`` / ``.csv`` file
   (:func:`rgbpose_plugin.labels.load_label_map`);
2. a label file next to the training annotation file of the config (``DATA.ANN_FILE``):
   ``<ann>.labels.txt`` (written by ``tools/extract_pose.py``), ``labels.txt`` or
   ``labels.csv`` in its folder (``labels.txt`` is what ``tools/make_demo_data.py`` writes);
3. class indices ("class 0", "class 1", ...).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Optional, Tuple

from ..errors import ConfigError, UserError
from . import load_label_map

__all__ = ["LabelMapError", "check_num_classes", "label_files_near", "resolve_class_names"]

logger = logging.getLogger(__name__)


class LabelMapError(UserError, ValueError):
    """A label map the user named cannot be read or does not fit the model."""


def label_files_near(ann_file: str) -> List[Path]:
    """Label files that may sit beside the annotation file ``ann_file``, best first."""
    if not ann_file or "://" in ann_file:
        return []
    ann = Path(ann_file)
    return [ann.with_suffix(".labels.txt"), ann.parent / "labels.txt", ann.parent / "labels.csv"]


def resolve_class_names(labels: Optional[str], ann_file: str, num_classes: int
                        ) -> Tuple[List[str], str]:
    """``(names, source)``: ``num_classes`` names and where they came from."""
    if labels:
        try:
            names = load_label_map(labels)
        except (OSError, ValueError) as err:
            raise LabelMapError(str(err)) from err
        if len(names) != num_classes:
            raise LabelMapError(f"label map {labels} has {len(names)} class names but the "
                                 f"model has {num_classes} classes (MODEL.NUM_CLASSES)")
        return names, str(labels)
    for candidate in label_files_near(ann_file):
        if not candidate.is_file():
            continue
        try:
            names = load_label_map(candidate)
        except ValueError as err:  # a stray file should not stop the demo
            logger.warning("ignoring label file %s: %s", candidate, err)
            continue
        if len(names) == num_classes:
            return names, str(candidate)
        logger.warning("ignoring label file %s: %d names for %d classes", candidate,
                       len(names), num_classes)
    return [f"class {i}" for i in range(num_classes)], "class indices"


def check_num_classes(ann_file: str, num_classes: int) -> None:
    """Raise :class:`ConfigError` when the label map beside ``ann_file`` (the first of
    :func:`label_files_near` that exists) names another number of classes than
    ``MODEL.NUM_CLASSES``: training would run with the wrong head and lose the names."""
    for candidate in label_files_near(ann_file):
        if not candidate.is_file():
            continue
        try:
            names = load_label_map(candidate)
        except ValueError as err:
            raise ConfigError(f"label map {candidate} (beside DATA.ANN_FILE) does not load: "
                              f"{err}") from err
        if len(names) != num_classes:
            raise ConfigError(
                f"MODEL.NUM_CLASSES is {num_classes} but the label map {candidate} of "
                f"DATA.ANN_FILE {ann_file} names {len(names)} classes; set MODEL.NUM_CLASSES: "
                f"{len(names)}")
        return
