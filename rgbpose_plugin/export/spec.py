"""What an exported model takes and gives, and the JSON written beside it.

The exported network is the PyTorch model behind a thin wrapper (:class:`StreamOutputs`):
positional inputs named after the kind's streams (``rgb``, ``pose``, in the kind's order)
and one logits output per stream (``rgb_logits``, ``pose_logits``), batch dimension free.
The input shapes are those of the test pipeline of the config, read the way the pipeline
reads it (:class:`~rgbpose_plugin.data.DataOptions`), never written down by hand.

``model.json`` (beside ``model.onnx`` / ``model.pt``) holds everything another program
needs to feed the model and everything :func:`rgbpose_plugin.inference.load_exported`
needs to rebuild the test pipeline: the fields are listed in :func:`describe`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
from fvcore.common.config import CfgNode

from ..data import DataOptions, heatmap_size
from ..errors import UserError
from ..model_kinds import ModelKind, model_kind

__all__ = ["ExportError", "StreamOutputs", "describe", "input_shapes", "output_names",
           "random_inputs"]

BATCH = "N"  # the name of the free batch dimension in the file and the JSON


class ExportError(UserError, RuntimeError):
    """A model that cannot be exported, or an export that does not reproduce PyTorch;
    the message names the file."""


def input_shapes(cfg: CfgNode) -> Dict[str, Tuple[int, ...]]:
    """``{stream: (C, T, H, W)}`` of one test clip, in the kind's stream order.

    RGB: 3 x ``DATA.NUM_FRAMES`` x ``DATA.TEST_CROP_SIZE`` squared; pose: the heatmap
    channels (joints, then limbs) x ``DATA.POSE_NUM_FRAMES`` x the crop scaled by
    ``RGBPOSE.HEATMAP.SCALING``.
    """
    kind = model_kind(cfg.MODEL.MODEL_NAME)
    o = DataOptions.from_cfg(cfg, "test", kind.key)
    h, w = heatmap_size((o.test_size, o.test_size), o.heatmap_scaling)
    channels = o.layout.num_joints * o.with_kp + len(o.layout.limbs) * o.with_limb
    shapes = {"rgb": (3, o.num_frames, o.test_size, o.test_size),
              "pose": (channels, o.pose_num_frames, h, w)}
    return {s: shapes[s] for s in kind.streams}


def output_names(kind: ModelKind) -> List[str]:
    return [f"{s}_logits" for s in kind.streams]


def random_inputs(cfg: CfgNode, batch: int, seed: int = 0) -> List[torch.Tensor]:
    """Seeded inputs of the right shapes: normalised RGB ~ N(0, 1), heatmaps in [0, 1)."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    for stream, shape in input_shapes(cfg).items():
        draw = torch.randn if stream == "rgb" else torch.rand
        out.append(draw((batch, *shape), generator=generator))
    return out


class StreamOutputs(nn.Module):
    """``model(list) -> {stream: logits}`` as ``wrapper(*inputs) -> (logits, ...)``: the
    positional, tuple-valued form exporters need, streams in the kind's order."""

    def __init__(self, model: nn.Module, streams: Sequence[str]) -> None:
        super().__init__()
        self.model = model
        self.streams = tuple(streams)

    def forward(self, *inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        out = self.model(list(inputs))
        return tuple(out[s] for s in self.streams)


def _normalisation(cfg: CfgNode, streams: Sequence[str]) -> Dict[str, Any]:
    notes = {
        "rgb": {"what": "RGB frames (channel order R, G, B) as float32, scaled to 0-1 (x / 255), "
                        "minus mean, divided by std, per channel; the people's compact box, "
                        "resized to a square (the test pipeline)",
                "mean": [float(m) for m in cfg.DATA.MEAN], "std": [float(s) for s in cfg.DATA.STD],
                "scale": "0-1"},
        "pose": {"what": "pseudo-heatmaps in [0, 1]: per COCO-17 joint and frame, "
                         "score * exp(-d^2 / (2 sigma^2)), persons combined by maximum "
                         "(docs/design.md section 3); not normalised",
                 "sigma": float(cfg.RGBPOSE.HEATMAP.SIGMA),
                 "scaling": float(cfg.RGBPOSE.HEATMAP.SCALING)},
    }
    return {s: notes[s] for s in streams}


def describe(cfg: CfgNode, fmt: str, file_name: str, class_names: Sequence[str],
             extra: Dict[str, Any] | None = None) -> Dict[str, Any]:
    """The content of ``model.json``: the kind, model name and streams; the inputs (name,
    shape with the batch as ``"N"``, dtype) and outputs (name, stream, shape); the class
    names; the input preprocessing (``normalisation``); the test views per video; the
    versions that wrote it; and the full config (``cfg.dump()``), from which the same test
    pipeline is rebuilt. ``extra`` adds fields (opset, source checkpoint)."""
    kind = model_kind(cfg.MODEL.MODEL_NAME)
    if len(class_names) != int(cfg.MODEL.NUM_CLASSES):
        raise ExportError(f"{len(class_names)} class names for a model of "
                          f"{cfg.MODEL.NUM_CLASSES} classes (MODEL.NUM_CLASSES)")
    inputs = [{"name": s, "shape": [BATCH, *shape], "dtype": "float32"}
              for s, shape in input_shapes(cfg).items()]
    outputs = [{"name": n, "stream": s, "shape": [BATCH, int(cfg.MODEL.NUM_CLASSES)],
                "dtype": "float32", "what": "logits; a video's scores: softmax per view, mean over its views"}
               for s, n in zip(kind.streams, output_names(kind))]
    return {
        "format": fmt,
        "file": file_name,
        "kind": kind.key,
        "model_name": kind.name,
        "streams": list(kind.streams),
        "inputs": inputs,
        "outputs": outputs,
        "num_classes": int(cfg.MODEL.NUM_CLASSES),
        "class_names": list(class_names),
        "normalisation": _normalisation(cfg, kind.streams),
        "test_views": int(cfg.TEST.NUM_ENSEMBLE_VIEWS),
        "torch_version": torch.__version__,
        **(extra or {}),
        "config": cfg.dump(),
    }
