"""The host's demo entry point: like PySlowFast's, it imports detectron2's person detector
and visualizer at module level (the stub's names)."""

from detectron2 import model_zoo  # noqa: F401
from detectron2.config import get_cfg  # noqa: F401
from detectron2.engine import DefaultPredictor  # noqa: F401
from detectron2.utils.visualizer import Visualizer


class ImgVisualizer(Visualizer):  # PySlowFast subclasses it at import time
    pass


def demo(cfg):
    raise NotImplementedError("the stand-in host has no demo")
