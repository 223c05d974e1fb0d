"""Datasets built from a config and registered under PySlowFast-style names.

``DATASET_REGISTRY.get(name.capitalize())(cfg, split)`` with ``split`` in train/val/test:

* ``Rgbpose``: RGB + pose heatmaps (inputs ``[rgb, pose]``), the fused model;
* ``Rgbpose_rgb``: RGB only (``[rgb]``), stage 1a;
* ``Rgbpose_pose``: pose heatmaps only (``[pose]``), stage 1b; no video is read.
"""

from __future__ import annotations

from ..registry import register_dataset
from .dataset import RGBPoseDataset

__all__ = ["build_dataset"]


def build_dataset(cfg, split: str, mode: str = "rgbpose") -> RGBPoseDataset:
    """The ``mode`` dataset (rgbpose / rgb / pose) of ``split`` (train / val / test)."""
    return RGBPoseDataset.from_cfg(cfg, split, mode)


@register_dataset("Rgbpose")
def build_rgbpose(cfg, split: str) -> RGBPoseDataset:
    """RGB frames and pose heatmaps: inputs ``[rgb, pose]``."""
    return build_dataset(cfg, split, "rgbpose")


@register_dataset("Rgbpose_rgb")
def build_rgbpose_rgb(cfg, split: str) -> RGBPoseDataset:
    """RGB frames only: inputs ``[rgb]``."""
    return build_dataset(cfg, split, "rgb")


@register_dataset("Rgbpose_pose")
def build_rgbpose_pose(cfg, split: str) -> RGBPoseDataset:
    """Pose heatmaps only: inputs ``[pose]``."""
    return build_dataset(cfg, split, "pose")
