"""The host's model heads: PySlowFast's import detectron2's ``ROIAlign`` at module level (for
AVA detection), so the package imports only where detectron2, or the stub that
tools/setup_pyslowfast.py writes, is on the path."""

from detectron2.layers import ROIAlign  # noqa: F401
