"""The staged recipe of RGBPoseConv3D as data: the one place that says what the stages are::

    rgb_only ──┐
               ├──> merge ──> rgbpose ──> test
    pose_only ─┘

Each stage has an action (train a model, merge two into the fused model's initial
weights, or run the multi-view test), the model kind it works on, the stages whose
results it needs and the config sections (``RGBPOSE.RECIPE.<SECTION>``) laid over the
base config for it. The runner (:mod:`rgbpose_plugin.recipe`), the stage configs
(:mod:`rgbpose_plugin.config.stages`), the SLURM planner and the inference tools derive
everything from this table: a new stage is one row here plus, for a new action, its
runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Set, Tuple

from .errors import ConfigError
from .model_kinds import model_kind

__all__ = ["Stage", "STAGES", "STAGE_NAMES", "SECTIONS", "stage", "upstream", "downstream",
           "stage_that_tests"]

ACTIONS = ("train", "merge", "test")


@dataclass(frozen=True)
class Stage:
    name: str
    action: str  # "train", "merge" or "test"
    model: str  # MODEL.MODEL_NAME it trains, builds or tests
    needs: Tuple[str, ...] = ()  # stages whose results it consumes
    sections: Tuple[str, ...] = ()  # RGBPOSE.RECIPE sections over the base, in order
    tested: bool = False  # a training stage that also runs the multi-view test
    # Config keys (or "GROUP." prefixes) its result depends on; empty: every key but those
    # saying where and how it runs (rgbpose_plugin/config/stages.py RUNTIME_KEYS).
    result_keys: Tuple[str, ...] = ()

    @property
    def supplied_key(self) -> str:
        """``RGBPOSE.RECIPE.<key>``: weights that replace this stage ("" if it makes none)."""
        return f"{self.name.upper()}_CHECKPOINT" if self.action != "test" else ""


# What the merge's result (the fused model's initial weights) depends on: the model.
_ARCHITECTURE = ("MODEL.", "RGBPOSE.RGB.", "RGBPOSE.POSE.", "RGBPOSE.FUSION.",
                 "DATA.NUM_FRAMES", "DATA.POSE_NUM_FRAMES")

STAGES: Tuple[Stage, ...] = (
    # Stage 1: the two single-stream models, tested too (the late-fusion row).
    Stage("rgb_only", "train", "RGBSlowOnly", sections=("RGB_ONLY",), tested=True),
    Stage("pose_only", "train", "PoseSlowOnly", sections=("POSE_ONLY",), tested=True),
    # Stage 2: their weights become the fused model's initial weights.
    Stage("merge", "merge", "RGBPoseConv3D", needs=("rgb_only", "pose_only"),
          sections=("RGBPOSE",), result_keys=_ARCHITECTURE),
    # Stage 3: finetune the fused model; stage 4: its multi-view test.
    Stage("rgbpose", "train", "RGBPoseConv3D", needs=("merge",), sections=("RGBPOSE",)),
    Stage("test", "test", "RGBPoseConv3D", needs=("rgbpose",), sections=("RGBPOSE", "TEST")),
)
STAGE_NAMES: Tuple[str, ...] = tuple(s.name for s in STAGES)
SECTIONS: Tuple[str, ...] = tuple(dict.fromkeys(sec for s in STAGES for sec in s.sections))


def _check_graph() -> None:
    """The table's own consistency: known actions and models, needs listed earlier."""
    seen: Set[str] = set()
    for s in STAGES:
        assert s.action in ACTIONS, s
        model_kind(s.model)
        assert set(s.needs) <= seen, f"stage {s.name} needs a later stage"
        seen.add(s.name)


_check_graph()


def stage(name: str) -> Stage:
    """The stage called ``name``."""
    for s in STAGES:
        if s.name == name:
            return s
    raise ConfigError(f"unknown stage {name!r}; stages are {', '.join(STAGE_NAMES)}")


def upstream(name: str) -> List[str]:
    """Every stage ``name`` depends on, directly or not, in graph order."""
    found: Set[str] = set()
    todo = list(stage(name).needs)
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(stage(current).needs)
    return [s for s in STAGE_NAMES if s in found]


def downstream(name: str) -> List[str]:
    """Every stage that depends on ``name``, directly or not, in graph order."""
    return [s.name for s in STAGES if name in upstream(s.name)]


def stage_that_tests(model: str) -> Stage:
    """The stage whose test settings fit a trained ``model``: its test stage, else the
    training stage that tests it."""
    for action in ("test", "train"):
        for s in STAGES:
            if s.model == model and s.action == action and (action == "test" or s.tested):
                return s
    raise ConfigError(f"no recipe stage tests a {model} model")
