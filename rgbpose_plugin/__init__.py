"""rgbpose-plugin: RGBPoseConv3D (RGB + 2D-skeleton action recognition) for PyTorchVideo.

Importing the package registers its models and datasets in
:data:`rgbpose_plugin.registry.MODEL_REGISTRY` / ``DATASET_REGISTRY`` and, inside a
PySlowFast-style project, in the host's registries too, with the ``rgbpose_ce`` loss in
the host's loss table (:mod:`rgbpose_plugin.host`).
"""

import warnings

# fvcore.nn (imported by pytorchvideo.models) calls torch.jit.script at import time, which
# current torch deprecates with a FutureWarning on every start; it is not ours to fix.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated",
                        category=FutureWarning)

from . import (
                        data,  # noqa: F401  (registers the datasets)
                        host,  # noqa: F401  (adapters for a PySlowFast host, its rgbpose_ce loss)
)
from .config import add_rgbpose_config, get_cfg, load_cfg
from .models import (
                        build_model,
                        create_pose_slowonly,
                        create_rgb_slowonly,
                        create_rgbpose_conv3d,
)
from .registry import DATASET_REGISTRY, MODEL_REGISTRY

__version__ = "0.1.0"

__all__ = [
    "DATASET_REGISTRY",
    "MODEL_REGISTRY",
    "add_rgbpose_config",
    "build_model",
    "create_pose_slowonly",
    "create_rgb_slowonly",
    "create_rgbpose_conv3d",
    "get_cfg",
    "load_cfg",
]
