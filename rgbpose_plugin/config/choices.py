"""Keys that take one of a fixed set of values, checked before a run starts.

fvcore checks a value's type but not its spelling: ``TRAIN.MIXED_PRECISION: BF16`` is a
valid string and would silently train in fp32. :func:`check_choices` fails instead,
naming the key and the allowed values.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

from fvcore.common.config import CfgNode

from . import ConfigError

__all__ = ["ALLOWED_VALUES", "check_choices"]

# key -> allowed values ("" = off / full precision).
ALLOWED_VALUES: Dict[str, Tuple[Any, ...]] = {
    "TRAIN.MIXED_PRECISION": ("", "bf16", "fp16"),
}


def _lookup(cfg: CfgNode, key: str) -> Any:
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def check_choices(cfg: CfgNode) -> None:
    """Raise :class:`ConfigError` for a key of :data:`ALLOWED_VALUES` set to another value."""
    for key, allowed in ALLOWED_VALUES.items():
        value = _lookup(cfg, key)
        if value not in allowed:
            raise ConfigError(f"{key} is {value!r}; allowed values: "
                              f"{', '.join(repr(a) for a in allowed)}")
