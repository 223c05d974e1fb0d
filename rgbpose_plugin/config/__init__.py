"""Configuration: defaults, the plugin's keys for a host config, and YAML loading."""

from __future__ import annotations

from typing import Sequence

from fvcore.common.config import CfgNode

from .defaults import add_rgbpose_config, get_cfg

__all__ = ["ConfigError", "add_rgbpose_config", "get_cfg", "load_cfg", "merge_opts"]


class ConfigError(ValueError):
    """A config file or override is malformed; the message names the key and source."""


def _merge(cfg: CfgNode, source: str, merge) -> None:
    try:
        merge()
    except KeyError as err:  # fvcore: "Non-existent config key: X"
        raise ConfigError(f"{source}: {err.args[0] if err.args else err}") from None
    except (ValueError, AssertionError) as err:  # type mismatches, odd-length opts
        raise ConfigError(f"{source}: {err}") from None


def merge_opts(cfg: CfgNode, opts: Sequence, source: str = "--opts") -> CfgNode:
    """Merge a flat ``[KEY, VALUE, ...]`` list into ``cfg``; errors name the key."""
    opts = list(opts)
    if len(opts) % 2:
        raise ConfigError(f"{source}: expected KEY VALUE pairs, got an odd list {opts}")
    _merge(cfg, source, lambda: cfg.merge_from_list(opts))
    return cfg


def load_cfg(path: str = "", opts: Sequence = ()) -> CfgNode:
    """Defaults, then the YAML file at ``path`` (with ``_BASE_``), then ``opts``.

    An unknown key raises :class:`ConfigError` naming the key and the file.
    """
    cfg = get_cfg()
    if path:
        _merge(cfg, path, lambda: cfg.merge_from_file(path))
    merge_opts(cfg, opts)
    return cfg
