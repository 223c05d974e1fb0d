"""Run an exported model (ONNX through onnxruntime, or TorchScript) as the PyTorch model runs.

``tools/export_model.py`` writes ``model.onnx`` (or ``model.pt``) and ``model.json`` beside
it: the JSON names the model kind, its inputs and their shapes, the class names and the
whole test config, so :func:`load_exported` rebuilds the test pipeline without the
checkpoint (docs/export.md). Both runners take what the PyTorch model takes, a list of
input tensors in the kind's stream order, and return what it returns, ``{stream: logits}``,
so :func:`.predictor.predict` runs them unchanged; a wrong input shape raises an
:class:`InferenceError` that names the expected one. onnxruntime is the optional ``export``
extra: it is imported only when an ONNX file is loaded.
"""

from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from fvcore.common.config import CfgNode

from ..config import ConfigError, get_cfg, merge_opts
from ..errors import InferenceError

__all__ = ["EXPORT_EXTRA", "OnnxModel", "TorchScriptModel", "check_inputs", "load_exported",
           "metadata_path", "read_metadata", "require_package"]

EXPORT_EXTRA = 'pip install -e ".[export]"'  # installs onnx, onnxruntime, onnxscript


def require_package(name: str, purpose: str) -> ModuleType:
    """``import name``, or an error saying how to install the ``export`` extra."""
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise InferenceError(f"{purpose} needs the package {name}, which is not installed "
                             f"here ({err}); install it with {EXPORT_EXTRA}") from err


def metadata_path(model_path: str | Path) -> Path:
    """Where the JSON of an exported model lives: beside it, ``model.onnx`` -> ``model.json``."""
    return Path(model_path).with_suffix(".json")


def read_metadata(model_path: str | Path) -> Dict[str, Any]:
    """The JSON beside ``model_path`` (see :mod:`rgbpose_plugin.export.spec` for its fields)."""
    path = metadata_path(model_path)
    if not Path(model_path).is_file():
        raise InferenceError(f"exported model {model_path} does not exist")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InferenceError(f"exported model {model_path}: {path} is missing (tools/export_model.py "
                             f"writes both; the JSON holds the inputs, class names and config)") from None
    except (OSError, ValueError) as err:
        raise InferenceError(f"{path}: not a readable JSON file ({err})") from err
    missing = [k for k in ("format", "file", "model_name", "streams", "inputs", "outputs",
                           "class_names", "config") if k not in meta]
    if missing:
        raise InferenceError(f"{path}: not the JSON of an exported model (no {', '.join(missing)})")
    # model.onnx and model.pt share model.json: the later export's JSON describes its file.
    if Path(meta["file"]).suffix != Path(model_path).suffix:
        raise InferenceError(f"{path} describes {meta['file']} ({meta['format']}), not "
                             f"{Path(model_path).name}: another format was exported under the "
                             f"same name since; export again, one name per format")
    return meta


def _shape_text(shape: Sequence[Any]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def check_inputs(inputs: Sequence[torch.Tensor], meta: Dict[str, Any], source: str) -> None:
    """Raise naming the expected shape when ``inputs`` do not fit the exported model."""
    specs = meta["inputs"]
    if len(inputs) != len(specs):
        names = ", ".join(s["name"] for s in specs)
        raise InferenceError(f"{source}: the exported {meta['model_name']} takes {len(specs)} "
                             f"input(s) ({names}), got {len(inputs)}")
    for x, spec in zip(inputs, specs):
        expected = spec["shape"]
        fits = x.dim() == len(expected) and all(
            isinstance(e, str) or int(e) == d for e, d in zip(expected, x.shape))
        if not fits:
            raise InferenceError(f"{source}: input {spec['name']!r} has shape "
                                 f"{_shape_text(tuple(x.shape))}; the exported model expects "
                                 f"{_shape_text(expected)}")


class OnnxModel:
    """An ONNX file in onnxruntime, called like the PyTorch model: ``model([rgb, pose])``
    -> ``{"rgb": logits, "pose": logits}`` (CPU tensors).

    ``to("cuda")`` switches to onnxruntime's CUDA provider (onnxruntime-gpu); ``providers``
    names others (e.g. ``["TensorrtExecutionProvider", "CUDAExecutionProvider"]``). ``eval()``
    is there for callers written for ``nn.Module``. ``threads``: onnxruntime's intra-op
    threads (default: torch's thread count, so both runtimes get the same CPU).
    """

    def __init__(self, path: str | Path, meta: Optional[Dict[str, Any]] = None,
                 threads: Optional[int] = None, providers: Sequence[str] = ("CPUExecutionProvider",)
                 ) -> None:
        self.path = str(path)
        self.meta = meta if meta is not None else read_metadata(path)
        self.threads = threads
        self._ort = require_package("onnxruntime", f"running the ONNX model {self.path}")
        self.providers = list(providers)
        self.session = self._session()

    def _session(self):
        options = self._ort.SessionOptions()
        options.intra_op_num_threads = int(self.threads or torch.get_num_threads())
        try:
            return self._ort.InferenceSession(self.path, options, providers=self.providers)
        except Exception as err:  # onnxruntime's own error types (invalid graph, protobuf)
            raise InferenceError(f"{self.path}: onnxruntime cannot load it ({err})") from err

    @property
    def default_device(self) -> str:
        """``"cuda"`` where onnxruntime has its CUDA provider and a GPU is present."""
        cuda = "CUDAExecutionProvider" in self._ort.get_available_providers()
        return "cuda" if cuda and torch.cuda.is_available() else "cpu"

    def to(self, device: str | torch.device) -> OnnxModel:
        """Run on ``device``: ``cpu`` or ``cuda`` (onnxruntime's CUDA provider)."""
        kind = torch.device(device).type
        if kind == "cuda":
            available = self._ort.get_available_providers()
            if "CUDAExecutionProvider" not in available:
                raise InferenceError(f"{self.path}: this onnxruntime has no CUDA provider "
                                     f"(available: {', '.join(available)}); use --device cpu, or "
                                     f"install onnxruntime-gpu")
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        elif kind == "cpu":
            providers = ["CPUExecutionProvider"]
        else:
            raise InferenceError(f"{self.path}: onnxruntime runs on cpu or cuda, not {device}")
        if providers != self.providers:
            self.providers = providers
            self.session = self._session()
        return self

    def eval(self) -> OnnxModel:
        return self

    def __call__(self, inputs: Sequence[torch.Tensor]) -> Dict[str, torch.Tensor]:
        check_inputs(inputs, self.meta, self.path)
        feed = {spec["name"]: x.detach().to("cpu", torch.float32).contiguous().numpy()
                for spec, x in zip(self.meta["inputs"], inputs)}
        names = [o["name"] for o in self.meta["outputs"]]
        values = self.session.run(names, feed)
        return {o["stream"]: torch.from_numpy(v) for o, v in zip(self.meta["outputs"], values)}


class TorchScriptModel(nn.Module):
    """A traced TorchScript file (positional inputs, a tuple of logits) with the PyTorch
    model's call convention: ``model([rgb, pose])`` -> ``{"rgb": ..., "pose": ...}``."""

    def __init__(self, path: str | Path, meta: Optional[Dict[str, Any]] = None) -> None:
        super().__init__()
        self.path = str(path)
        self.meta = meta if meta is not None else read_metadata(path)
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated (torch 2.14) but works
                warnings.filterwarnings("ignore", category=FutureWarning)
                self.module = torch.jit.load(self.path, map_location="cpu")
        except (RuntimeError, ValueError) as err:
            raise InferenceError(f"{self.path}: not a loadable TorchScript file ({err})") from err

    def forward(self, inputs: Sequence[torch.Tensor]) -> Dict[str, torch.Tensor]:
        check_inputs(inputs, self.meta, self.path)
        values = self.module(*inputs)
        return {o["stream"]: v for o, v in zip(self.meta["outputs"], values)}


_RUNNERS = {"onnx": OnnxModel, "torchscript": TorchScriptModel}


def _config(meta: Dict[str, Any], source: str, opts: Sequence) -> CfgNode:
    """The stored test config (the defaults, then the export's dump), then ``opts``."""
    cfg = get_cfg()
    try:
        cfg.merge_from_other_cfg(CfgNode.load_cfg(meta["config"]))
        merge_opts(cfg, opts)
    except (ConfigError, KeyError, ValueError, AssertionError) as err:
        raise InferenceError(f"{source}: its config does not load ({err})") from err
    return cfg


def load_exported(path: str | Path, opts: Sequence = ()
                  ) -> Tuple[Any, CfgNode, Dict[str, Any]]:
    """``(runner, cfg, metadata)`` of an exported model file and the JSON beside it.

    ``opts`` (``[KEY, VALUE, ...]``) change the test pipeline (e.g. ``TEST.NUM_ENSEMBLE_VIEWS``);
    the network itself is fixed by the file.
    """
    meta = read_metadata(path)
    runner = _RUNNERS.get(meta["format"])
    if runner is None:
        raise InferenceError(f"{metadata_path(path)}: unknown format {meta['format']!r} "
                             f"(known: {', '.join(_RUNNERS)})")
    cfg = _config(meta, str(metadata_path(path)), opts)
    return runner(path, meta), cfg, meta

