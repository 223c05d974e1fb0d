#!/usr/bin/env python
"""Inference latency of the three model kinds: PyTorch eager and its fast paths vs onnxruntime.

    python benchmarks/bench_infer.py [--kinds rgbpose rgb pose] [--batches 1 10] [--repeats 3]
        [--methods eager channels_last compile onnxruntime] [--threads 2]

One forward pass of each kind at the NTU test size (configs/rgbpose_ntu.yaml and the kind's
test stage: fused RGB 8x256x256 + pose 32x64x64, RGB-only 8x224x224, pose-only 32x64x64;
batch 10 is the 10-clip test of one video), fp32, seeded random weights and inputs:

* ``eager``: the PyTorch model, ``torch.inference_mode``;
* ``channels_last``: weights and inputs in ``torch.channels_last_3d`` (the input conversion
  is timed too);
* ``compile``: ``torch.compile`` (inductor; compiled once per batch size, the compile time is
  printed below the table);
* ``onnxruntime``: the file ``rgbpose_plugin.export.export_onnx`` writes, run by
  ``rgbpose_plugin.inference.OnnxModel`` (what ``tools/demo_net.py --model`` runs) on the CPU
  provider with ``--threads`` intra-op threads.

With CUDA, also ``cuda``: eager on the GPU, and onnxruntime's CUDA and TensorRT providers
where this onnxruntime has them (``ort_cuda``, ``ort_tensorrt``). Each row: the median of
``--repeats`` calls after two warm-up calls, the speed-up over eager, and the largest
|difference| of any output logit from eager's. Prints a markdown table, then the command,
versions and thread count.
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import torch

from rgbpose_plugin.config import load_cfg, stage_cfg
from rgbpose_plugin.export import export_onnx, random_inputs
from rgbpose_plugin.inference import OnnxModel
from rgbpose_plugin.model_kinds import kind_by_key
from rgbpose_plugin.models import build_model
from rgbpose_plugin.stage_graph import stage_that_tests

ROOT = Path(__file__).resolve().parents[1]
CPU_METHODS = ("eager", "channels_last", "compile", "onnxruntime")
ORT_GPU = {"ort_cuda": ["CUDAExecutionProvider"],
           "ort_tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider"]}

Runner = Callable[[List[torch.Tensor]], Dict[str, torch.Tensor]]


def ntu_model(key: str):
    """The NTU test config of kind ``key`` and its model, seeded random weights, eval mode."""
    name = kind_by_key(key).name
    cfg = stage_cfg(load_cfg(str(ROOT / "configs" / "rgbpose_ntu.yaml")), stage_that_tests(name).name)
    torch.manual_seed(0)
    return build_model(cfg).eval(), cfg


def timed(fn: Callable[[], Dict[str, torch.Tensor]], repeats: int, warmup: int = 2):
    """``(outputs of the first call, its seconds, median milliseconds of repeats more)``
    after ``warmup`` calls: eager's second call was once seen 3x slower than its third."""
    start = time.perf_counter()
    out = fn()
    first = time.perf_counter() - start
    for _ in range(warmup - 1):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return out, first, statistics.median(times)


def _on_cpu(out: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {k: v.float().cpu() for k, v in out.items()}


def torch_runner(model, inputs: List[torch.Tensor], device: str = "cpu",
                 channels_last: bool = False) -> Callable[[], Dict[str, torch.Tensor]]:
    """One timed call of ``model``: inputs converted as the method needs, outputs on the CPU."""
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format

    def call():
        with torch.inference_mode():
            out = model([x.to(device).contiguous(memory_format=fmt) for x in inputs])
            if device != "cpu":
                torch.cuda.synchronize()
        return _on_cpu(out)
    return call


class Bench:
    """The models, exported files and results of one run."""

    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args, self.folder = args, folder
        self.rows: List[Dict] = []
        self.notes: List[str] = []

    def methods(self) -> List[str]:
        chosen = list(self.args.methods)
        if torch.cuda.is_available() and not self.args.no_cuda:
            chosen.append("cuda")
            providers = self._ort_providers()
            chosen += [m for m, p in ORT_GPU.items() if p[0] in providers]
        return chosen

    @staticmethod
    def _ort_providers() -> List[str]:
        try:
            import onnxruntime
        except ImportError:
            return []
        return onnxruntime.get_available_providers()

    def _export(self, key: str, model, cfg) -> Path:
        path = self.folder / f"{key}.onnx"
        start = time.perf_counter()
        export_onnx(model, cfg, path, class_names=[str(i) for i in range(int(cfg.MODEL.NUM_CLASSES))])
        self.notes.append(f"export {key} to ONNX: {time.perf_counter() - start:.1f} s")
        return path

    def _runner(self, method: str, key: str, model, inputs, onnx_path: Optional[Path]):
        if method == "eager":
            return torch_runner(model, inputs)
        if method == "channels_last":
            return torch_runner(copy.deepcopy(model).to(memory_format=torch.channels_last_3d),
                                inputs, channels_last=True)
        if method == "compile":
            torch._dynamo.reset()  # each (kind, batch) compiles afresh: its time is its own
            return torch_runner(torch.compile(model, dynamic=False), inputs)
        if method == "cuda":
            return torch_runner(copy.deepcopy(model).cuda(), inputs, device="cuda")
        providers = ["CPUExecutionProvider"] if method == "onnxruntime" else ORT_GPU[method]
        runner = OnnxModel(onnx_path, threads=self.args.threads, providers=providers)
        return lambda: runner(inputs)

    def run_kind(self, key: str) -> None:
        model, cfg = ntu_model(key)
        methods = self.methods()
        uses_onnx = any(m == "onnxruntime" or m in ORT_GPU for m in methods)
        onnx_path = self._export(key, model, cfg) if uses_onnx else None
        for batch in self.args.batches:
            inputs = random_inputs(cfg, batch, seed=1)
            reference, eager_ms = None, None
            for method in ["eager"] + [m for m in methods if m != "eager"]:
                out, first, ms = timed(self._runner(method, key, model, inputs, onnx_path),
                                       self.args.repeats)
                if method == "eager":
                    reference, eager_ms = out, ms
                if method == "compile":
                    self.notes.append(f"compile {key} batch {batch}: first call {first:.1f} s")
                diff = max(float((out[s] - reference[s]).abs().max()) for s in reference)
                self.rows.append({"kind": key, "batch": batch, "method": method, "ms": ms,
                                  "speedup": eager_ms / ms, "diff": diff})
                print(f"  {key} batch {batch} {method}: {ms:.0f} ms", file=sys.stderr, flush=True)

    def table(self) -> str:
        lines = ["| kind | batch | method | median ms | x vs eager | max abs diff vs eager |",
                 "|---|---:|---|---:|---:|---:|"]
        for r in self.rows:
            lines.append(f"| {r['kind']} | {r['batch']} | {r['method']} | {r['ms']:.0f} | "
                         f"{r['speedup']:.2f}x | {r['diff']:.1e} |")
        return "\n".join(lines)


def versions(threads: int) -> str:
    try:
        import onnxruntime
        ort = onnxruntime.__version__
    except ImportError:
        ort = "not installed"
    return (f"torch {torch.__version__}, onnxruntime {ort}, Python {platform.python_version()}, "
            f"{threads} threads, cuda {torch.cuda.is_available()}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", default=["rgbpose", "rgb", "pose"],
                        choices=["rgbpose", "rgb", "pose"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 10])
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per row (median)")
    parser.add_argument("--methods", nargs="+", default=list(CPU_METHODS), choices=CPU_METHODS,
                        help="CPU methods (eager always runs: it is the reference)")
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads")
    parser.add_argument("--no-cuda", action="store_true", help="skip the CUDA rows on a GPU machine")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(args, Path(tmp))
        for key in args.kinds:
            bench.run_kind(key)
    print(bench.table())
    print()
    for note in bench.notes:
        print(f"- {note}")
    command = " ".join(["python benchmarks/bench_infer.py", *(sys.argv[1:] if argv is None else argv)])
    print(f"\n`{command}`; {versions(args.threads)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
