"""File access through iopath: local paths, ``http(s)://`` and (with boto3) ``s3://``.

Remote files are downloaded once into iopath's cache (``~/.torch/iopath_cache`` or
``$IOPATH_CACHE``) and read from there, so a video is fetched once per machine.
"""

from __future__ import annotations

import os
import posixpath
from concurrent.futures import ThreadPoolExecutor
from typing import IO, List, Sequence

from iopath.common.file_io import HTTPURLHandler, PathManager

__all__ = ["PATH_MANAGER", "join", "local_path", "missing_local_files", "open_binary"]

PATH_MANAGER = PathManager()
PATH_MANAGER.register_handler(HTTPURLHandler())
try:  # S3 needs boto3; without it s3:// paths fail with iopath's "no handler" error.
    from iopath.common.s3 import S3PathHandler

    PATH_MANAGER.register_handler(S3PathHandler())
except ImportError:
    pass


def join(prefix: str, name: str) -> str:
    """``prefix/name`` for local paths and URLs alike (an empty prefix gives ``name``)."""
    return posixpath.join(prefix, name) if prefix else name


def local_path(path: str) -> str:
    """A local file holding ``path`` (the path itself when it is already local)."""
    return PATH_MANAGER.get_local_path(path)


def open_binary(path: str) -> IO[bytes]:
    """Open ``path`` for reading bytes."""
    return PATH_MANAGER.open(path, "rb")


def missing_local_files(paths: Sequence[str], threads: int = 16) -> List[str]:
    """The local paths among ``paths`` that are not files, in order (a stat each).

    URLs (``scheme://``) are not looked at: asking a server about each would cost a
    request per file. The stats run on ``threads`` threads, since on a network file
    system each one waits on a round trip (they release the GIL).
    """
    local = [p for p in paths if "://" not in p]
    chunks = [local[i:i + _CHUNK] for i in range(0, len(local), _CHUNK)]
    if threads <= 1 or len(chunks) <= 1:
        return _not_files(local)
    with ThreadPoolExecutor(max_workers=threads) as pool:  # a task per chunk: ~40 us a task
        return [p for missing in pool.map(_not_files, chunks) for p in missing]


_CHUNK = 1024  # paths per thread task


def _not_files(paths: Sequence[str]) -> List[str]:
    return [p for p in paths if not os.path.isfile(p)]
