"""Weights: pyskl / mmaction2 checkpoint conversion and the stage-1 merge."""

from .convert import (
    WeightMismatchError,
    check_state_matches,
    config_for_layout,
    mmcv_to_plugin,
    plugin_to_mmcv,
    state_problems,
    summarize_problems,
)
from .finetune import load_for_finetune
from .merge import merge_checkpoint_files, merge_stage1_weights
from .mmcv_names import NameLayout, WeightNameError, from_mmcv, to_mmcv

__all__ = [
    "NameLayout",
    "WeightMismatchError",
    "WeightNameError",
    "check_state_matches",
    "config_for_layout",
    "from_mmcv",
    "load_for_finetune",
    "merge_checkpoint_files",
    "merge_stage1_weights",
    "mmcv_to_plugin",
    "plugin_to_mmcv",
    "state_problems",
    "summarize_problems",
    "to_mmcv",
]
