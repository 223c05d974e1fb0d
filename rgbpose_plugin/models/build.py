"""Config-driven model builders, registered under the names ``MODEL.MODEL_NAME`` takes.

| MODEL.MODEL_NAME | builder                 | input            | output             |
|------------------|-------------------------|------------------|--------------------|
| RGBPoseConv3D    | create_rgbpose_conv3d   | [rgb, heatmaps]  | {"rgb", "pose"}    |
| RGBSlowOnly      | create_rgb_slowonly     | [rgb]            | {"rgb"}            |
| PoseSlowOnly     | create_pose_slowonly    | [heatmaps]       | {"pose"}           |

The kinds themselves (names, streams, datasets) are :mod:`rgbpose_plugin.model_kinds`;
this module holds one builder per kind and registers it under the kind's name. The
architecture comes from ``cfg.RGBPOSE.{RGB,POSE,FUSION}``, the class count from
``cfg.MODEL.NUM_CLASSES``; the config is read here and nowhere deeper. A PySlowFast host
gets these builders with the host's output shape added (:mod:`rgbpose_plugin.host`).
"""

from __future__ import annotations

from typing import Tuple

import torch.nn as nn
from fvcore.common.config import CfgNode

from ..config.checks import frame_ratio
from ..model_kinds import kind_by_key, model_kind
from ..registry import MODEL_REGISTRY, register_model
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


@register_model(kind_by_key("rgbpose").name)
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


@register_model(kind_by_key("rgb").name)
def build_rgb_slowonly(cfg: CfgNode) -> nn.Module:
    return create_rgb_slowonly(pathway=pathway_spec(cfg.RGBPOSE.RGB),
                               num_classes=cfg.MODEL.NUM_CLASSES,
                               dropout_rate=cfg.MODEL.DROPOUT_RATE)


@register_model(kind_by_key("pose").name)
def build_pose_slowonly(cfg: CfgNode) -> nn.Module:
    return create_pose_slowonly(pathway=pathway_spec(cfg.RGBPOSE.POSE),
                                num_classes=cfg.MODEL.NUM_CLASSES,
                                dropout_rate=cfg.MODEL.DROPOUT_RATE)


def build_model(cfg: CfgNode) -> nn.Module:
    """``MODEL_REGISTRY.get(cfg.MODEL.MODEL_NAME)(cfg)``, as PySlowFast builds models."""
    model_kind(cfg.MODEL.MODEL_NAME)  # an unknown name fails naming the key
    return MODEL_REGISTRY.get(cfg.MODEL.MODEL_NAME)(cfg)
