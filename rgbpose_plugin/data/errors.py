"""Errors raised by the data pipeline.

Every message is self-contained: it names the file, the sample (``frame_dir``) and what
is wrong, so that the text alone is enough when a DataLoader worker re-raises it in the
main process (PyTorch rebuilds worker exceptions from their message; the objects must
therefore be constructible from a single string and picklable).
"""

from __future__ import annotations

from typing import Sequence

from ..errors import UserError

__all__ = ["DataError", "AnnotationError", "SampleError", "VideoError", "SampleBug",
           "MAX_LISTED", "listed"]

MAX_LISTED = 20  # items spelled out in one message; the rest are counted


def listed(items: Sequence[str]) -> str:
    """``"a, b, c"``, or the first :data:`MAX_LISTED` and ``" and N more"``."""
    more = f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return ", ".join(items[:MAX_LISTED]) + more


class DataError(UserError):
    """Base class: bad input data. ``str(err)`` says everything needed to fix it."""

    def __init__(self, message: str = "", *, frame_dir: str = "", path: str = "") -> None:
        super().__init__(message)
        self.frame_dir = frame_dir
        self.path = path

    def __reduce__(self):
        # Keep the attributes across pickling (DataLoader workers, multiprocessing).
        return (_rebuild, (type(self), str(self), self.frame_dir, self.path))


def _rebuild(cls, message: str, frame_dir: str, path: str) -> DataError:
    return cls(message, frame_dir=frame_dir, path=path)


class AnnotationError(DataError):
    """The annotation file, or one annotation in it, is malformed."""


class SampleError(DataError):
    """One sample cannot be produced (its video or its skeletons are unusable).

    With ``DATA.ON_ERROR = "skip"`` the dataset logs and counts these and returns
    another sample instead.
    """


class VideoError(SampleError):
    """The video file is missing, unreadable, corrupt or has no usable frames."""


class SampleBug(RuntimeError):
    """An unexpected exception while producing one sample: a bug (in the pipeline, or a
    kind of bad data that no check foresaw), never skipped. The message names the sample;
    the original exception is its cause. Not a :class:`~rgbpose_plugin.errors.UserError`:
    the tools report it with exit status 1 and its traceback in the stage's log."""
