"""Does the exported file compute what the PyTorch model computes, and how fast?

The exported file is run through the same runner ``tools/demo_net.py --model`` uses
(:func:`rgbpose_plugin.inference.load_exported`), so what is verified is what is used.
Each comparison feeds both the same inputs: the largest absolute difference per output,
and the median latency of each over a few runs after one warm-up run (whose outputs are
the ones compared).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

from ..inference.onnx_model import load_exported

__all__ = ["Comparison", "compare", "verify_export"]


@dataclass
class Comparison:
    """One comparison of the exported file with the PyTorch model."""

    inputs: str  # what was fed, e.g. "random, batch 1" or "clip.mp4, 10 views"
    max_abs_diff: Dict[str, float]  # per output name
    max_abs_logit: float  # the largest |logit| of PyTorch's outputs: the scale of the diffs
    torch_ms: float  # median latency, PyTorch eager
    exported_ms: float  # median latency, the exported file in its runtime
    runs: int  # timed runs behind each median

    @property
    def largest_diff(self) -> float:
        return max(self.max_abs_diff.values())


def _timed(fn: Callable[[], Dict[str, torch.Tensor]], runs: int
           ) -> Tuple[Dict[str, torch.Tensor], float]:
    """The outputs of a warm-up call, and the median milliseconds of ``runs`` more."""
    out = fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return out, statistics.median(times)


def compare(model: nn.Module, runner: Any, inputs: Sequence[torch.Tensor], what: str,
            output_names: Dict[str, str], runs: int = 3) -> Comparison:
    """Run ``model`` (PyTorch, eval) and ``runner`` (exported) on ``inputs``; ``output_names``
    maps each stream to its output's name."""
    inputs = list(inputs)
    with torch.no_grad():
        expected, torch_ms = _timed(lambda: model(inputs), runs)
        got, exported_ms = _timed(lambda: runner(inputs), runs)
    diffs = {output_names[s]: float((got[s].float() - expected[s].float()).abs().max())
             for s in expected}
    scale = max(float(v.abs().max()) for v in expected.values())
    return Comparison(what, diffs, scale, torch_ms, exported_ms, runs)


def verify_export(model: nn.Module, path: str | Path, meta: Dict[str, Any],
                  cases: Sequence[Tuple[str, Sequence[torch.Tensor]]], runs: int = 3
                  ) -> List[Comparison]:
    """:func:`compare` for each ``(description, inputs)`` case, the exported file at ``path``
    loaded as ``tools/demo_net.py --model`` loads it."""
    runner, _, _ = load_exported(path)
    names = {o["stream"]: o["name"] for o in meta["outputs"]}
    model = model.cpu().eval()
    return [compare(model, runner, inputs, what, names, runs) for what, inputs in cases]
