"""The model zoo: published RGBPoseConv3D checkpoints by name, converted on first use.

    from rgbpose_plugin.zoo import load_pretrained
    model = load_pretrained("ntu60_xsub")                  # NTU-60 classes, eval mode
    model = load_pretrained("ntu60_xsub", num_classes=10)  # new classifier, to finetune

``zoo_checkpoint(name)`` gives the path of the converted plugin checkpoint, which every
tool that takes a checkpoint accepts; ``"zoo:NAME"`` in such a setting means the same
(:func:`resolve_weights`). Names, files, the cache and the mirror: docs/zoo.md.
"""

from __future__ import annotations

import logging
from typing import Optional

import torch.nn as nn

from ..errors import ZooError, listed
from ..models import build_model
from ..weights import load_for_finetune
from ..weights.checkpoints import CheckpointError, load_checkpoint
from .catalog import CATALOG_ENV, ZooEntry, list_models
from .download import MIRROR_ENV, ensure_converted, remove_converted

__all__ = ["CATALOG_ENV", "MIRROR_ENV", "ZOO_PREFIX", "ZooEntry", "ZooError", "is_zoo_ref",
           "list_models", "load_pretrained", "resolve_weights", "zoo_checkpoint", "zoo_entry"]

logger = logging.getLogger(__name__)

ZOO_PREFIX = "zoo:"  # "zoo:NAME" wherever a checkpoint path is taken


def zoo_entry(name: str) -> ZooEntry:
    """The entry called ``name``; an unknown name raises :class:`ZooError` listing the
    known ones."""
    entries = list_models()
    for entry in entries:
        if entry.name == name:
            return entry
    raise ZooError(f"unknown zoo model {name!r}; known: {listed([e.name for e in entries])}"
                   f" (add your own with {CATALOG_ENV})")


def zoo_checkpoint(name: str, *, mirror: Optional[str] = None,
                   progress: Optional[bool] = None) -> str:
    """The local path of the converted plugin checkpoint of zoo model ``name``.

    The first use downloads the published file (from ``mirror`` or ``$RGBPOSE_ZOO_MIRROR``
    if given) and converts it; later uses read the cache only. ``progress`` defaults to
    a progress bar when stderr is a terminal.
    """
    return ensure_converted(zoo_entry(name), mirror=mirror, progress=progress)


def is_zoo_ref(value: str) -> bool:
    """True for ``"zoo:NAME"``."""
    return isinstance(value, str) and value.startswith(ZOO_PREFIX)


def resolve_weights(value: str, **kw) -> str:
    """``"zoo:NAME"`` -> :func:`zoo_checkpoint` (``kw`` passed on); anything else as is."""
    return zoo_checkpoint(value[len(ZOO_PREFIX):], **kw) if is_zoo_ref(value) else value


def _load_zoo_checkpoint(entry: ZooEntry, **kw) -> dict:
    """The converted checkpoint, converted again once if the cached file does not load."""
    path = ensure_converted(entry, **kw)
    try:
        return load_checkpoint(path)
    except CheckpointError as err:
        remove_converted(path, f"it does not load: {err}")
    return load_checkpoint(ensure_converted(entry, **kw))


def load_pretrained(name: str, *, num_classes: Optional[int] = None, **kw) -> nn.Module:
    """Zoo model ``name`` with its weights, in eval mode.

    With ``num_classes`` other than the entry's, the classifier is new (the model's own
    initialisation) and everything else is the zoo's; a log line names the new tensors.
    ``kw``: ``mirror``, ``progress`` (:func:`zoo_checkpoint`).
    """
    entry = zoo_entry(name)
    checkpoint = _load_zoo_checkpoint(entry, **kw)
    cfg = entry.config()
    own = cfg.MODEL.NUM_CLASSES
    if num_classes is not None:
        cfg.MODEL.NUM_CLASSES = int(num_classes)
    model = build_model(cfg)
    fresh = load_for_finetune(model, checkpoint["model_state"], f"zoo model {name!r}")
    if fresh:
        logger.warning("zoo model %r: %d classes instead of %d; re-initialised %s", name,
                       cfg.MODEL.NUM_CLASSES, own, ", ".join(fresh))
    return model.eval()
