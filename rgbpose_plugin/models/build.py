"""Config-driven model wrappers, registered under the names ``MODEL.MODEL_NAME`` takes.

| MODEL.MODEL_NAME | builder                 | input            | output             |
|------------------|-------------------------|------------------|--------------------|
| RGBPoseConv3D    | create_rgbpose_conv3d   | [rgb, heatmaps]  | {"rgb", "pose"}    |
| RGBSlowOnly      | create_rgb_slowonly     | [rgb]            | {"rgb"}            |
| PoseSlowOnly     | create_pose_slowonly    | [heatmaps]       | {"pose"}           |

The architecture comes from ``cfg.RGBPOSE.{RGB,POSE,FUSION}``, the class count from
``cfg.MODEL.NUM_CLASSES``; the config is read here and nowhere deeper. With
``RGBPOSE.HOST_MODE`` (a host project's config) the model gets the host's output shape
(one ``(N, C)`` tensor, :mod:`rgbpose_plugin.host.model_io`); its weights are the same.
"""

from __future__ import annotations

import torch.nn as nn
from fvcore.common.config import CfgNode

from ..registry import MODEL_REGISTRY, register_model
from .pathway import PathwaySpec
from .rgbpose_conv3d import create_pose_slowonly, create_rgb_slowonly, create_rgbpose_conv3d

__all__ = ["build_model", "pathway_spec", "model_streams"]

# Which streams (pathway inputs, in order) each registered model consumes.
MODEL_STREAMS = {
    "RGBPoseConv3D": ("rgb", "pose"),
    "RGBSlowOnly": ("rgb",),
    "PoseSlowOnly": ("pose",),
}


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


def model_streams(cfg: CfgNode) -> tuple:
    """The streams the configured model takes, e.g. ``("rgb", "pose")``."""
    name = cfg.MODEL.MODEL_NAME
    if name not in MODEL_STREAMS:
        raise KeyError(f"MODEL.MODEL_NAME {name!r} is not one of {sorted(MODEL_STREAMS)}")
    return MODEL_STREAMS[name]


def _temporal_ratio(cfg: CfgNode) -> int:
    ratio, rest = divmod(cfg.DATA.POSE_NUM_FRAMES, cfg.DATA.NUM_FRAMES)
    if rest:
        raise ValueError(
            f"DATA.POSE_NUM_FRAMES ({cfg.DATA.POSE_NUM_FRAMES}) must be a multiple of "
            f"DATA.NUM_FRAMES ({cfg.DATA.NUM_FRAMES}) for the lateral connections"
        )
    return ratio


def _for_caller(model: nn.Module, cfg: CfgNode) -> nn.Module:
    """The model as is, or speaking the host's language under RGBPOSE.HOST_MODE."""
    if not cfg.RGBPOSE.get("HOST_MODE", False):
        return model
    from ..host.model_io import attach_host_io  # the host layer builds on this module

    return attach_host_io(model, cfg)


@register_model("RGBPoseConv3D")
def build_rgbpose_conv3d(cfg: CfgNode) -> nn.Module:
    return _for_caller(create_rgbpose_conv3d(
        rgb_pathway=pathway_spec(cfg.RGBPOSE.RGB),
        pose_pathway=pathway_spec(cfg.RGBPOSE.POSE),
        fusion_rgb_stages=tuple(cfg.RGBPOSE.FUSION.RGB_STAGES),
        lateral_kernel_t=cfg.RGBPOSE.FUSION.KERNEL_T,
        temporal_ratio=_temporal_ratio(cfg),
        rgb_to_pose_ratio=cfg.RGBPOSE.FUSION.RGB_TO_POSE_RATIO,
        num_classes=cfg.MODEL.NUM_CLASSES,
        dropout_rate=cfg.MODEL.DROPOUT_RATE,
    ), cfg)


@register_model("RGBSlowOnly")
def build_rgb_slowonly(cfg: CfgNode) -> nn.Module:
    return _for_caller(create_rgb_slowonly(pathway=pathway_spec(cfg.RGBPOSE.RGB),
                                           num_classes=cfg.MODEL.NUM_CLASSES,
                                           dropout_rate=cfg.MODEL.DROPOUT_RATE), cfg)


@register_model("PoseSlowOnly")
def build_pose_slowonly(cfg: CfgNode) -> nn.Module:
    return _for_caller(create_pose_slowonly(pathway=pathway_spec(cfg.RGBPOSE.POSE),
                                            num_classes=cfg.MODEL.NUM_CLASSES,
                                            dropout_rate=cfg.MODEL.DROPOUT_RATE), cfg)


def build_model(cfg: CfgNode) -> nn.Module:
    """``MODEL_REGISTRY.get(cfg.MODEL.MODEL_NAME)(cfg)``, as PySlowFast builds models."""
    return MODEL_REGISTRY.get(cfg.MODEL.MODEL_NAME)(cfg)
