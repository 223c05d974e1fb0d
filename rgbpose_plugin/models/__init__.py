"""RGBPoseConv3D and its single-stream stage-1 models, on pytorchvideo blocks."""

from .build import build_model, model_streams, pathway_spec
from .fusion import BilateralFusion, create_bilateral_fusion
from .head import MultiStreamHead
from .pathway import POSE_SLOWONLY, RGB_SLOWONLY_R50, PathwaySpec
from .rgbpose_conv3d import create_pose_slowonly, create_rgb_slowonly, create_rgbpose_conv3d

__all__ = [
    "BilateralFusion",
    "MultiStreamHead",
    "PathwaySpec",
    "POSE_SLOWONLY",
    "RGB_SLOWONLY_R50",
    "build_model",
    "create_bilateral_fusion",
    "create_pose_slowonly",
    "create_rgb_slowonly",
    "create_rgbpose_conv3d",
    "model_streams",
    "pathway_spec",
]
