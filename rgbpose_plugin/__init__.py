"""rgbpose-plugin: RGBPoseConv3D (RGB + 2D-skeleton action recognition) for PyTorchVideo.

Importing the package registers its models and datasets in
:data:`rgbpose_plugin.registry.MODEL_REGISTRY` / ``DATASET_REGISTRY`` (each builder where
it is defined: ``models/build.py``, ``data/build.py``) and, inside a PySlowFast-style
project, calls :func:`rgbpose_plugin.host.register_with_host`: the same parts in the
host's registries, host-shaped, and the ``rgbpose_ce`` loss in its loss table.
"""

import warnings

# fvcore.nn (imported by pytorchvideo.models) calls torch.jit.script at import time, which
# current torch deprecates with a FutureWarning on every start; it is not ours to fix.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated",
                        category=FutureWarning)

from .config import add_rgbpose_config, get_cfg, load_cfg
from .data import build_dataset
from .host import register_with_host
from .models import (
                        build_model,
                        create_pose_slowonly,
                        create_rgb_slowonly,
                        create_rgbpose_conv3d,
)
from .registry import DATASET_REGISTRY, MODEL_REGISTRY

register_with_host()  # a no-op outside a PySlowFast-style project

__version__ = "0.1.0"

__all__ = [
    "DATASET_REGISTRY",
    "MODEL_REGISTRY",
    "add_rgbpose_config",
    "build_dataset",
    "build_model",
    "create_pose_slowonly",
    "create_rgb_slowonly",
    "create_rgbpose_conv3d",
    "get_cfg",
    "load_cfg",
]
