"""Reading configs: defaults, then a YAML file (with ``_BASE_``), then ``--opts``.

Every mistake is a :class:`~rgbpose_plugin.errors.ConfigError` naming the key and where
it came from. ``_BASE_`` paths are relative to the file that names them (fvcore's rule).
``--opts`` keys under a stage section (``RGBPOSE.RECIPE.RGB_ONLY.SOLVER.MAX_EPOCH 2``)
add that one setting to the section; they are checked with the section when the stage
configs are built (:func:`rgbpose_plugin.config.stages.check_stages`).
"""

from __future__ import annotations

from typing import Callable, List, Sequence, Tuple

from fvcore.common.config import CfgNode

from ..errors import ConfigError
from ..stage_graph import SECTIONS
from .defaults import get_cfg
from .stages import check_stages

__all__ = ["load_cfg", "merge_opts", "merge_file"]

_SECTION_PREFIX = "RGBPOSE.RECIPE."


def _merge(cfg: CfgNode, source: str, merge: Callable[[], None]) -> None:
    try:
        merge()
    except KeyError as err:  # fvcore: "Non-existent config key: X"
        raise ConfigError(f"{source}: {err.args[0] if err.args else err}") from None
    except (ValueError, AssertionError, TypeError) as err:  # type mismatches, odd opts
        raise ConfigError(f"{source}: {err}") from None
    except OSError as err:  # a missing file or _BASE_
        raise ConfigError(f"{source}: cannot read ({err.strerror or err}: "
                          f"{err.filename or source}); _BASE_ paths are relative to the "
                          f"file naming them") from None
    _open_sections(cfg)


def _open_sections(cfg: CfgNode) -> None:
    """Stage sections take any key (checked when the stage is built), at every depth."""
    if "RGBPOSE" in cfg and "RECIPE" in cfg.RGBPOSE:
        for section in SECTIONS:
            if section in cfg.RGBPOSE.RECIPE:
                cfg.RGBPOSE.RECIPE[section].set_new_allowed(True)


def _split_section_opts(opts: List) -> Tuple[List, List[Tuple[str, List[str], str]]]:
    """``(plain KEY VALUE list, [(section, key path, value), ...])``."""
    plain, sectioned = [], []
    for key, value in zip(opts[0::2], opts[1::2]):
        parts = str(key).split(".")
        if str(key).startswith(_SECTION_PREFIX) and len(parts) > 3 and parts[2] in SECTIONS:
            sectioned.append((parts[2], parts[3:], value))
        else:
            plain += [key, value]
    return plain, sectioned


def merge_opts(cfg: CfgNode, opts: Sequence, source: str = "--opts") -> CfgNode:
    """Merge a flat ``[KEY, VALUE, ...]`` list into ``cfg``; errors name the key."""
    opts = list(opts)
    if len(opts) % 2:
        raise ConfigError(f"{source}: expected KEY VALUE pairs, got an odd list {opts}")
    plain, sectioned = _split_section_opts(opts)
    _merge(cfg, source, lambda: cfg.merge_from_list(plain))
    for section, path, value in sectioned:
        node = cfg.RGBPOSE.RECIPE[section]
        for part in path[:-1]:
            node = node.setdefault(part, CfgNode(new_allowed=True))
        node[path[-1]] = CfgNode._decode_cfg_value(value)
    return cfg


def merge_file(cfg: CfgNode, path: str) -> CfgNode:
    """Merge the YAML file at ``path`` (and its ``_BASE_`` chain) into ``cfg``."""
    _merge(cfg, path, lambda: cfg.merge_from_file(path))
    return cfg


def load_cfg(path: str = "", opts: Sequence = (), *, check: bool = True) -> CfgNode:
    """Defaults, then the YAML file at ``path``, then ``opts``; then, with ``check``,
    every stage's config is built and checked (see :func:`~.stages.check_stages`).

    Any unknown key, wrong type or bad value raises :class:`ConfigError` naming the key,
    the stage and the file, before anything runs.
    """
    cfg = get_cfg()
    if path:
        merge_file(cfg, path)
    merge_opts(cfg, opts)
    if check:
        check_stages(cfg, path or "the defaults", opts)
    return cfg
