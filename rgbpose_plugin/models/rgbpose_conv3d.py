"""Builders for RGBPoseConv3D and its two single-stream stage-1 models.

Every model is a ``pytorchvideo.models.net.Net`` whose input is a list of pathway
tensors and whose output is a dict of logits per stream::

    [rgb (N,3,8,224,224), pose (N,17,32,56,56)]
      block 0      stems                [rgb stem,    pose stem   ]
      block 1      RGB stage 1          [rgb res2,    -           ]
      block 2      RGB 2 / pose 1       [rgb res3,    pose res3   ] + bilateral fusion
      block 3      RGB 3 / pose 2       [rgb res4,    pose res4   ] + bilateral fusion
      block 4      RGB 4 / pose 3       [rgb res5,    pose res5   ]
      block 5      head                 {"rgb": (N,C), "pose": (N,C)}

The pose pathway has fewer stages; its last stage lines up with the RGB pathway's last.
The single-stream models are the same structure with one pathway and no fusion, so
their weights map one-to-one onto the fused model's (see ``rgbpose_plugin.weights``).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import torch.nn as nn
from pytorchvideo.models.net import MultiPathWayWithFuse, Net

from .fusion import create_bilateral_fusion
from .head import MultiStreamHead
from .pathway import (
    POSE_SLOWONLY,
    RGB_SLOWONLY_R50,
    PathwaySpec,
    create_pathway_stages,
    create_pathway_stem,
)

__all__ = ["create_rgbpose_conv3d", "create_rgb_slowonly", "create_pose_slowonly"]


def _multipathway_block(blocks: Sequence[Optional[nn.Module]], fusion: Optional[nn.Module],
                        first: bool) -> MultiPathWayWithFuse:
    # pytorchvideo's MultiPathWayWithFuse wants a ModuleList-like list (not a tuple); a
    # None pathway passes its tensor through only with inplace=True, which rewrites the
    # input list: fine for lists made by earlier blocks, not for the caller's list.
    return MultiPathWayWithFuse(
        multipathway_blocks=nn.ModuleList(list(blocks)),
        multipathway_fusion=fusion,
        inplace=not first,
    )


def _single_pathway_net(spec: PathwaySpec, stream: str, num_classes: int,
                        dropout_rate: float) -> Net:
    blocks = [_multipathway_block([create_pathway_stem(spec)], None, first=True)]
    blocks += [_multipathway_block([stage], None, first=False)
               for stage in create_pathway_stages(spec)]
    head = MultiStreamHead(streams=[stream], in_channels=[spec.stage_out_channels(-1)],
                           num_classes=num_classes, dropout_rate=dropout_rate)
    return Net(blocks=nn.ModuleList(blocks + [head]))


def create_rgb_slowonly(*, pathway: PathwaySpec = RGB_SLOWONLY_R50, num_classes: int = 60,
                        dropout_rate: float = 0.5) -> Net:
    """Stage-1 RGB-only SlowOnly-R50: ``[rgb] -> {"rgb": logits}``."""
    return _single_pathway_net(pathway, "rgb", num_classes, dropout_rate)


def create_pose_slowonly(*, pathway: PathwaySpec = POSE_SLOWONLY, num_classes: int = 60,
                         dropout_rate: float = 0.5) -> Net:
    """Stage-1 pose-only SlowOnly (PoseC3D): ``[heatmaps] -> {"pose": logits}``."""
    return _single_pathway_net(pathway, "pose", num_classes, dropout_rate)


def _lateral_widths(rgb: PathwaySpec, pose: PathwaySpec, fusion_rgb_stages: Sequence[int],
                    rgb_to_pose_ratio: int) -> Dict[str, List[int]]:
    """Extra input channels per stage that the laterals add to each pathway."""
    offset = rgb.num_stages - pose.num_stages
    extra = {"rgb": [0] * rgb.num_stages, "pose": [0] * pose.num_stages}
    for s in fusion_rgb_stages:  # 1-based RGB stage after which features are exchanged
        p = s - offset  # 1-based aligned pose stage
        if not (1 <= p and s < rgb.num_stages and p < pose.num_stages):
            raise ValueError(
                f"cannot fuse after RGB stage {s}: the aligned pose stage {p} and both "
                f"next stages must exist ({rgb.num_stages} RGB / {pose.num_stages} pose)"
            )
        extra["rgb"][s] = pose.stage_out_channels(p - 1)
        extra["pose"][p] = rgb.stage_out_channels(s - 1) // rgb_to_pose_ratio
    return extra


def create_rgbpose_conv3d(
    *,
    rgb_pathway: PathwaySpec = RGB_SLOWONLY_R50,
    pose_pathway: PathwaySpec = POSE_SLOWONLY,
    fusion_rgb_stages: Sequence[int] = (2, 3),
    lateral_kernel_t: int = 7,
    temporal_ratio: int = 4,
    rgb_to_pose_ratio: int = 16,
    num_classes: int = 60,
    dropout_rate: float = 0.5,
) -> Net:
    """RGBPoseConv3D: two SlowOnly pathways with bilateral fusion and a two-stream head.

    ``[rgb (N,3,T,H,W), pose (N,K,aT,H/4,W/4)] -> {"rgb": (N,C), "pose": (N,C)}`` with
    ``a = temporal_ratio``. Defaults give the published NTU-60 model (36,147,928
    parameters).
    """
    extra = _lateral_widths(rgb_pathway, pose_pathway, fusion_rgb_stages, rgb_to_pose_ratio)
    rgb_stages = create_pathway_stages(rgb_pathway, extra["rgb"])
    pose_stages = create_pathway_stages(pose_pathway, extra["pose"])
    offset = rgb_pathway.num_stages - pose_pathway.num_stages

    blocks = [_multipathway_block(
        [create_pathway_stem(rgb_pathway), create_pathway_stem(pose_pathway)], None, first=True)]
    for i, rgb_stage in enumerate(rgb_stages):
        j = i - offset
        fusion = None
        if i + 1 in fusion_rgb_stages:
            fusion = create_bilateral_fusion(
                rgb_channels=rgb_pathway.stage_out_channels(i),
                pose_channels=pose_pathway.stage_out_channels(j),
                kernel_t=lateral_kernel_t, temporal_ratio=temporal_ratio,
                rgb_to_pose_ratio=rgb_to_pose_ratio,
            )
        pose_stage = pose_stages[j] if j >= 0 else None
        blocks.append(_multipathway_block([rgb_stage, pose_stage], fusion, first=False))
    head = MultiStreamHead(
        streams=["rgb", "pose"],
        in_channels=[rgb_pathway.stage_out_channels(-1), pose_pathway.stage_out_channels(-1)],
        num_classes=num_classes, dropout_rate=dropout_rate,
    )
    return Net(blocks=nn.ModuleList(blocks + [head]))
