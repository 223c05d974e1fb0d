"""MMAction2's shipped configs, read from the installed package."""

from __future__ import annotations

from pathlib import Path

import mmaction
from mmengine.config import Config

__all__ = ["stock_config", "stock_config_path"]


def stock_config_path(name: str) -> Path:
    """The file of a shipped config, ``name`` as after ``mmaction::`` (e.g.
    ``skeleton/posec3d/rgbpose_conv3d/rgbpose_conv3d.py``)."""
    path = Path(mmaction.__file__).parent / ".mim" / "configs" / name
    if not path.is_file():
        raise FileNotFoundError(f"mmaction {mmaction.__version__} ships no config {name!r} "
                                f"(looked for {path})")
    return path


def stock_config(name: str) -> Config:
    """A shipped config, loaded (``mmaction::name`` in a ``_base_`` line means the same)."""
    return Config.fromfile(str(stock_config_path(name)))
