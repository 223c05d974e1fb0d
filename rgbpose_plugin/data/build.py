"""Datasets built from a config and registered under PySlowFast-style names.

``DATASET_REGISTRY.get(name.capitalize())(cfg, split)`` with ``split`` in train/val/test:

* ``Rgbpose``: RGB + pose heatmaps (inputs ``[rgb, pose]``), the fused model;
* ``Rgbpose_rgb``: RGB only (``[rgb]``), stage 1a;
* ``Rgbpose_pose``: pose heatmaps only (``[pose]``), stage 1b; no video is read.

With ``RGBPOSE.HOST_MODE`` (a host project's config) the registered builders return the
host-shaped view of the dataset (:mod:`rgbpose_plugin.host.dataset`).
"""

from __future__ import annotations

from torch.utils.data import Dataset

from ..registry import register_dataset
from .dataset import RGBPoseDataset

__all__ = ["build_dataset"]


def build_dataset(cfg, split: str, mode: str = "rgbpose") -> RGBPoseDataset:
    """The ``mode`` dataset (rgbpose / rgb / pose) of ``split`` (train / val / test)."""
    return RGBPoseDataset.from_cfg(cfg, split, mode)


def _for_caller(cfg, split: str, mode: str) -> Dataset:
    dataset = build_dataset(cfg, split, mode)
    if not cfg.RGBPOSE.get("HOST_MODE", False):
        return dataset
    from ..host.dataset import wrap_for_host  # the host layer builds on this package

    return wrap_for_host(dataset, cfg)


@register_dataset("Rgbpose")
def build_rgbpose(cfg, split: str) -> Dataset:
    """RGB frames and pose heatmaps: inputs ``[rgb, pose]``."""
    return _for_caller(cfg, split, "rgbpose")


@register_dataset("Rgbpose_rgb")
def build_rgbpose_rgb(cfg, split: str) -> Dataset:
    """RGB frames only: inputs ``[rgb]``."""
    return _for_caller(cfg, split, "rgb")


@register_dataset("Rgbpose_pose")
def build_rgbpose_pose(cfg, split: str) -> Dataset:
    """Pose heatmaps only: inputs ``[pose]``."""
    return _for_caller(cfg, split, "pose")
