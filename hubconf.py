"""torch.hub entry points: RGBPoseConv3D and its two stage-1 models, NTU-60 weights.

    import torch
    model = torch.hub.load("<owner>/<repo>", "rgbpose_conv3d", pretrained=True)
    model = torch.hub.load("/path/to/checkout", "pose_slowonly", source="local",
                           pretrained=True, num_classes=10)   # new classifier, to finetune

Each entry point returns a ``torch.nn.Module``: in eval mode with the zoo's weights when
``pretrained``, else freshly initialised (train mode). Inputs are a list of clips, one per
stream, and the output a dict of logits, ``(N, num_classes)`` per stream:

* ``rgbpose_conv3d``: ``model([rgb, pose])`` -> ``{"rgb": ..., "pose": ...}``;
* ``rgb_slowonly``: ``model([rgb])`` -> ``{"rgb": ...}``;
* ``pose_slowonly``: ``model([pose])`` -> ``{"pose": ...}``;

with ``rgb`` frames ``(N, 3, 8, H, W)``, normalised with ImageNet's mean and std (224 x 224
in training; tested at 256, 224 for ``rgb_slowonly``), and ``pose`` keypoint heatmaps
``(N, 17, 32, h, w)`` (56 x 56 in training, 64 x 64 in testing; a quarter of the RGB size
in ``rgbpose_conv3d``). The data pipeline that makes them from a video and its skeletons
is ``rgbpose_plugin.data``; docs/zoo.md lists the models.

Extra keywords: ``name`` picks another zoo model of the same kind (an entry of your own
catalog, ``RGBPOSE_ZOO_CATALOG``), ``mirror`` a folder or URL holding the published files
(as ``RGBPOSE_ZOO_MIRROR``).
"""

from typing import Optional

import torch.nn as nn

dependencies = ["torch", "torchvision", "pytorchvideo", "fvcore", "iopath", "av", "numpy"]


def _zoo_model(default: str, kind: str, pretrained: bool, progress: bool,
               num_classes: Optional[int], name: Optional[str] = None,
               mirror: Optional[str] = None) -> nn.Module:
    from rgbpose_plugin.models import build_model
    from rgbpose_plugin.zoo import ZooError, load_pretrained, zoo_entry

    entry = zoo_entry(name or default)
    if entry.kind != kind:
        raise ZooError(f"zoo model {entry.name!r} is a {entry.kind} model; this entry point "
                       f"builds {kind} models")
    if pretrained:
        return load_pretrained(entry.name, num_classes=num_classes, mirror=mirror,
                               progress=progress)
    cfg = entry.config()
    cfg.MODEL.NUM_CLASSES = int(num_classes or cfg.MODEL.NUM_CLASSES)
    return build_model(cfg)


def rgbpose_conv3d(pretrained: bool = False, progress: bool = True,
                   num_classes: Optional[int] = None, **kwargs) -> nn.Module:
    """RGBPoseConv3D, ``model([rgb, pose]) -> {"rgb": logits, "pose": logits}``.

    ``pretrained``: the finetuned NTU-60 XSub model (zoo ``ntu60_xsub``). ``num_classes``:
    the classifier's size (default: the zoo model's, 60); another value starts a new
    classifier on the pretrained backbone. ``kwargs``: ``name``, ``mirror``.
    """
    return _zoo_model("ntu60_xsub", "rgbpose", pretrained, progress, num_classes, **kwargs)


def rgb_slowonly(pretrained: bool = False, progress: bool = True,
                 num_classes: Optional[int] = None, **kwargs) -> nn.Module:
    """The RGB-only SlowOnly-R50, ``model([rgb]) -> {"rgb": logits}``.

    ``pretrained``: the NTU-60 XSub stage-1 model (zoo ``ntu60_xsub_rgb_only``); the other
    arguments as :func:`rgbpose_conv3d`.
    """
    return _zoo_model("ntu60_xsub_rgb_only", "rgb", pretrained, progress, num_classes,
                      **kwargs)


def pose_slowonly(pretrained: bool = False, progress: bool = True,
                  num_classes: Optional[int] = None, **kwargs) -> nn.Module:
    """The pose-only SlowOnly (PoseC3D), ``model([pose]) -> {"pose": logits}``.

    ``pretrained``: the NTU-60 XSub stage-1 model (zoo ``ntu60_xsub_pose_only``); the other
    arguments as :func:`rgbpose_conv3d`.
    """
    return _zoo_model("ntu60_xsub_pose_only", "pose", pretrained, progress, num_classes,
                      **kwargs)
