"""One "SlowOnly" 3D-ResNet pathway, built from pytorchvideo blocks.

A pathway is a stem followed by bottleneck stages::

    input (N, C_in, T, H, W)
      -> stem: conv (1,7,7) -> BN -> ReLU -> max-pool (1,3,3)
      -> stage 1 .. stage S: bottleneck blocks, spatial stride on block 0's 3x3 conv
    output (N, 4 * inner[-1], T, H / total_stride, W / total_stride)

Time is never strided: the RGB and pose pathways keep their own frame rates (8 and 32
frames) and the lateral connections translate between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import torch.nn as nn
from pytorchvideo.models.resnet import create_bottleneck_block, create_res_stage
from pytorchvideo.models.stem import create_res_basic_stem

BOTTLENECK_EXPANSION = 4


@dataclass(frozen=True)
class PathwaySpec:
    """The shape of one pathway; the defaults are the RGB SlowOnly-R50 of the paper."""

    in_channels: int = 3
    stem_channels: int = 64
    stem_spatial_stride: int = 2
    pool_spatial_stride: int = 2
    stage_depths: Tuple[int, ...] = (3, 4, 6, 3)
    stage_inner_channels: Tuple[int, ...] = (64, 128, 256, 512)
    stage_spatial_strides: Tuple[int, ...] = (1, 2, 2, 2)
    # 1: each block's first conv is (3,1,1) (temporal), 0: (1,1,1).
    stage_inflate: Tuple[int, ...] = (0, 0, 1, 1)

    def __post_init__(self) -> None:
        n = len(self.stage_depths)
        for name in ("stage_inner_channels", "stage_spatial_strides", "stage_inflate"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"PathwaySpec.{name} has {len(getattr(self, name))} entries but "
                    f"stage_depths has {n}"
                )

    @property
    def num_stages(self) -> int:
        return len(self.stage_depths)

    def stage_out_channels(self, stage: int) -> int:
        """Output width of stage ``stage`` (0-based)."""
        return BOTTLENECK_EXPANSION * self.stage_inner_channels[stage]


# The two pathways of the published model (docs/design.md section 1).
RGB_SLOWONLY_R50 = PathwaySpec()
POSE_SLOWONLY = PathwaySpec(
    in_channels=17,
    stem_channels=32,
    stem_spatial_stride=1,
    pool_spatial_stride=1,
    stage_depths=(4, 6, 3),
    stage_inner_channels=(32, 64, 128),
    stage_spatial_strides=(2, 2, 2),
    stage_inflate=(0, 1, 1),
)


def create_pathway_stem(spec: PathwaySpec) -> nn.Module:
    """Conv (1,7,7) -> BN -> ReLU -> max-pool (1,3,3); only space is strided."""
    s, p = spec.stem_spatial_stride, spec.pool_spatial_stride
    return create_res_basic_stem(
        in_channels=spec.in_channels,
        out_channels=spec.stem_channels,
        conv_kernel_size=(1, 7, 7),
        conv_stride=(1, s, s),
        conv_padding=(0, 3, 3),
        pool_kernel_size=(1, 3, 3),
        pool_stride=(1, p, p),
        pool_padding=(0, 1, 1),
    )


def create_pathway_stages(spec: PathwaySpec, extra_in_channels: Sequence[int] = ()) -> List[nn.Module]:
    """The pathway's residual stages.

    ``extra_in_channels[i]`` widens stage ``i``'s input for lateral features that are
    concatenated after the pathway's own features (0 where there is no lateral).
    """
    extra = list(extra_in_channels) + [0] * (spec.num_stages - len(extra_in_channels))
    stages = []
    dim_in = spec.stem_channels
    for i in range(spec.num_stages):
        inner, stride = spec.stage_inner_channels[i], spec.stage_spatial_strides[i]
        inflate = bool(spec.stage_inflate[i])
        stages.append(_int_strides(
            create_res_stage(
                depth=spec.stage_depths[i],
                dim_in=dim_in + extra[i],
                dim_inner=inner,
                dim_out=spec.stage_out_channels(i),
                bottleneck=create_bottleneck_block,
                conv_a_kernel_size=(3, 1, 1) if inflate else (1, 1, 1),
                # pytorchvideo strides the shortcut by conv_a x conv_b stride: keep
                # conv_a at 1 so the shortcut matches the reference's (1, s, s).
                conv_a_stride=(1, 1, 1),
                conv_a_padding=(1, 0, 0) if inflate else (0, 0, 0),
                conv_b_kernel_size=(1, 3, 3),
                conv_b_stride=(1, stride, stride),
                conv_b_padding=(0, 1, 1),
            )
        ))
        dim_in = spec.stage_out_channels(i)
    return stages


def _int_strides(stage: nn.Module) -> nn.Module:
    """Plain-int conv strides: pytorchvideo computes the shortcut's as NumPy integers, which
    torch.compile's inductor cannot lower (``aten._local_scalar_dense`` on every shortcut)."""
    for module in stage.modules():
        if isinstance(module, nn.Conv3d):
            module.stride = tuple(int(s) for s in module.stride)
    return stage
