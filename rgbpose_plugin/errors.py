"""How a run can end other than by finishing: a user's mistake, or a stop from outside.

Each layer raises its own subclass of :class:`UserError` (``ConfigError``, ``DataError``,
``CheckpointError``, ...), with a message that names the key, file or sample and says
what is wrong; Ctrl-C and SIGTERM become :class:`Interrupted`, which says where the run
stopped and how to resume. The command-line tools print either as one line
(:mod:`rgbpose_plugin.cli`); anything else is a bug, reported in one line with its
traceback in the stage's ``log.txt``.
"""

from __future__ import annotations

import contextlib
import signal
from typing import Iterator, Sequence

__all__ = ["AnnotationError", "ConfigError", "DataError", "DataPrepError", "InferenceError",
           "Interrupted", "MAX_LISTED", "SampleBug", "SampleError", "UserError", "VideoError",
           "ZooError", "listed", "raise_if_interrupted", "stop_signals"]

MAX_LISTED = 20  # items spelled out in one message; the rest are counted


def listed(items: Sequence[str]) -> str:
    """``"a, b, c"``, or the first :data:`MAX_LISTED` and ``" and N more"``."""
    more = f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return ", ".join(items[:MAX_LISTED]) + more


class UserError(Exception):
    """Bad input (config, file, sample, checkpoint); ``str(err)`` says how to fix it."""


class ConfigError(UserError, ValueError):
    """A config file, override or value is wrong; the message names the key and source."""


class DataError(UserError):
    """Bad input data (the data pipeline's errors). ``str(err)`` says everything needed
    to fix it: the file, the sample (``frame_dir``) and what is wrong, so that the text
    alone is enough when a DataLoader worker re-raises it in the main process (PyTorch
    rebuilds worker exceptions from their message, so these are constructible from a
    single string and picklable)."""

    def __init__(self, message: str = "", *, frame_dir: str = "", path: str = "") -> None:
        super().__init__(message)
        self.frame_dir = frame_dir
        self.path = path

    def __reduce__(self):
        # Keep the attributes across pickling (DataLoader workers, multiprocessing).
        return (_rebuild_data_error, (type(self), str(self), self.frame_dir, self.path))


def _rebuild_data_error(cls, message: str, frame_dir: str, path: str) -> DataError:
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
    the original exception is its cause. Not a :class:`UserError`: the tools report it
    with exit status 1 and its traceback in the stage's log."""


class InferenceError(UserError, RuntimeError):
    """Bad input for inference (video, checkpoint, config, skeleton, labels).

    The message always names the file at fault, so a command line can print it as is.
    """


class DataPrepError(UserError, ValueError):
    """Bad input for data preparation (``rgbpose_dataprep``): a missing folder, no file
    matching a pattern, a labels CSV or label map that does not fit the videos, a pose
    backend that cannot be built, an impossible setting. The message names the file,
    folder or setting."""


class ZooError(UserError, RuntimeError):
    """A model-zoo name, catalog file, download or cached file that cannot be used. The
    message is one line naming the entry, the URL or file, and how to supply the file."""


class Interrupted(KeyboardInterrupt):
    """The run was stopped by Ctrl-C (SIGINT) or SIGTERM; ``str(err)`` says where and how
    to resume, e.g. "interrupted at epoch 3, iteration 12 (...); rerun the same command
    to resume from epoch 3".

    A ``KeyboardInterrupt`` so that ``except Exception`` never swallows it (and PyTorch's
    process spawner treats it as the quiet stop it is). The tools print the message as one
    line and exit with ``128 + signum``, as a shell reports a process ended by the signal.
    """

    def __init__(self, where: str = "", signum: int = signal.SIGINT) -> None:
        self.where, self.signum = where, int(signum)
        verb = ("interrupted" if self.signum == signal.SIGINT
                else f"terminated by {signal.Signals(self.signum).name}")
        super().__init__(f"{verb} {where}".strip())

    def __reduce__(self):
        return (type(self), (self.where, self.signum))

    @classmethod
    def at(cls, err: KeyboardInterrupt, where: str) -> Interrupted:
        """``err`` (Ctrl-C's KeyboardInterrupt, or an Interrupted) told with ``where``."""
        return cls(where, getattr(err, "signum", signal.SIGINT))

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


class _Received:
    """The stop signal this process received (0: none); set by :func:`stop_signals`'
    handler only."""

    signum = 0


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """While the block runs, Ctrl-C (SIGINT) and SIGTERM raise :class:`Interrupted`, so
    the run unwinds, ending its loader workers, instead of dying with them left behind.

    Python runs the handler between any two bytecodes of the main thread, also inside a
    garbage collector's callback, which swallows the exception ("Exception ignored
    in ..."). The signal is therefore also remembered: loops call
    :func:`raise_if_interrupted` at each step. Only the main thread can set handlers;
    elsewhere the block runs with the handlers as they are.
    """
    def interrupt(signum: int, _frame) -> None:
        _Received.signum = signum
        raise Interrupted(signum=signum)

    try:
        previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _Received.signum = 0


def raise_if_interrupted() -> None:
    """Raise :class:`Interrupted` if a stop signal arrived and was swallowed (see
    :func:`stop_signals`)."""
    if _Received.signum:
        raise Interrupted(signum=_Received.signum)
