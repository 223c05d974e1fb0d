"""The staged recipe of RGBPoseConv3D as a small stage graph::

    rgb_only ──┐
               ├──> merge ──> rgbpose ──> test
    pose_only ─┘

Each stage runs with the base config plus its ``RGBPOSE.RECIPE.<STAGE>_OPTS`` in its own
folder ``OUTPUT_DIR/<stage>`` and, when finished, writes ``DONE.json`` there (its
checkpoint and metrics). A run executes every stage that is not done yet, in order; a
stage whose weights are supplied (``RGBPOSE.RECIPE.*_CHECKPOINT``, e.g. released weights
converted with tools/convert_checkpoint.py) is skipped, and so are the stages feeding it.
Stage 1 models are also tested, so the summary can show their late fusion beside the
fused model: the paper's table.
"""

from __future__ import annotations

import json
import os
from typing import Callable, Dict, Optional, Sequence

from fvcore.common.config import CfgNode
from iopath.common.file_io import g_pathmgr

from .config import merge_opts
from .engine.distributed import barrier, is_main
from .engine.evaluation import align, load_results, score_metrics
from .engine.logs import setup_logging
from .engine.tester import test
from .engine.trainer import train

__all__ = ["DONE_FILE", "STAGES", "run", "run_recipe", "run_stage", "stage_cfg", "stage_pending",
           "stage_record", "summary_table"]

STAGES = ("rgb_only", "pose_only", "merge", "rgbpose", "test")
DONE_FILE = "DONE.json"  # OUTPUT_DIR/<stage>/DONE.json: a finished stage's checkpoint, metrics
_OPTS = {"rgb_only": "RGB_ONLY_OPTS", "pose_only": "POSE_ONLY_OPTS", "rgbpose": "RGBPOSE_OPTS",
         "test": "RGBPOSE_OPTS"}
_SUPPLIED = {"rgb_only": "RGB_ONLY_CHECKPOINT", "pose_only": "POSE_ONLY_CHECKPOINT",
             "merge": "MERGED_CHECKPOINT", "rgbpose": "RGBPOSE_CHECKPOINT"}
# A supplied checkpoint also makes these earlier stages unnecessary.
_FEEDS = {"merge": ("rgb_only", "pose_only"), "rgbpose": ("rgb_only", "pose_only", "merge")}


def stage_cfg(cfg: CfgNode, stage: str) -> CfgNode:
    """The config one stage runs with: base + its OPTS, in ``OUTPUT_DIR/<stage>``."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    out = cfg.clone()
    out.defrost()
    if stage in _OPTS:
        merge_opts(out, out.RGBPOSE.RECIPE[_OPTS[stage]], f"RGBPOSE.RECIPE.{_OPTS[stage]}")
    if stage == "test":
        merge_opts(out, out.RGBPOSE.RECIPE.TEST_OPTS, "RGBPOSE.RECIPE.TEST_OPTS")
    out.OUTPUT_DIR = os.path.join(cfg.OUTPUT_DIR, stage)
    return out


def _done_path(cfg: CfgNode, stage: str) -> str:
    return os.path.join(cfg.OUTPUT_DIR, stage, DONE_FILE)


def stage_record(cfg: CfgNode, stage: str) -> Optional[Dict]:
    """What a finished stage left (checkpoint, metrics), or None if it has not finished."""
    path = _done_path(cfg, stage)
    if not g_pathmgr.exists(path):
        return None
    with g_pathmgr.open(path, "r") as f:
        return json.load(f)


def _supplied_checkpoint(cfg: CfgNode, stage: str) -> str:
    """A user-supplied checkpoint that replaces ``stage`` (directly or downstream)."""
    for later, feeds in _FEEDS.items():
        if stage in feeds and cfg.RGBPOSE.RECIPE[_SUPPLIED[later]]:
            return f"(not needed: {later} weights supplied)"
    key = _SUPPLIED.get(stage)
    return cfg.RGBPOSE.RECIPE[key] if key else ""


def _checkpoint_of(cfg: CfgNode, stage: str) -> str:
    supplied = cfg.RGBPOSE.RECIPE[_SUPPLIED[stage]]
    if supplied:
        return supplied
    record = stage_record(cfg, stage)
    if record is None:
        raise RuntimeError(f"stage {stage!r} has not finished (no {_done_path(cfg, stage)}) and "
                           f"RGBPOSE.RECIPE.{_SUPPLIED[stage]} is empty")
    return record["checkpoint"]


def _write_record(cfg: CfgNode, stage: str, record: Dict) -> None:
    if is_main():
        g_pathmgr.mkdirs(os.path.dirname(_done_path(cfg, stage)))
        with g_pathmgr.open(_done_path(cfg, stage), "w") as f:
            json.dump(record, f, indent=2)
    barrier()


def _train_and_test(scfg: CfgNode) -> Dict:
    record = dict(train(scfg))
    if scfg.TEST.ENABLE:
        tcfg = scfg.clone()
        tcfg.defrost()
        tcfg.TEST.CHECKPOINT_FILE_PATH = record["checkpoint"]
        record["test"] = test(tcfg)
    return record


def _merge(cfg: CfgNode, scfg: CfgNode) -> Dict:
    from .weights import merge_checkpoint_files

    dst = os.path.join(scfg.OUTPUT_DIR, "rgbpose_init.pyth")
    rgb, pose = _checkpoint_of(cfg, "rgb_only"), _checkpoint_of(cfg, "pose_only")
    if is_main():
        merge_checkpoint_files(stage_cfg(cfg, "rgbpose"), rgb, pose, dst)
    barrier()
    return {"checkpoint": dst, "sources": [rgb, pose]}


def _finetune(cfg: CfgNode, scfg: CfgNode) -> Dict:
    if not scfg.TRAIN.CHECKPOINT_FILE_PATH:
        scfg.TRAIN.CHECKPOINT_FILE_PATH = _checkpoint_of(cfg, "merge")
    return dict(train(scfg))  # the multi-view test is its own stage


def _test(cfg: CfgNode, scfg: CfgNode) -> Dict:
    if not scfg.TEST.CHECKPOINT_FILE_PATH:
        scfg.TEST.CHECKPOINT_FILE_PATH = _checkpoint_of(cfg, "rgbpose")
    return {"checkpoint": scfg.TEST.CHECKPOINT_FILE_PATH, "test": test(scfg)}


_RUNNERS: Dict[str, Callable[[CfgNode, CfgNode], Dict]] = {
    "rgb_only": lambda cfg, scfg: _train_and_test(scfg),
    "pose_only": lambda cfg, scfg: _train_and_test(scfg),
    "merge": _merge,
    "rgbpose": _finetune,
    "test": _test,
}


def stage_pending(cfg: CfgNode, stage: str) -> bool:
    """True if ``stage`` still has work: not done and not replaced by supplied weights."""
    return not _supplied_checkpoint(cfg, stage) and stage_record(cfg, stage) is None


def run_stage(cfg: CfgNode, stage: str, force: bool = False) -> Dict:
    """Run one stage unless it is done or replaced by supplied weights."""
    log = setup_logging(cfg.OUTPUT_DIR)
    supplied = _supplied_checkpoint(cfg, stage)
    if supplied:
        log.info(f"stage {stage}: skipped, weights supplied {supplied}")
        return {"checkpoint": supplied, "skipped": True}
    record = stage_record(cfg, stage)
    if record is not None and not force:
        log.info(f"stage {stage}: already done ({_done_path(cfg, stage)})")
        return record
    log.info(f"===== stage {stage} =====")
    record = _RUNNERS[stage](cfg, stage_cfg(cfg, stage))
    _write_record(cfg, stage, record)
    return record


def run_recipe(cfg: CfgNode, stages: Optional[Sequence[str]] = None) -> Dict:
    """Run the configured stages in order; returns the summary (also in summary.json)."""
    wanted = list(stages or cfg.RGBPOSE.RECIPE.STAGES)
    for stage in wanted:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    for stage in STAGES:  # always in graph order
        if stage in wanted:
            run_stage(cfg, stage)
    summary = summarize(cfg)
    if is_main():
        with g_pathmgr.open(os.path.join(cfg.OUTPUT_DIR, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
        table = summary_table(summary)
        with g_pathmgr.open(os.path.join(cfg.OUTPUT_DIR, "summary.md"), "w") as f:
            f.write(table + "\n")
        setup_logging(cfg.OUTPUT_DIR).info("\n" + table)
    return summary


def summarize(cfg: CfgNode) -> Dict:
    """Top-1/top-5 of every tested model, plus the late fusion of the stage-1 models."""
    rows: Dict[str, Dict] = {}
    tested = {s: r["test"] for s in STAGES if (r := stage_record(cfg, s)) and "test" in r}
    for stage in ("rgb_only", "pose_only"):
        if stage in tested:
            rows[stage.replace("_", "-")] = next(iter(tested[stage]["metrics"].values()))
    if "rgb_only" in tested and "pose_only" in tested:
        a, b = load_results(tested["rgb_only"]["results"]), load_results(tested["pose_only"]["results"])
        _, labels, (sa, sb) = align([a, b], ["rgb_only", "pose_only"])
        rows["late fusion 1:1"] = score_metrics(sa["rgb"] + sb["pose"], labels)
    final = tested.get("test") or tested.get("rgbpose")
    if final:
        for name, metrics in final["metrics"].items():
            rows[f"RGBPoseConv3D {name}"] = metrics
    return {"rows": rows}


def summary_table(summary: Dict) -> str:
    lines = ["| model / scores | top-1 (%) | top-5 (%) |", "|---|---:|---:|"]
    lines += [f"| {name} | {m['top1']:.1f} | {m['top5']:.1f} |" for name, m in summary["rows"].items()]
    return "\n".join(lines)


def run(cfg: CfgNode, stage: str = "") -> Dict:
    """Entry point of tools/run_net.py in every process: one stage, or the recipe."""
    return run_recipe(cfg, [stage] if stage else None)
