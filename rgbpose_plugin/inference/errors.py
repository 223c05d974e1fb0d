"""The one error type of the inference tools."""

from __future__ import annotations

from ..errors import UserError

__all__ = ["InferenceError"]


class InferenceError(UserError, RuntimeError):
    """Bad input for inference (video, checkpoint, config, skeleton, labels).

    The message always names the file at fault, so a command line can print it as is.
    """
