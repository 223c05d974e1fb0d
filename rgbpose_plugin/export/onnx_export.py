"""Write a model as ONNX (``torch.onnx.export``) or TorchScript (``torch.jit.trace``), with
its ``model.json`` beside it.

ONNX goes through PyTorch's ``torch.export``-based exporter (the default since torch 2.9;
it needs the ``onnx`` and ``onnxscript`` packages of the ``export`` extra), one batch
dimension left free, the weights inside the one file (no external data: the NTU model is
145 MB, far under protobuf's 2 GB). TorchScript is a trace: the traced module is checked
against the eager model on a batch of another size before it is written, so a trace that
froze a shape is an error, never a file. Files appear whole or not at all
(:func:`rgbpose_plugin.fileio.atomic_path`).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import torch
import torch.nn as nn
from fvcore.common.config import CfgNode

from ..fileio import atomic_path, atomic_write_text
from ..inference.onnx_model import metadata_path, require_package
from ..model_kinds import model_kind
from .spec import BATCH, ExportError, StreamOutputs, describe, output_names, random_inputs

__all__ = ["FORMATS", "export_onnx", "export_torchscript", "export_model"]

FORMATS = ("onnx", "torchscript")
TRACE_CHECK_TOLERANCE = 1e-4  # the traced module against eager, on a batch of 2


def _json_path(out_path: Path) -> Path:
    json_path = metadata_path(out_path)
    if json_path == out_path:
        raise ExportError(f"{out_path}: the model file cannot end in .json (model.json is "
                          f"written beside it); use e.g. model.onnx")
    return json_path


def _write(meta: Dict[str, Any], out_path: Path) -> Dict[str, Any]:
    atomic_write_text(str(_json_path(out_path)), json.dumps(meta, indent=2) + "\n")
    return meta


def _wrapped(model: nn.Module, cfg: CfgNode) -> StreamOutputs:
    return StreamOutputs(model.cpu().eval(), model_kind(cfg.MODEL.MODEL_NAME).streams).eval()


def export_onnx(model: nn.Module, cfg: CfgNode, out_path: str | Path, *,
                class_names: Sequence[str], opset: Optional[int] = None,
                extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Write ``model`` (built from ``cfg``) to ``out_path`` as ONNX and ``model.json`` beside
    it; returns the JSON's content. ``opset`` None: the exporter's default (20 in torch 2.14)."""
    out_path = Path(out_path)
    _json_path(out_path)
    for package in ("onnx", "onnxscript"):
        require_package(package, "ONNX export")
    kind = model_kind(cfg.MODEL.MODEL_NAME)
    wrapper = _wrapped(model, cfg)
    batch = torch.export.Dim(BATCH, min=1)
    with atomic_path(out_path) as part, warnings.catch_warnings():
        # "The axis name: N will not be used, since it shares ... with another axis: N": the
        # inputs share one batch dimension, which is named N all the same.
        warnings.filterwarnings("ignore", message=".*axis name")
        try:
            program = torch.onnx.export(
                wrapper, tuple(random_inputs(cfg, 1)), str(part), input_names=list(kind.streams),
                output_names=output_names(kind), opset_version=opset,
                dynamic_shapes=(tuple({0: batch} for _ in kind.streams),), dynamo=True,
                external_data=False, verbose=False)
        except Exception as err:  # the exporter's own error types, several layers deep
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise ExportError(f"{out_path}: torch.onnx.export cannot export the {kind.name} "
                              f"({type(err).__name__}: {first})") from err
    opset_used = int(program.model.opset_imports.get("", opset or 0))
    meta = describe(cfg, "onnx", out_path.name, class_names,
                    {"opset": opset_used, **(extra or {})})
    return _write(meta, out_path)


def _largest_difference(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> float:
    return max(float((x - y).abs().max()) for x, y in zip(a, b))


def export_torchscript(model: nn.Module, cfg: CfgNode, out_path: str | Path, *,
                       class_names: Sequence[str],
                       extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Write ``model`` to ``out_path`` as a traced TorchScript module and ``model.json``
    beside it; returns the JSON's content. A trace that does not reproduce the model on a
    batch of 2 (traced with 1) raises :class:`ExportError` and writes nothing."""
    out_path = Path(out_path)
    _json_path(out_path)
    name = model_kind(cfg.MODEL.MODEL_NAME).name
    wrapper = _wrapped(model, cfg)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)  # "jit.trace is deprecated"
            # Shapes the trace fixes (a transposed conv's output size): checked below on
            # another batch size, the one dimension that may change.
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            traced = torch.jit.trace(wrapper, tuple(random_inputs(cfg, 1)), check_trace=False)
            check = random_inputs(cfg, 2, seed=1)
            difference = _largest_difference(wrapper(*check), traced(*check))
    except Exception as err:  # tracer errors come as RuntimeError, TypeError, ...
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ExportError(f"{out_path}: torch.jit.trace cannot trace the {name} "
                          f"({type(err).__name__}: {first}); nothing was written") from err
    if not difference <= TRACE_CHECK_TOLERANCE:
        raise ExportError(f"{out_path}: the traced {name} differs from the model by {difference:.3g} "
                          f"on a batch of 2 (the trace froze a shape?); nothing was written")
    with atomic_path(out_path) as part, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)  # "jit.save is deprecated"
        torch.jit.save(traced, str(part))
    return _write(describe(cfg, "torchscript", out_path.name, class_names, extra), out_path)


def export_model(model: nn.Module, cfg: CfgNode, out_path: str | Path, fmt: str, *,
                 class_names: Sequence[str], opset: Optional[int] = None,
                 extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """:func:`export_onnx` or :func:`export_torchscript` by ``fmt``."""
    if fmt == "onnx":
        return export_onnx(model, cfg, out_path, class_names=class_names, opset=opset, extra=extra)
    if fmt == "torchscript":
        if opset is not None:
            raise ExportError(f"{out_path}: --opset applies to ONNX only, not TorchScript")
        return export_torchscript(model, cfg, out_path, class_names=class_names, extra=extra)
    raise ExportError(f"{out_path}: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
