"""Shared set-up of the MMAction2 tests (``test_mm_*.py``, marker ``mmaction``).

They run in the MMAction2 1.2.0 environment (``.venv-mmaction``, built by
``.ci/mmaction_env.sh``); ``tests/test_mmaction_suite.py`` starts them there from the
main suite. Elsewhere they skip, saying so.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

pytest.importorskip("mmaction", reason="MMAction2 is not in this environment: these tests "
                    "run in .venv-mmaction (tests/test_mmaction_suite.py starts them)")

from data_fixtures import make_annotation, make_video, write_annotation_file  # noqa: E402
from mmaction.utils import register_all_modules  # noqa: E402
from mmengine.config import Config  # noqa: E402

from rgbpose_plugin.mmaction import stock_config  # noqa: E402  (registers our transforms)

register_all_modules()

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs" / "mmaction2").glob("*_fast.py"))
RGBPOSE_FAST = ROOT / "configs" / "mmaction2" / "rgbpose_conv3d_fast.py"
VIDEO_HW = (180, 320)  # the generated clips; annotations are measured at twice this size


def load_config(path: Path) -> Config:
    """An MMAction2 config file (``_base_ = 'mmaction::...'`` resolves in the package)."""
    return Config.fromfile(str(path))


def base_config(path: Path) -> Config:
    """The stock config a ``*_fast.py`` file builds on (its ``_base_``)."""
    match = re.search(r"_base_ = 'mmaction::([^']+)'", path.read_text())
    assert match, f"{path}: no `_base_ = 'mmaction::...'` line"
    return stock_config(match.group(1))


def plain(pipeline) -> List[Dict]:
    """Transform dicts as plain dicts, without mmengine's ``_scope_`` tags."""
    return [{k: v for k, v in dict(step).items() if k != "_scope_"} for step in pipeline]


def make_clips(root: Path, num: int = 1, frames: int = 40, num_classes: int = 1
               ) -> Tuple[Path, Path]:
    """``num`` H.264 clips (320x180) with 2-person annotations measured at 640x360 (so
    decoders must rescale keypoints); returns (annotation file, video folder)."""
    videos = root / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    anns = []
    for i in range(num):
        name = f"clip{i:02d}"
        make_video(videos / f"{name}.mp4", width=VIDEO_HW[1], height=VIDEO_HW[0],
                   num_frames=frames + (i % 3))
        anns.append(make_annotation(name, frames + (i % 3), (2 * VIDEO_HW[0], 2 * VIDEO_HW[1]),
                                    label=i % num_classes, seed=i))
    return write_annotation_file(root / "ann.pkl", anns), videos


def dataset_cfg(cfg: Config, split: str, ann_file: Path, videos: Path) -> Dict:
    """The config's ``<split>_dataloader`` dataset, pointed at generated data."""
    ds = copy.deepcopy(cfg[f"{split}_dataloader"]["dataset"])
    ds = ds.get("dataset", ds) if ds.get("type") == "RepeatDataset" else ds
    ds.update(ann_file=str(ann_file), data_prefix=dict(video=str(videos)), split="all")
    return ds
