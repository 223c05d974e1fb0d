"""Datasets built from a config and registered under PySlowFast-style names.

``DATASET_REGISTRY.get(name.capitalize())(cfg, split)`` with ``split`` in train/val/test;
one dataset per model kind (:mod:`rgbpose_plugin.model_kinds`), whose inputs are the
kind's streams:

* ``Rgbpose``: RGB + pose heatmaps (inputs ``[rgb, pose]``), the fused model;
* ``Rgbpose_rgb``: RGB only (``[rgb]``), stage 1a;
* ``Rgbpose_pose``: pose heatmaps only (``[pose]``), stage 1b; no video is read.

With ``RGBPOSE.HOST_MODE`` (a host project's config) the registered builders return the
host-shaped view of the dataset (:mod:`rgbpose_plugin.host.dataset`).
"""

from __future__ import annotations

import functools

from fvcore.common.config import CfgNode
from torch.utils.data import Dataset

from ..model_kinds import MODEL_KINDS
from ..registry import for_caller, register_dataset
from .dataset import RGBPoseDataset

__all__ = ["build_dataset"]


def build_dataset(cfg: CfgNode, split: str, mode: str = "rgbpose") -> RGBPoseDataset:
    """The ``mode`` dataset (a model kind's key) of ``split`` (train / val / test)."""
    return RGBPoseDataset.from_cfg(cfg, split, mode)


def _registered(cfg: CfgNode, split: str, mode: str) -> Dataset:
    """What the registry builds: host-shaped under RGBPOSE.HOST_MODE (rgbpose_plugin.host)."""
    return for_caller("dataset", build_dataset(cfg, split, mode), cfg)


for _kind in MODEL_KINDS:
    register_dataset(_kind.dataset_registry_name)(functools.partial(_registered, mode=_kind.key))
