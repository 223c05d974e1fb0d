"""Reading a host project's config (e.g. the ``cfg`` dump in its checkpoints) natively.

A PySlowFast checkpoint stores the host's whole config: hundreds of keys the plugin does
not know, next to ``MODEL.*``, ``DATA.*`` and ``RGBPOSE.*``. The plugin's tools take the
keys they know from it and leave the rest; ``RGBPOSE.HOST_MODE`` is switched off, since
the tools use the plugin's own items and outputs.
"""

from __future__ import annotations

from typing import List

from fvcore.common.config import CfgNode

__all__ = ["merge_known_keys", "native_cfg_from_host"]


def merge_known_keys(cfg: CfgNode, other: CfgNode, prefix: str = "") -> List[str]:
    """Merge the keys of ``other`` that ``cfg`` has into ``cfg``; return those it skipped."""
    skipped = []
    for key, value in other.items():
        name = prefix + key
        if key not in cfg:
            skipped.append(name)
        elif isinstance(cfg[key], CfgNode) and isinstance(value, dict):
            skipped += merge_known_keys(cfg[key], CfgNode(value), name + ".")
        elif not isinstance(cfg[key], CfgNode):
            # Through fvcore's merge, so a value of the wrong type fails, naming the key.
            cfg.merge_from_other_cfg(CfgNode({key: value}))
    return skipped


def native_cfg_from_host(host_cfg: CfgNode, base: CfgNode) -> CfgNode:
    """``base`` (the plugin's defaults) with every key ``host_cfg`` shares with it."""
    merge_known_keys(base, host_cfg)
    base.RGBPOSE.HOST_MODE = False
    return base
