"""What a person follows while a stage runs: log lines, JSON stats, TensorBoard, tables.

Each run and stage folder gets ``log.txt`` (the same lines as the console, opened by
:func:`log_to` where the run or stage starts); a training stage also ``stats.jsonl``
(one JSON object per logged step/epoch/evaluation) and, with ``TENSORBOARD.ENABLE``,
``tensorboard/``. Only the main process writes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from typing import Dict, Iterable, Iterator, List

from iopath.common.file_io import g_pathmgr

from ..errors import UserError
from .distributed import is_main

__all__ = ["get_logger", "log_to", "traceback_log", "StatsWriter", "format_metrics_table",
           "format_eta", "progress"]

LOGGER_NAME = "rgbpose_plugin"
_FORMAT = logging.Formatter("[%(asctime)s %(levelname)s] %(message)s", "%m/%d %H:%M:%S")


def get_logger() -> logging.Logger:
    """The plugin's logger: the console always (warnings only on processes other than the
    main one), plus the ``log.txt`` of the innermost :func:`log_to` block."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.propagate = False
    if not any(getattr(h, "_rgbpose_console", False) for h in logger.handlers):
        console = logging.StreamHandler(sys.stdout)
        console.setFormatter(_FORMAT)
        console._rgbpose_console = True
        logger.addHandler(console)
    logger.setLevel(logging.INFO if is_main() else logging.WARNING)
    return logger


def _file_handlers(logger: logging.Logger) -> List[logging.FileHandler]:
    return [h for h in logger.handlers if isinstance(h, logging.FileHandler)]


@contextlib.contextmanager
def log_to(folder: str) -> Iterator[logging.Logger]:
    """Inside the block, the logger also writes ``folder/log.txt`` (main process only);
    after it, the log file of the enclosing block again. The code that starts a run or a
    stage opens its folder's log once; a block for the folder already open changes nothing.

    A bug (an exception other than a :class:`~rgbpose_plugin.errors.UserError`) leaving
    the block is written with its traceback to this ``log.txt``, and :func:`traceback_log`
    names that file for the one-line report.
    """
    logger = get_logger()
    path = os.path.abspath(os.path.join(folder, "log.txt"))
    outer = _file_handlers(logger)
    if not is_main() or any(h.baseFilename == path for h in outer):
        yield logger
        return
    g_pathmgr.mkdirs(folder)
    handler = logging.FileHandler(path)
    handler.setFormatter(_FORMAT)
    for h in outer:
        logger.removeHandler(h)
    logger.addHandler(handler)
    try:
        yield logger
    except Exception as err:
        if not isinstance(err, UserError) and not traceback_log(err):
            handler.handle(logger.makeRecord(logger.name, logging.ERROR, __file__, 0, "run failed",
                                             None, (type(err), err, err.__traceback__)))
            err.rgbpose_log_file = path
        raise
    finally:
        logger.removeHandler(handler)
        handler.close()
        for h in outer:
            logger.addHandler(h)


def traceback_log(err: BaseException) -> str:
    """The ``log.txt`` that holds ``err``'s traceback (see :func:`log_to`), or ""."""
    return getattr(err, "rgbpose_log_file", "")


class StatsWriter:
    """JSON lines in ``stats.jsonl`` and, optionally, TensorBoard scalars."""

    def __init__(self, folder: str, tensorboard_dir: str = "") -> None:
        self.enabled = is_main()
        self.path = os.path.join(folder, "stats.jsonl")
        self._tb = None
        if self.enabled and tensorboard_dir:
            from torch.utils.tensorboard import SummaryWriter  # imported only when asked for

            self._tb = SummaryWriter(tensorboard_dir)

    def write(self, kind: str, step: int, values: Dict) -> None:
        if not self.enabled:
            return
        record = {"kind": kind, "step": step, "time": round(time.time(), 3), **values}
        with g_pathmgr.open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for key, value in _flatten(values).items():
                if isinstance(value, (int, float)):
                    self._tb.add_scalar(f"{kind}/{key}", value, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def _flatten(values: Dict, prefix: str = "") -> Dict:
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}/"))
        else:
            out[f"{prefix}{key}"] = value
    return out


def read_stats(folder: str) -> list:
    path = os.path.join(folder, "stats.jsonl")
    if not g_pathmgr.exists(path):
        return []
    with g_pathmgr.open(path, "r") as f:
        return [json.loads(line) for line in f if line.strip()]


def format_metrics_table(metrics: Dict[str, Dict[str, float]], title: str = "") -> str:
    """A plain-text table: one row per stream or fusion, columns top1 / top5 / mean_class."""
    lines = [title] if title else []
    lines.append(f"{'scores':<10} {'top1':>7} {'top5':>7} {'mean_class':>11}")
    for name, m in metrics.items():
        lines.append(f"{name:<10} {m['top1']:>7.2f} {m['top5']:>7.2f} {m['mean_class']:>11.2f}")
    return "\n".join(lines)


def format_eta(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def progress(iterable: Iterable, total: int, desc: str) -> Iterable:
    """A tqdm bar on an interactive terminal of the main process; the iterable otherwise."""
    if not (is_main() and sys.stderr.isatty()):
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)
