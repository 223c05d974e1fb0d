"""What a person follows while a stage runs: log lines, JSON stats, TensorBoard, tables.

Each stage folder gets ``log.txt`` (the same lines as the console), ``stats.jsonl``
(one JSON object per logged step/epoch/evaluation) and, with ``TENSORBOARD.ENABLE``,
``tensorboard/``. Only the main process writes.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Dict, Iterable, Optional

from iopath.common.file_io import g_pathmgr

from .distributed import is_main

__all__ = ["setup_logging", "StatsWriter", "format_metrics_table", "format_eta", "progress",
           "log_traceback"]

LOGGER_NAME = "rgbpose_plugin"


def setup_logging(folder: Optional[str] = None) -> logging.Logger:
    """Console + ``folder/log.txt`` on the main process; warnings only elsewhere."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO if is_main() else logging.WARNING)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    fmt = logging.Formatter("[%(asctime)s %(levelname)s] %(message)s", "%m/%d %H:%M:%S")
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(fmt)
    logger.addHandler(console)
    if folder and is_main():
        g_pathmgr.mkdirs(folder)
        file_handler = logging.FileHandler(os.path.join(folder, "log.txt"))
        file_handler.setFormatter(fmt)
        logger.addHandler(file_handler)
    return logger


def log_traceback(err: BaseException) -> str:
    """Write ``err`` with its traceback to the ``log.txt`` that :func:`setup_logging` last
    opened (not to the console); that file's path, or "" when no log file is open."""
    logger = logging.getLogger(LOGGER_NAME)
    files = [h for h in logger.handlers if isinstance(h, logging.FileHandler)]
    for handler in files:
        record = logger.makeRecord(logger.name, logging.ERROR, __file__, 0, "run failed",
                                   None, (type(err), err, err.__traceback__))
        handler.handle(record)
    return files[0].baseFilename if files else ""


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
