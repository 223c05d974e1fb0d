"""The host's AVA evaluation helper, importing the checkout's ava_evaluation package by the
Meta-internal path of PySlowFast main (tools/setup_pyslowfast.py makes it a local import)."""

from vision.fair.slowfast.ava_evaluation import (  # noqa: F401
    object_detection_evaluation,
    standard_fields,
)
