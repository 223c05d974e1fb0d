"""The config of each recipe stage, built from the base config and the stage graph.

A stage's config is, in order:

1. the base config (defaults, the YAML file, ``--opts``);
2. its sections ``RGBPOSE.RECIPE.<SECTION>`` (the stage graph lists them: ``test`` takes
   ``RGBPOSE`` then ``TEST``), merged key by key, so a section states only what differs;
3. what the stage graph decides: ``MODEL.MODEL_NAME`` and ``TRAIN/TEST.DATASET`` of the
   stage's model kind, and ``OUTPUT_DIR/<stage>``; a section may not set these;
4. ``RGBPOSE.RECIPE.MAX_EPOCH`` (when > 0) caps a training stage's epochs.

:func:`check_stages` builds every stage's config at once, so a mistake anywhere stops a
run before its first stage. :func:`config_changes` compares a finished stage's recorded
config with this run's, ignoring keys that do not change results.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Sequence

from fvcore.common.config import CfgNode

from ..errors import ConfigError
from ..model_kinds import model_kind
from ..stage_graph import STAGES, stage
from .checks import check_values

__all__ = ["stage_cfg", "check_stages", "config_changes", "flatten", "GRAPH_KEYS",
           "RUNTIME_KEYS"]

# Set by the stage graph; a stage section may not set them.
GRAPH_KEYS = ("MODEL.MODEL_NAME", "TRAIN.DATASET", "TEST.DATASET", "OUTPUT_DIR",
              "RGBPOSE.RECIPE")
# How and where a stage runs, not what it computes: ignored when a rerun compares its
# config with a finished stage's record.
RUNTIME_KEYS = ("OUTPUT_DIR", "NUM_GPUS", "NUM_SHARDS", "SHARD_ID", "DIST_BACKEND",
                "LOG_PERIOD", "DATA_LOADER.", "TENSORBOARD.", "RGBPOSE.CPU_PROCESSES",
                "RGBPOSE.RECIPE.", "TRAIN.AUTO_RESUME", "TEST.SAVE_RESULTS_PATH",
                "DATA.DECODE_THREADS")


def flatten(node: Any, prefix: str = "") -> Dict[str, Any]:
    """``{"SOLVER.BASE_LR": 0.1, ...}``: every leaf of a config tree by its full key."""
    if not isinstance(node, dict):
        return {prefix: node}
    out: Dict[str, Any] = {}
    for key, value in node.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else key))
    return out


def _lay_section(out: CfgNode, cfg: CfgNode, section: str, where: str) -> None:
    node = cfg.RGBPOSE.RECIPE[section]
    fixed = [k for k in flatten(node) if any(k == g or k.startswith(g + ".") for g in GRAPH_KEYS)]
    if fixed:
        raise ConfigError(f"{where}: sets {fixed[0]}, which the stage graph decides "
                          f"(rgbpose_plugin/stage_graph.py); remove it from the section")
    try:
        out.merge_from_other_cfg(node)
    except KeyError as err:  # fvcore: "Non-existent config key: X"
        raise ConfigError(f"{where}: {err.args[0] if err.args else err}") from None
    except (ValueError, AssertionError, TypeError) as err:  # type mismatches
        raise ConfigError(f"{where}: {err}") from None


def _cap_epochs(out: CfgNode, cap: int) -> None:
    """At most ``cap`` epochs; step boundaries and warm-up shrink in proportion."""
    if cap <= 0 or out.SOLVER.MAX_EPOCH <= cap:
        return
    factor = cap / out.SOLVER.MAX_EPOCH
    out.SOLVER.MAX_EPOCH = cap
    out.SOLVER.STEPS = [int(round(s * factor)) for s in out.SOLVER.STEPS]
    out.SOLVER.WARMUP_EPOCHS = float(out.SOLVER.WARMUP_EPOCHS) * factor


def stage_cfg(cfg: CfgNode, name: str, source: str = "the config") -> CfgNode:
    """The config stage ``name`` runs with (see the module docstring)."""
    st = stage(name)
    out = cfg.clone()
    out.defrost()
    for section in st.sections:
        _lay_section(out, cfg, section, f"{source}, stage {name} (RGBPOSE.RECIPE.{section})")
    kind = model_kind(st.model)
    out.MODEL.MODEL_NAME = kind.name
    out.TRAIN.DATASET = out.TEST.DATASET = kind.dataset
    out.OUTPUT_DIR = os.path.join(cfg.OUTPUT_DIR, name)
    if st.action == "train":
        _cap_epochs(out, int(cfg.RGBPOSE.RECIPE.MAX_EPOCH))
    check_values(out, f"{source}, stage {name}")
    return out


def check_stages(cfg: CfgNode, source: str, opts: Sequence = ()) -> None:
    """Build every stage's config; the first mistake raises naming key, stage and file."""
    check_values(cfg, source)
    unknown = [s for s in cfg.RGBPOSE.RECIPE.STAGES if s not in {st.name for st in STAGES}]
    if unknown:
        raise ConfigError(f"{source}: RGBPOSE.RECIPE.STAGES names unknown stage(s) {unknown}; "
                          f"stages are {', '.join(st.name for st in STAGES)}")
    where = f"{source} (with --opts)" if opts else source
    for st in STAGES:
        stage_cfg(cfg, st.name, where)


def _matches(key: str, patterns: Sequence[str]) -> bool:
    return any(key == p or (p.endswith(".") and key.startswith(p)) for p in patterns)


def config_changes(recorded: str, current: CfgNode, only: Sequence[str] = ()) -> List[str]:
    """``["SOLVER.BASE_LR: 0.1 -> 0.2", ...]``: what differs between a stage's recorded
    config (its YAML dump) and ``current``, ignoring :data:`RUNTIME_KEYS` (and, with
    ``only``, keys that match none of its keys or ``"GROUP."`` prefixes)."""
    before = flatten(CfgNode.load_cfg(recorded))
    after = flatten(current)
    changes = []
    for key in sorted(set(before) | set(after)):
        if _matches(key, RUNTIME_KEYS) or (only and not _matches(key, only)):
            continue
        old, new = before.get(key, "<absent>"), after.get(key, "<absent>")
        if isinstance(old, tuple) or isinstance(new, tuple):
            old, new = (list(v) if isinstance(v, tuple) else v for v in (old, new))
        if old != new:
            changes.append(f"{key}: {old!r} -> {new!r}")
    return changes
