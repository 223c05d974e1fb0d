"""A checkpoint to an exported file, verified: the one call behind ``tools/export_model.py``.

1. load the checkpoint and its test config (:func:`rgbpose_plugin.inference.load_model`);
   only the three model kinds export, and a checkpoint of anything else is named as such;
2. write the file and ``model.json`` (:mod:`.onnx_export`);
3. run the file and PyTorch on seeded random inputs of ``batch`` clips and, with a video and
   its skeleton, on that video's real test input (all its views), and compare (:mod:`.verify`);
4. a difference over the tolerance removes the files and raises: what is left on disk is
   a file that reproduces the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from fvcore.common.config import CfgNode

from ..errors import InferenceError
from ..inference import build_test_item, load_model
from ..inference.checkpoint_path import resolve_checkpoint
from ..inference.onnx_model import metadata_path
from ..inference.skeleton import check_skeleton, skeleton_from_file
from ..labels.lookup import LabelMapError, resolve_class_names
from ..model_kinds import MODEL_KINDS
from ..weights.checkpoints import load_checkpoint
from .onnx_export import export_model
from .spec import ExportError, random_inputs
from .verify import Comparison, verify_export

__all__ = ["ExportReport", "check_kind", "export_checkpoint", "format_report"]

DEFAULT_TOLERANCE = 1e-3  # largest |difference| allowed, relative to max(1, largest |logit|)


@dataclass
class ExportReport:
    """What :func:`export_checkpoint` wrote and measured."""

    files: List[str]
    meta: Dict[str, Any]
    comparisons: List[Comparison]
    tolerance: float


def _model_name(checkpoint: Dict[str, Any]) -> str:
    """The model a checkpoint holds: its ``model_name``, else its stored config's."""
    if checkpoint.get("model_name"):
        return str(checkpoint["model_name"])
    try:
        return str(CfgNode.load_cfg(checkpoint.get("cfg") or "{}").MODEL.MODEL_NAME)
    except (AttributeError, KeyError, ValueError, TypeError):
        return "unknown"


def check_kind(path: str) -> None:
    """Refuse, naming what it holds, a checkpoint that is none of the three model kinds."""
    name = _model_name(load_checkpoint(path))
    known = [k.name for k in MODEL_KINDS]
    if name not in known:
        raise ExportError(f"checkpoint {path} holds a {name!r} model (its model_name / "
                          f"MODEL.MODEL_NAME); only {', '.join(known)} export")


def _class_names(labels: Optional[str], checkpoint: Dict[str, Any], cfg: CfgNode) -> List[str]:
    """``labels``, else the names the checkpoint stores (a zoo model's), else a label file
    beside DATA.ANN_FILE, else indices: the order ``tools/demo_net.py`` follows."""
    num_classes = int(cfg.MODEL.NUM_CLASSES)
    stored = checkpoint.get("class_names")
    if not labels and stored and len(stored) == num_classes:
        return [str(n) for n in stored]
    try:
        return resolve_class_names(labels, cfg.DATA.ANN_FILE, num_classes)[0]
    except LabelMapError as err:
        raise InferenceError(str(err)) from err


def _video_case(cfg: CfgNode, video: str, skeleton: str) -> Tuple[str, Sequence[torch.Tensor]]:
    """The test input of ``video`` (all its views), as ``tools/demo_net.py`` builds it."""
    for path, what in ((video, "video"), (skeleton, "skeleton file")):
        if not Path(path).is_file():
            raise InferenceError(f"{what} {path} does not exist")
    annotation = check_skeleton(skeleton_from_file(skeleton, Path(video)), skeleton,
                                int(cfg.RGBPOSE.KEYPOINTS.NUM))
    item = build_test_item(cfg, annotation, Path(video))
    return f"{Path(video).name}, {item['inputs'][0].shape[0]} views", item["inputs"]


def _remove(files: Sequence[str]) -> None:
    for f in files:
        Path(f).unlink(missing_ok=True)


def export_checkpoint(checkpoint: str, out: str, fmt: str = "onnx", *,
                      video: Optional[str] = None, skeleton: Optional[str] = None,
                      batch: int = 1, labels: Optional[str] = None, opset: Optional[int] = None,
                      runs: int = 3, tolerance: float = DEFAULT_TOLERANCE) -> ExportReport:
    """Export ``checkpoint`` (a file, or a stage or run folder) to ``out`` in ``fmt``
    (``onnx`` / ``torchscript``) and verify it (see the module doc)."""
    if (video is None) != (skeleton is None):
        raise InferenceError("verifying on a video needs both the video and its skeleton file")
    path = resolve_checkpoint(checkpoint)
    check_kind(path)
    model, cfg, stored = load_model(path)
    names = _class_names(labels, stored, cfg)
    cases = [(f"random, batch {batch}", random_inputs(cfg, batch))]
    if video is not None:
        cases.append(_video_case(cfg, video, skeleton))
    meta = export_model(model, cfg, out, fmt, class_names=names, opset=opset,
                        extra={"checkpoint": str(Path(path).resolve())})
    files = [str(out), str(metadata_path(out))]
    try:
        comparisons = verify_export(model, out, meta, cases, runs)
    except BaseException:
        _remove(files)
        raise
    bad = [c for c in comparisons if not c.largest_diff <= tolerance * max(1.0, c.max_abs_logit)]
    if bad:
        _remove(files)
        c = bad[0]
        raise ExportError(f"{out}: the exported model differs from {path} by {c.largest_diff:.3g} "
                          f"on {c.inputs} (logits up to {c.max_abs_logit:.3g}; tolerance "
                          f"{tolerance:g} x max(1, that)); the files were removed")
    return ExportReport(files, meta, comparisons, tolerance)


def format_report(report: ExportReport) -> str:
    """What ``tools/export_model.py`` prints: the files, then per comparison the largest
    difference of each output and both median latencies."""
    meta = report.meta
    runtime = "onnxruntime" if meta["format"] == "onnx" else "TorchScript"
    shapes = ", ".join(f"{i['name']} {tuple(i['shape'])}".replace("'", "") for i in meta["inputs"])
    lines = [f"wrote {report.files[0]} ({meta['format']}, {meta['model_name']}, inputs {shapes})",
             f"wrote {report.files[1]}"]
    for c in report.comparisons:
        diffs = ", ".join(f"{name} {value:.2e}" for name, value in c.max_abs_diff.items())
        lines.append(f"{c.inputs}: largest |difference| {diffs} (logits up to {c.max_abs_logit:.3g})")
        lines.append(f"  latency, median of {c.runs}: PyTorch eager {c.torch_ms:.1f} ms, "
                     f"{runtime} {c.exported_ms:.1f} ms ({c.torch_ms / c.exported_ms:.2f}x), "
                     f"{torch.get_num_threads()} threads")
    return "\n".join(lines)
