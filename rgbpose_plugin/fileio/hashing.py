"""File digests: the hash checks of downloaded weights and caches."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Union

__all__ = ["file_sha256"]


def file_sha256(path: Union[str, Path]) -> str:
    """The hex sha256 of a file, read in 1 MiB blocks (weights files are hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
