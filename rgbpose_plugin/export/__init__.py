"""Export a trained model for other runtimes: ONNX (onnxruntime) and TorchScript.

Quick use (``tools/export_model.py`` is the command line of the same)::

    from rgbpose_plugin.export import export_checkpoint, format_report

    report = export_checkpoint("output/demo/rgbpose", "model.onnx")
    print(format_report(report))

Modules: ``spec`` (the inputs and outputs of an exported model, ``model.json``),
``onnx_export`` (the writers), ``verify`` (exported file vs PyTorch: differences and
latencies), ``checkpoint_export`` (the steps together). The runner of exported files is
:mod:`rgbpose_plugin.inference.onnx_model`, one layer down, so that ``tools/demo_net.py``
uses them without this package. docs/export.md says what the files hold and how to use them.
"""

from .checkpoint_export import ExportReport, check_kind, export_checkpoint, format_report
from .onnx_export import FORMATS, export_model, export_onnx, export_torchscript
from .spec import ExportError, StreamOutputs, describe, input_shapes, random_inputs
from .verify import Comparison, compare, verify_export

__all__ = ["Comparison", "ExportError", "ExportReport", "FORMATS", "StreamOutputs", "check_kind",
           "compare", "describe", "export_checkpoint", "export_model", "export_onnx",
           "export_torchscript", "format_report", "input_shapes", "random_inputs",
           "verify_export"]
