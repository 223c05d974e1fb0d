"""Which stock MMAction2 transforms we replace, and a helper to swap them in a pipeline."""

from __future__ import annotations

import copy
from typing import Dict, List, Sequence

__all__ = ["FAST_TRANSFORMS", "use_fast_transforms"]

# Stock name -> our drop-in (same arguments, same output keys and formats).
FAST_TRANSFORMS: Dict[str, str] = {
    "GeneratePoseTarget": "FastGeneratePoseTarget",
    "MMDecode": "FastMMDecode",
    "MMCompact": "FastMMCompact",
}


def use_fast_transforms(pipeline: Sequence[Dict]) -> List[Dict]:
    """A copy of an MMAction2 pipeline (list of transform dicts) with every stock
    transform that has a drop-in replaced by it; arguments are kept as they are."""
    out = []
    for step in pipeline:
        if not isinstance(step, dict) or "type" not in step:
            raise ValueError(f"use_fast_transforms: pipeline steps must be dicts with a "
                             f"'type', got {step!r}")
        step = copy.deepcopy(dict(step))
        step["type"] = FAST_TRANSFORMS.get(step["type"], step["type"])
        out.append(step)
    return out
