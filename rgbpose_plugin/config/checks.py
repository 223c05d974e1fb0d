"""Value checks of a config: every enumerated or bounded key in one table.

fvcore checks that keys exist and types match; these checks catch the values it cannot
(``RGBPOSE.AMP_DTYPE: BF16``, ``DATA.ON_ERROR: ignore``, ``SOLVER.MAX_EPOCH: 0``)
before anything trains, naming the key, the value and the allowed ones.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

from fvcore.common.config import CfgNode

from ..errors import ConfigError

__all__ = ["CHOICES", "POSITIVE", "check_values", "frame_ratio", "get_key"]

# Keys whose value must be one of a few strings.
CHOICES: Dict[str, Tuple[str, ...]] = {
    "DATA.ON_ERROR": ("raise", "skip"),
    "SOLVER.OPTIMIZING_METHOD": ("sgd",),
    "SOLVER.LR_POLICY": ("cosine", "steps_with_relative_lrs"),
    "RGBPOSE.AMP_DTYPE": ("fp16", "bf16"),
    "RGBPOSE.RECIPE.ON_CONFIG_CHANGE": ("stop", "reuse", "redo"),
}
# Keys that must be > 0.
POSITIVE: Tuple[str, ...] = (
    "MODEL.NUM_CLASSES", "DATA.NUM_FRAMES", "DATA.POSE_NUM_FRAMES", "DATA.REPEAT",
    "DATA.TRAIN_CROP_SIZE", "DATA.TEST_CROP_SIZE", "TRAIN.BATCH_SIZE", "TEST.BATCH_SIZE",
    "TEST.NUM_ENSEMBLE_VIEWS", "SOLVER.MAX_EPOCH",
)


def get_key(cfg: CfgNode, key: str) -> Any:
    """``cfg["A"]["B"]`` for ``key="A.B"``."""
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def check_values(cfg: CfgNode, where: str) -> None:
    """Raise :class:`ConfigError` (naming ``where`` and the key) on a bad value."""
    for key, allowed in CHOICES.items():
        value = get_key(cfg, key)
        if value not in allowed:
            raise ConfigError(f"{where}: {key} is {value!r}; allowed: "
                              f"{', '.join(repr(a) for a in allowed)}")
    for key in POSITIVE:
        if not get_key(cfg, key) > 0:
            raise ConfigError(f"{where}: {key} must be positive, got {get_key(cfg, key)}")
    frame_ratio(cfg, where)


def frame_ratio(cfg: CfgNode, where: str = "config") -> int:
    """Pose frames per RGB frame: the lateral connections' temporal stride."""
    ratio, rest = divmod(cfg.DATA.POSE_NUM_FRAMES, cfg.DATA.NUM_FRAMES)
    if rest:
        raise ConfigError(f"{where}: DATA.POSE_NUM_FRAMES ({cfg.DATA.POSE_NUM_FRAMES}) must be "
                          f"a multiple of DATA.NUM_FRAMES ({cfg.DATA.NUM_FRAMES}) for the "
                          f"lateral connections")
    return ratio
