"""Model files that pose backends download: fetched once, cached, hash-checked.

A URL's file goes to ``<torch hub dir>/checkpoints/<backend>/<URL hash>/<file name>``
(``$TORCH_HOME/hub``, else ``$XDG_CACHE_HOME/torch/hub`` or ``~/.cache/torch/hub``), with
its SHA-256 in ``<file name>.sha256`` beside it. Each later use checks the file against
the pinned digest when one is given, else against the digest recorded at download, so a
corrupted cache is fetched again instead of loaded. ``file://`` URLs work like any other (the
tests use them).
"""

from __future__ import annotations

import hashlib
import http.client
import sys
import urllib.request
from pathlib import Path
from typing import Optional

from rgbpose_plugin.fileio import file_sha256

__all__ = ["fetch_model", "model_cache_dir"]


def model_cache_dir(backend: str) -> Path:
    """Where ``backend``'s fetched model files go: ``<torch hub dir>/checkpoints/<backend>``."""
    import torch  # the plugin's dependency; imported here to keep importing this module cheap

    return Path(torch.hub.get_dir()) / "checkpoints" / backend


def _download(url: str, dst: Path) -> None:
    """Copy ``url`` to ``dst`` as the model zoo does (``torch.hub.download_url_to_file``:
    a temporary file renamed into place, a progress bar on a terminal), so an interrupted
    download never leaves a partial ``dst``."""
    import torch

    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(dst), progress=sys.stderr.isatty())
    except (RuntimeError, ValueError, http.client.HTTPException) as err:
        raise OSError(" ".join(str(err).split()) or type(err).__name__) from err


def fetch_model(url: str, cache_dir: Optional[Path] = None, sha256: Optional[str] = None, *,
                backend: str = "rtmlib", local_hint: str = "--det-model / --pose-model PATH") -> Path:
    """The local copy of the model file at ``url``, downloaded on first use.

    ``cache_dir`` defaults to :func:`model_cache_dir` of ``backend``; ``backend`` also
    prefixes the error messages, and ``local_hint`` says how to give the file without
    internet. The file's SHA-256 is checked each time it is used, against ``sha256`` when
    given, else against the digest recorded at the first download; a cached copy that
    fails the check is fetched again. A failed download raises ``OSError``, a download
    that fails the check ``ValueError`` naming the file (and is removed), each in one
    line.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else model_cache_dir(backend)
    name = Path(urllib.request.url2pathname(url.split("?")[0].rstrip("/"))).name
    if not name:
        raise ValueError(f"{backend} backend: cannot name a file after the URL {url!r}")
    # One folder per URL: two URLs ending in the same file name never share a file.
    path = cache_dir / hashlib.sha256(url.encode()).hexdigest()[:16] / name
    record = path.with_name(path.name + ".sha256")
    expected = sha256 or (record.read_text().strip() if record.is_file() else None)
    fresh = not path.is_file()
    if not fresh and expected and file_sha256(path) != expected.lower():
        path.unlink()  # A corrupted or truncated cached copy: fetch it again.
        fresh = True
    if fresh:
        try:
            _download(url, path)
        except OSError as err:
            raise OSError(
                f"{backend} backend: could not fetch {url} into {path} ({err}); without "
                f"internet, copy the file there or give it as a local file ({local_hint})"
            ) from err
    digest = file_sha256(path)
    if expected and digest != expected.lower():
        path.unlink()
        raise ValueError(
            f"{backend} backend: model file {path} (from {url}) has SHA-256 {digest}, expected "
            f"{expected}; the download is corrupted or not the expected model")
    if fresh or not record.is_file():
        record.write_text(digest + "\n")
    return path
