"""Bilateral lateral connections between the RGB and pose pathways.

::

      rgb (N, Cr, T, H, W)                 pose (N, Cp, aT, H, W)
        |      \\                              /       |
        |   ConvTranspose3d (7,1,1) /(a,1,1)  Conv3d (7,1,1) stride (a,1,1)
        |   Cr -> Cr/16, BN, ReLU     \\      /   Cp -> Cp
        |                  \\          X          |
        |                   \\        / \\         |
      concat(rgb, pose->rgb)        concat(pose, rgb->pose)
      (N, Cr + Cp, T, H, W)         (N, Cp + Cr/16, aT, H, W)

Both laterals read the features *before* concatenation; each pathway keeps its own
features first and appends the lateral ones (the layout of the reference checkpoints).
``a`` is the temporal ratio between the pathways (4: 32 pose frames vs 8 RGB frames).
"""

from __future__ import annotations

from typing import List

import torch
import torch.nn as nn


class BilateralFusion(nn.Module):
    """Exchange features between ``[rgb, pose]`` and concatenate them."""

    def __init__(self, *, pose_to_rgb: nn.Module, rgb_to_pose: nn.Module) -> None:
        super().__init__()
        self.pose_to_rgb = pose_to_rgb
        self.rgb_to_pose = rgb_to_pose

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        rgb, pose = x
        to_rgb = self.pose_to_rgb(pose)
        to_pose = self.rgb_to_pose(rgb, output_size=pose.shape[2:])
        return [torch.cat([rgb, to_rgb], dim=1), torch.cat([pose, to_pose], dim=1)]


class RGBToPoseLateral(nn.Module):
    """Transposed temporal conv that upsamples RGB features to the pose frame rate."""

    def __init__(self, *, dim_in: int, dim_out: int, kernel_t: int, ratio: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose3d(
            dim_in, dim_out, kernel_size=(kernel_t, 1, 1), stride=(ratio, 1, 1),
            padding=(kernel_t // 2, 0, 0), bias=False,
        )
        self.bn = nn.BatchNorm3d(dim_out)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, output_size) -> torch.Tensor:
        # Without an explicit size the output has a*T - (a-1) frames, not a*T.
        x = self.conv(x, output_size=list(output_size))
        return self.relu(self.bn(x))


def create_bilateral_fusion(
    *, rgb_channels: int, pose_channels: int, kernel_t: int = 7, temporal_ratio: int = 4,
    rgb_to_pose_ratio: int = 16,
) -> BilateralFusion:
    """The fusion module after one RGB stage and its aligned pose stage.

    pose -> RGB: a strided temporal conv, no norm or activation (Cp -> Cp).
    RGB -> pose: a transposed temporal conv + BN + ReLU (Cr -> Cr / rgb_to_pose_ratio).
    """
    pose_to_rgb = nn.Conv3d(
        pose_channels, pose_channels, kernel_size=(kernel_t, 1, 1),
        stride=(temporal_ratio, 1, 1), padding=(kernel_t // 2, 0, 0), bias=False,
    )
    rgb_to_pose = RGBToPoseLateral(
        dim_in=rgb_channels, dim_out=rgb_channels // rgb_to_pose_ratio, kernel_t=kernel_t,
        ratio=temporal_ratio,
    )
    return BilateralFusion(pose_to_rgb=pose_to_rgb, rgb_to_pose=rgb_to_pose)
