"""The datasets, one per model kind, registered under the names TRAIN/TEST.DATASET take.

| TRAIN/TEST.DATASET | registered as | builder                     | inputs        |
|--------------------|---------------|-----------------------------|---------------|
| rgbpose            | Rgbpose       | build_rgbpose_dataset       | [rgb, pose]   |
| rgbpose_rgb        | Rgbpose_rgb   | build_rgb_dataset           | [rgb]         |
| rgbpose_pose       | Rgbpose_pose  | build_pose_dataset          | [pose]        |

The names come from :mod:`rgbpose_plugin.model_kinds`; the pose-only dataset reads no
video. ``split`` is train, val or test. A PySlowFast host gets these builders with its
item shape added (:mod:`rgbpose_plugin.host`).
"""

from __future__ import annotations

from fvcore.common.config import CfgNode
from torch.utils.data import Dataset

from ..model_kinds import kind_by_key
from ..registry import DATASET_REGISTRY, register_dataset
from .dataset import RGBPoseDataset

__all__ = ["build_dataset", "build_pose_dataset", "build_rgb_dataset", "build_rgbpose_dataset"]


@register_dataset(kind_by_key("rgbpose").dataset_registry_name)
def build_rgbpose_dataset(cfg: CfgNode, split: str) -> RGBPoseDataset:
    return RGBPoseDataset.from_cfg(cfg, split, "rgbpose")


@register_dataset(kind_by_key("rgb").dataset_registry_name)
def build_rgb_dataset(cfg: CfgNode, split: str) -> RGBPoseDataset:
    return RGBPoseDataset.from_cfg(cfg, split, "rgb")


@register_dataset(kind_by_key("pose").dataset_registry_name)
def build_pose_dataset(cfg: CfgNode, split: str) -> RGBPoseDataset:
    return RGBPoseDataset.from_cfg(cfg, split, "pose")


def build_dataset(cfg: CfgNode, split: str) -> Dataset:
    """The dataset TRAIN.DATASET (TEST.DATASET for the test split) names, looked up as
    PySlowFast does: ``DATASET_REGISTRY.get(name.capitalize())(cfg, split)``."""
    name = cfg.TEST.DATASET if split == "test" else cfg.TRAIN.DATASET
    return DATASET_REGISTRY.get(name.capitalize())(cfg, split)
