"""Config-driven model builders, registered under the names ``MODEL.MODEL_NAME`` takes.

| MODEL.MODEL_NAME | builder                 | input            | output             |
|------------------|-------------------------|------------------|--------------------|
| RGBPoseConv3D    | create_rgbpose_conv3d   | [rgb, heatmaps]  | {"rgb", "pose"}    |
| RGBSlowOnly      | create_rgb_slowonly     | [rgb]            | {"rgb"}            |
| PoseSlowOnly     | create_pose_slowonly    | [heatmaps]       | {"pose"}           |

The kinds themselves (names, streams, datasets) are :mod:`rgbpose_plugin.model_kinds`;
this module holds one builder per kind and registers it under the kind's name. The
architecture comes from ``cfg.RGBPOSE.{RGB,POSE,FUSION}``, the class count from
``cfg.MODEL.NUM_CLASSES``; the config is read here and nowhere deeper. With
``RGBPOSE.HOST_MODE`` (a host project's config) the registered builder returns the model
with the host's output shape (one ``(N, C)`` tensor, :mod:`rgbpose_plugin.host`); its
weights are the same.
"""

from __future__ import annotations

import functools
from typing import Callable, Dict, Tuple

import torch.nn as nn
from fvcore.common.config import CfgNode

from ..config.checks import frame_ratio
from ..model_kinds import MODEL_KINDS, model_kind
from ..registry import MODEL_REGISTRY, for_caller, register_model
from .pathway import PathwaySpec
from .rgbpose_conv3d import create_pose_slowonly, create_rgb_slowonly, create_rgbpose_conv3d

__all__ = ["build_model", "pathway_spec", "model_streams"]


def pathway_spec(node: CfgNode) -> PathwaySpec:
    """A :class:`PathwaySpec` from a ``cfg.RGBPOSE.RGB`` / ``POSE`` node."""
    return PathwaySpec(
        in_channels=node.IN_CHANNELS,
        stem_channels=node.STEM_CHANNELS,
        stem_spatial_stride=node.STEM_SPATIAL_STRIDE,
        pool_spatial_stride=node.POOL_SPATIAL_STRIDE,
        stage_depths=tuple(node.STAGE_DEPTHS),
        stage_inner_channels=tuple(node.STAGE_INNER_CHANNELS),
        stage_spatial_strides=tuple(node.STAGE_SPATIAL_STRIDES),
        stage_inflate=tuple(node.STAGE_INFLATE),
    )


def model_streams(cfg: CfgNode) -> Tuple[str, ...]:
    """The streams the configured model takes, e.g. ``("rgb", "pose")``."""
    return model_kind(cfg.MODEL.MODEL_NAME).streams


def build_rgbpose_conv3d(cfg: CfgNode) -> nn.Module:
    return create_rgbpose_conv3d(
        rgb_pathway=pathway_spec(cfg.RGBPOSE.RGB),
        pose_pathway=pathway_spec(cfg.RGBPOSE.POSE),
        fusion_rgb_stages=tuple(cfg.RGBPOSE.FUSION.RGB_STAGES),
        lateral_kernel_t=cfg.RGBPOSE.FUSION.KERNEL_T,
        temporal_ratio=frame_ratio(cfg),
        rgb_to_pose_ratio=cfg.RGBPOSE.FUSION.RGB_TO_POSE_RATIO,
        num_classes=cfg.MODEL.NUM_CLASSES,
        dropout_rate=cfg.MODEL.DROPOUT_RATE,
    )


def build_rgb_slowonly(cfg: CfgNode) -> nn.Module:
    return create_rgb_slowonly(pathway=pathway_spec(cfg.RGBPOSE.RGB),
                               num_classes=cfg.MODEL.NUM_CLASSES,
                               dropout_rate=cfg.MODEL.DROPOUT_RATE)


def build_pose_slowonly(cfg: CfgNode) -> nn.Module:
    return create_pose_slowonly(pathway=pathway_spec(cfg.RGBPOSE.POSE),
                                num_classes=cfg.MODEL.NUM_CLASSES,
                                dropout_rate=cfg.MODEL.DROPOUT_RATE)


_BUILDERS: Dict[str, Callable[[CfgNode], nn.Module]] = {
    "rgbpose": build_rgbpose_conv3d, "rgb": build_rgb_slowonly, "pose": build_pose_slowonly}


def _registered(cfg: CfgNode, build: Callable[[CfgNode], nn.Module]) -> nn.Module:
    """What the registry builds: host-shaped outputs under RGBPOSE.HOST_MODE."""
    return for_caller("model", build(cfg), cfg)


for _kind in MODEL_KINDS:  # one builder per kind, registered under its MODEL_NAME
    register_model(_kind.name)(functools.partial(_registered, build=_BUILDERS[_kind.key]))


def build_model(cfg: CfgNode) -> nn.Module:
    """``MODEL_REGISTRY.get(cfg.MODEL.MODEL_NAME)(cfg)``, as PySlowFast builds models."""
    model_kind(cfg.MODEL.MODEL_NAME)  # an unknown name fails naming the key
    return MODEL_REGISTRY.get(cfg.MODEL.MODEL_NAME)(cfg)
