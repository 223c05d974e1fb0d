"""Inference on your own video: its top classes, a summary picture and an annotated MP4.

Quick use (``tools/demo_net.py`` is the command line of the same)::

    from rgbpose_plugin.inference import run_demo, format_top

    result = run_demo("output/demo/rgbpose/checkpoints/checkpoint_epoch_00008.pyth",
                      "my_video.mp4", "demo_out")
    print(format_top(result.prediction))

Modules: ``model_loading`` (checkpoint + config), ``skeleton`` (annotation file or
on-the-fly extraction), ``predictor`` (test-pipeline input and scores), ``drawing`` /
``picture`` / ``annotated_video`` (outputs), ``demo`` (the steps together, and the text
``tools/demo_net.py`` prints), ``checkpoint_path`` (a run or stage folder -> its
checkpoint), ``onnx_model`` (exported ONNX / TorchScript files, run like the model). A
video without a skeleton file gets one from :mod:`rgbpose_dataprep.pose`.
"""

from ..errors import InferenceError
from .demo import DemoResult, format_result, format_top, run_demo
from .model_loading import load_model, resolve_config
from .onnx_model import OnnxModel, TorchScriptModel, load_exported
from .predictor import Prediction, build_test_item, predict

__all__ = ["DemoResult", "InferenceError", "OnnxModel", "Prediction", "TorchScriptModel",
           "build_test_item", "format_result", "format_top", "load_exported", "load_model",
           "predict", "resolve_config", "run_demo"]
