"""Value checks of a config: every rule on a key's value, in one table.

fvcore checks that keys exist and types match; these checks catch the values it cannot
(``RGBPOSE.AMP_DTYPE: BF16``, ``DATA.ON_ERROR: ignore``, ``SOLVER.MAX_EPOCH: 0``)
before anything trains, naming the key, the value and the allowed ones.

:func:`check_values` applies every rule to a config; it runs when a config is loaded
(each stage's config, :mod:`.stages`) and when a stage starts training or testing. Code
that takes one of these values as a plain argument (``DataOptions``, ``load_split``'s
``on_error``, the LR schedule) applies the same rule by key name with :func:`check_value`
or the cross-key rule's function, rather than stating the rule again.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

from fvcore.common.config import CfgNode

from ..errors import ConfigError
from ..model_kinds import MODEL_KINDS

__all__ = ["CHOICES", "POSITIVE", "check_heatmap_channels", "check_lr_schedule",
           "check_value", "check_values", "frame_ratio", "get_key", "scaled_base_lr"]

# Keys whose value must be one of a few strings.
CHOICES: Dict[str, Tuple[str, ...]] = {
    "DATA.ON_ERROR": ("raise", "skip"),
    "SOLVER.OPTIMIZING_METHOD": ("sgd",),
    "SOLVER.LR_POLICY": ("cosine", "steps_with_relative_lrs"),
    "RGBPOSE.AMP_DTYPE": ("fp16", "bf16"),
    "RGBPOSE.RECIPE.ON_CONFIG_CHANGE": ("stop", "reuse", "redo"),
}
# What to write instead of a value that is not allowed but that users try.
HINTS: Dict[Tuple[str, Any], str] = {
    ("SOLVER.LR_POLICY", "steps"): (
        "a decay by 0.1 at epochs 12 and 16 is steps_with_relative_lrs with STEPS [0, 12, 16] "
        "and LRS [1, 0.1, 0.01]"),
}
# Keys that must be > 0.
POSITIVE: Tuple[str, ...] = (
    "MODEL.NUM_CLASSES", "DATA.NUM_FRAMES", "DATA.POSE_NUM_FRAMES", "DATA.REPEAT",
    "DATA.TRAIN_CROP_SIZE", "DATA.TEST_CROP_SIZE", "TRAIN.BATCH_SIZE", "TEST.BATCH_SIZE",
    "TEST.NUM_ENSEMBLE_VIEWS", "SOLVER.MAX_EPOCH", "RGBPOSE.TRANSFORM.RESIZE_SCALE",
)


def get_key(cfg: CfgNode, key: str) -> Any:
    """``cfg["A"]["B"]`` for ``key="A.B"``."""
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def check_value(key: str, value: Any, where: str = "config") -> None:
    """Raise :class:`ConfigError` unless ``value`` keeps the rule of ``key`` in
    :data:`CHOICES` or :data:`POSITIVE` (keys in neither have no rule here)."""
    allowed = CHOICES.get(key)
    if allowed is not None and value not in allowed:
        hint = HINTS.get((key, value))
        raise ConfigError(f"{where}: {key} is {value!r}; allowed: "
                          f"{', '.join(repr(a) for a in allowed)}"
                          + (f" ({hint})" if hint else ""))
    if key in POSITIVE and not value > 0:
        raise ConfigError(f"{where}: {key} must be positive, got {value}")


def check_values(cfg: CfgNode, where: str) -> None:
    """Apply every rule of this module to ``cfg``; the first broken one raises
    :class:`ConfigError` naming ``where`` and the key."""
    for key in (*CHOICES, *POSITIVE):
        check_value(key, get_key(cfg, key), where)
    frame_ratio(cfg, where)
    check_lr_schedule(cfg, where)
    if _takes_pose(cfg.MODEL.MODEL_NAME):
        check_heatmap_channels(cfg.RGBPOSE.HEATMAP.WITH_KP, cfg.RGBPOSE.HEATMAP.WITH_LIMB, where)


# --- rules across keys ------------------------------------------------------------------


def frame_ratio(cfg: CfgNode, where: str = "config") -> int:
    """Pose frames per RGB frame: the lateral connections' temporal stride."""
    ratio, rest = divmod(cfg.DATA.POSE_NUM_FRAMES, cfg.DATA.NUM_FRAMES)
    if rest:
        raise ConfigError(f"{where}: DATA.POSE_NUM_FRAMES ({cfg.DATA.POSE_NUM_FRAMES}) must be "
                          f"a multiple of DATA.NUM_FRAMES ({cfg.DATA.NUM_FRAMES}) for the "
                          f"lateral connections")
    return ratio


def scaled_base_lr(cfg: CfgNode) -> float:
    """BASE_LR, scaled linearly when the total batch (TRAIN.BATCH_SIZE per shard times
    NUM_SHARDS) differs from SOLVER.REFERENCE_BATCH_SIZE (when that is set)."""
    ref = cfg.SOLVER.REFERENCE_BATCH_SIZE
    total = cfg.TRAIN.BATCH_SIZE * max(1, cfg.NUM_SHARDS)
    return cfg.SOLVER.BASE_LR * (total / ref if ref > 0 else 1.0)


def check_lr_schedule(cfg: CfgNode, where: str = "config") -> None:
    """SOLVER.LR_POLICY and the keys its policy reads: ``cosine`` decays to a
    COSINE_END_LR below the (scaled) base LR; ``steps_with_relative_lrs`` has STEPS from
    epoch 0 and one LRS factor per step (PySlowFast's meaning of both)."""
    s = cfg.SOLVER
    check_value("SOLVER.LR_POLICY", s.LR_POLICY, where)
    if s.LR_POLICY == "cosine":
        base = scaled_base_lr(cfg)
        if not s.COSINE_END_LR < base:
            raise ConfigError(f"{where}: SOLVER.COSINE_END_LR ({s.COSINE_END_LR}) must be "
                              f"below the base learning rate ({base})")
    elif s.LR_POLICY == "steps_with_relative_lrs" and (
            not s.STEPS or s.STEPS[0] != 0 or len(s.LRS) != len(s.STEPS)):
        raise ConfigError(
            f"{where}: SOLVER.LR_POLICY steps_with_relative_lrs needs SOLVER.STEPS starting "
            f"at 0 and one SOLVER.LRS factor per step (PySlowFast's meaning); got STEPS "
            f"{list(s.STEPS)}, LRS {list(s.LRS)}")


def check_heatmap_channels(with_kp: bool, with_limb: bool, where: str = "config") -> None:
    """Pose heatmaps need joint maps (RGBPOSE.HEATMAP.WITH_KP), limb maps (WITH_LIMB) or both."""
    if not (with_kp or with_limb):
        raise ConfigError(f"{where}: RGBPOSE.HEATMAP: WITH_KP or WITH_LIMB must be set")


def _takes_pose(model_name: str) -> bool:
    """Whether the model kind named ``model_name`` reads heatmaps (False for a name that
    is not a kind: the stage graph sets each stage's)."""
    return any(k.name == model_name and "pose" in k.streams for k in MODEL_KINDS)
