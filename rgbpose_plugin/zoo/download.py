"""Fetch a published file into the torch hub cache and keep its converted checkpoint.

Files live where torch.hub and mmaction2 put them, so ``TORCH_HOME`` moves them and a
file an mmaction2 user already downloaded is reused::

    <torch.hub.get_dir()>/checkpoints/rgbpose_conv3d_20230301-ac7b0e77.pth     as published
    <torch.hub.get_dir()>/checkpoints/rgbpose_plugin/rgbpose_conv3d_20230301-ac7b0e77.pyth
    <torch.hub.get_dir()>/checkpoints/rgbpose_plugin/rgbpose_conv3d_20230301-ac7b0e77.pyth.json

The published file is trusted only when its sha256 starts with the digits in its name;
the converted one only when its sha256 is the one its JSON sidecar records. Anything else
in the cache is deleted (and logged) and made again, never used. The sidecar also records
a fingerprint of the entry's config and class names: a catalog entry edited since (other
opts or labels) is converted again. Files are written under unique temporary names and
renamed, so no reader sees half a file.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import logging
import os
import re
import sys
import uuid
from pathlib import Path
from typing import Dict, List, Optional

import torch
from fvcore.common.config import CfgNode

from ..config import config_changes
from ..errors import ZooError
from ..fileio import file_sha256
from ..weights import mmcv_to_plugin
from ..weights.checkpoints import load_mmcv_checkpoint
from .catalog import ZooEntry

__all__ = ["MIRROR_ENV", "cache_dir", "converted_path", "ensure_converted", "fetch_published",
           "file_sha256", "remove_converted", "source_url"]

logger = logging.getLogger(__name__)

MIRROR_ENV = "RGBPOSE_ZOO_MIRROR"
_DOWNLOAD_ERRORS = (OSError, RuntimeError, ValueError, http.client.HTTPException)


def cache_dir() -> str:
    """``<torch.hub.get_dir()>/checkpoints``: torch.hub's and mmaction2's download folder."""
    return os.path.join(torch.hub.get_dir(), "checkpoints")


def converted_path(entry: ZooEntry) -> str:
    """``<cache>/rgbpose_plugin/<published name without .pth>.pyth``."""
    return os.path.join(cache_dir(), "rgbpose_plugin", Path(entry.file_name).stem + ".pyth")


def _sidecar(path: str) -> str:
    return path + ".json"


def source_url(entry: ZooEntry, mirror: Optional[str] = None) -> str:
    """Where to fetch ``entry`` from: under ``mirror`` (else ``$RGBPOSE_ZOO_MIRROR``), a
    folder or a base URL holding the files under their published names, else its URL."""
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV, "")
    if not mirror:
        return entry.url
    if re.match(r"(https?|file)://", mirror):
        return mirror.rstrip("/") + "/" + entry.file_name
    return Path(mirror).expanduser().resolve().joinpath(entry.file_name).as_uri()


def _write_atomic(path: str, data: bytes) -> None:
    """Write under a unique temporary name beside ``path``, then rename over it (the
    plugin's ``atomic_write_bytes`` uses one fixed ``.part`` name, which two processes
    filling the cache at once would share)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    part = f"{path}.{uuid.uuid4().hex}.part"
    try:
        with open(part, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(part, path)
    finally:
        if os.path.exists(part):
            os.remove(part)


def _discard(path: str, why: str) -> None:
    logger.warning("zoo cache: deleting %s (%s); making it again", path, why)
    os.remove(path)


def _download(entry: ZooEntry, url: str, path: str, progress: bool) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    logger.info("zoo: downloading %s to %s", url, path)
    try:
        torch.hub.download_url_to_file(url, path, hash_prefix=entry.hash_prefix,
                                       progress=progress)
    except _DOWNLOAD_ERRORS as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise ZooError(f"zoo model {entry.name!r}: cannot fetch {url} to {path}: {reason}; "
                       f"put the file {entry.file_name} at {path}, or set {MIRROR_ENV} to a "
                       f"folder or URL holding it") from None


def fetch_published(entry: ZooEntry, *, mirror: Optional[str] = None,
                    progress: Optional[bool] = None) -> str:
    """The local path of the published file, downloaded if the cache lacks a good copy."""
    path = os.path.join(cache_dir(), entry.file_name)
    if os.path.exists(path):
        digest = file_sha256(path)
        if digest.startswith(entry.hash_prefix):
            return path
        _discard(path, f"its sha256 {digest[:12]}... does not start with {entry.hash_prefix}")
    progress = sys.stderr.isatty() if progress is None else progress
    _download(entry, source_url(entry, mirror), path, progress)
    return path


def _fingerprint(cfg: CfgNode, class_names: List[str]) -> str:
    """sha256 of what a conversion stores besides the weights: config and class names."""
    return hashlib.sha256((cfg.dump() + "\n".join(class_names)).encode("utf-8")).hexdigest()


def _convert(entry: ZooEntry, cfg: CfgNode, class_names: List[str], published: str,
             sha256: str) -> Dict:
    """The plugin checkpoint of the published file, with its class names and origin; its
    "cfg" is the entry's config, so a loader tests it with the publisher's settings."""
    checkpoint = mmcv_to_plugin(load_mmcv_checkpoint(published), published, cfg)
    changes = config_changes(checkpoint["cfg"], cfg)
    if changes:  # e.g. a label map with another class count than the file's classifier
        raise ZooError(f"zoo model {entry.name!r}: {published} does not fit the entry's "
                       f"config: {'; '.join(changes[:5])} (file -> entry)")
    checkpoint.update(cfg=cfg.dump(), class_names=class_names,
                      zoo={"name": entry.name, "url": entry.url, "sha256": sha256})
    return checkpoint


def _cached_ok(path: str, fingerprint: str) -> bool:
    """True if the converted file is the one its sidecar describes, made from this entry;
    deletes it otherwise."""
    if not os.path.exists(path) or not os.path.exists(_sidecar(path)):
        return False  # not converted, or a conversion under way: converting replaces it
    try:
        with open(_sidecar(path), encoding="utf-8") as f:
            sidecar = json.load(f)
        recorded = sidecar["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        remove_converted(path, f"its sidecar {_sidecar(path)} is unusable: {err!r}")
        return False
    if sidecar.get("entry_sha256") != fingerprint:
        remove_converted(path, "its zoo entry's config or labels changed since")
        return False
    if file_sha256(path) != recorded:
        remove_converted(path, "its sha256 is not the one its sidecar records")
        return False
    return True


def remove_converted(path: str, why: str) -> None:
    """Delete a converted checkpoint and its sidecar, logging ``why``."""
    if os.path.exists(path):
        _discard(path, why)
    if os.path.exists(_sidecar(path)):
        os.remove(_sidecar(path))


def ensure_converted(entry: ZooEntry, *, mirror: Optional[str] = None,
                     progress: Optional[bool] = None) -> str:
    """The converted checkpoint of ``entry``: from the cache when its sidecar vouches for
    it (no network), else fetched, converted and cached."""
    path = converted_path(entry)
    cfg, class_names = entry.config(), entry.class_names
    fingerprint = _fingerprint(cfg, class_names)
    if _cached_ok(path, fingerprint):
        return path
    published = fetch_published(entry, mirror=mirror, progress=progress)
    source_sha256 = file_sha256(published)
    buffer = io.BytesIO()
    torch.save(_convert(entry, cfg, class_names, published, source_sha256), buffer)
    data = buffer.getvalue()
    _write_atomic(path, data)
    sidecar = {"sha256": hashlib.sha256(data).hexdigest(), "entry_sha256": fingerprint,
               "name": entry.name, "url": entry.url, "source_sha256": source_sha256}
    _write_atomic(_sidecar(path), json.dumps(sidecar, indent=1).encode("utf-8"))
    logger.info("zoo: converted %s to %s", published, path)
    return path
