"""Atomic writes: a file appears whole under its name or not at all.

Everything the plugin writes that a later run reads back (checkpoints, stage records,
annotation files, videos, caches) is first written to ``<name>.part`` beside it, flushed
to disk and renamed over ``<name>`` (``os.replace``: atomic on POSIX). A crash leaves the
previous file intact and at worst a stale ``.part``, which the next write of the same
name replaces. Remote iopath paths (``s3://`` ...) have no atomic rename: they are
written under the temporary name and moved, the best those backends offer.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from pathlib import Path
from typing import Any, Iterator, Union

from iopath.common.file_io import g_pathmgr

__all__ = ["PART_SUFFIX", "atomic_path", "atomic_write_bytes", "atomic_write_text",
           "atomic_pickle"]

PART_SUFFIX = ".part"  # "<name>.part": a file being written


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: Union[str, Path]) -> Iterator[Path]:
    """A local temporary path to write ``path`` through (for writers that want a path).

    Renamed over ``path`` when the block ends without an error; removed otherwise.
    Writers that infer the format from the name must be told it (``.part`` says nothing).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + PART_SUFFIX)
    try:
        yield part
        _fsync(part)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def atomic_write_bytes(path: str, data: bytes) -> str:
    """Write ``data`` to ``path`` (any iopath path) atomically; returns ``path``."""
    if "://" in path:
        g_pathmgr.mkdirs(os.path.dirname(path))
        part = path + PART_SUFFIX
        with g_pathmgr.open(part, "wb") as f:
            f.write(data)
        g_pathmgr.mv(part, path)
        return path
    with atomic_path(path) as part:
        part.write_bytes(data)
    return path


def atomic_write_text(path: str, text: str) -> str:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_pickle(path: Union[str, Path], obj: Any, protocol: int = 4) -> str:
    """Pickle ``obj`` to ``path`` atomically (protocol 4: readable by Python >= 3.4)."""
    return atomic_write_bytes(str(path), pickle.dumps(obj, protocol=protocol))
