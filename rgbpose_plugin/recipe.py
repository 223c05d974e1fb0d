"""Run the staged recipe of RGBPoseConv3D (the stages: :mod:`rgbpose_plugin.stage_graph`).

Each stage runs with its own config (:func:`rgbpose_plugin.config.stage_cfg`) in its own
folder ``OUTPUT_DIR/<stage>`` and, when finished, writes ``DONE.json`` there: its
checkpoint, metrics and the config it ran with. A run executes every stage that is not
done yet, in graph order. A finished stage whose recorded config differs from this run's
stops the run, naming the keys, unless ``RGBPOSE.RECIPE.ON_CONFIG_CHANGE`` is ``reuse``
or ``redo`` (``--reuse`` / ``--redo`` on the command line); a redone stage makes the
stages after it run again too. A stage whose weights are supplied
(``RGBPOSE.RECIPE.<STAGE>_CHECKPOINT``, e.g. released weights converted with
tools/convert_checkpoint.py) is skipped, and so are the stages that only feed it.

Every checkpoint setting a stage reads (``RGBPOSE.RECIPE.<STAGE>_CHECKPOINT``,
``TRAIN.CHECKPOINT_FILE_PATH``, ``TEST.CHECKPOINT_FILE_PATH``) may name a model of the zoo,
``zoo:NAME`` (:mod:`rgbpose_plugin.zoo`). The run fetches all of them before its first
stage, so a wrong name or a failed download stops it in seconds, not after hours of
training; each stage's ``DONE.json`` lists the zoo models it started from and their files.
"""

from __future__ import annotations

import json
import os
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from fvcore.common.config import CfgNode
from iopath.common.file_io import g_pathmgr

from .config import stage_cfg
from .config.stages import config_changes
from .data import build_dataset
from .engine.distributed import barrier, is_main, main_decides
from .engine.evaluation import align, load_results, score_metrics
from .engine.logs import get_logger, log_to
from .engine.run_lock import hold_folder
from .engine.stopping import stop_point
from .engine.tester import test
from .engine.trainer import train
from .errors import ConfigError, Interrupted, VideoError
from .fileio import atomic_write_text
from .model_kinds import model_kind
from .scores import STREAMS, fuse
from .stage_graph import STAGE_NAMES, STAGES, Stage, downstream, stage
from .weights import merge_checkpoint_files
from .zoo import ZOO_PREFIX, is_zoo_ref, resolve_weights

__all__ = ["DONE_FILE", "StageConfigChanged", "done_path", "run", "run_recipe", "run_stage",
           "stage_pending", "stage_record", "summarize", "summary_table"]

DONE_FILE = "DONE.json"  # OUTPUT_DIR/<stage>/DONE.json: a finished stage's checkpoint, metrics


class StageConfigChanged(ConfigError):
    """A finished stage's recorded config differs from this run's."""


def done_path(cfg: CfgNode, name: str) -> str:
    return os.path.join(cfg.OUTPUT_DIR, name, DONE_FILE)


def _read_record(path: str) -> Optional[Dict]:
    if not g_pathmgr.exists(path):
        return None
    with g_pathmgr.open(path, "r") as f:
        return json.load(f)


def stage_record(cfg: CfgNode, name: str) -> Optional[Dict]:
    """What a finished stage left (checkpoint, metrics, config), or None.

    Under DDP rank 0 reads it and every rank gets its answer (so call it on every rank):
    ranks reading a shared folder could otherwise disagree on whether a stage is done.
    """
    return main_decides(lambda: _read_record(done_path(cfg, name)))


def _supplied(cfg: CfgNode, name: str) -> str:
    """Weights that replace stage ``name``, directly or by replacing a stage it feeds."""
    for later in downstream(name):
        key = stage(later).supplied_key
        if key and cfg.RGBPOSE.RECIPE[key]:
            return f"(not needed: {later} weights supplied)"
    key = stage(name).supplied_key
    return cfg.RGBPOSE.RECIPE[key] if key else ""


def _checkpoint_of(cfg: CfgNode, name: str) -> str:
    """The checkpoint file stage ``name`` left, or the weights supplied for it."""
    key = stage(name).supplied_key
    if cfg.RGBPOSE.RECIPE[key]:
        return resolve_weights(cfg.RGBPOSE.RECIPE[key])
    record = stage_record(cfg, name)
    if record is None:
        raise ConfigError(f"stage {name!r} has not finished (no {done_path(cfg, name)}) and "
                          f"RGBPOSE.RECIPE.{key} is empty")
    return record["checkpoint"]


def _weight_settings(cfg: CfgNode, st: Stage, scfg: CfgNode) -> List[Tuple[str, str]]:
    """``[(key, value), ...]``: the checkpoint settings stage ``st`` starts from. Its own
    TRAIN/TEST.CHECKPOINT_FILE_PATH wins over the results of the stages it needs."""
    own = {"train": "TRAIN", "test": "TEST"}.get(st.action)
    if own and scfg[own].CHECKPOINT_FILE_PATH:
        return [(f"{own}.CHECKPOINT_FILE_PATH", scfg[own].CHECKPOINT_FILE_PATH)]
    keys = [stage(n).supplied_key for n in st.needs]
    return [(f"RGBPOSE.RECIPE.{k}", cfg.RGBPOSE.RECIPE[k]) for k in keys if cfg.RGBPOSE.RECIPE[k]]


def _zoo_models(cfg: CfgNode, st: Stage, scfg: CfgNode) -> List[Dict[str, str]]:
    """The zoo models stage ``st`` starts from, with their local files (for DONE.json)."""
    return [{"key": key, "model": value[len(ZOO_PREFIX):], "file": resolve_weights(value)}
            for key, value in _weight_settings(cfg, st, scfg) if is_zoo_ref(value)]


def _fetch_zoo_models(cfg: CfgNode, names: Sequence[str]) -> None:
    """Fetch every zoo model the stages ``names`` will start from, now: an unknown name or a
    failed download stops the run before its first stage, not after hours of training.
    Rank 0 fetches (one download); the others find the files in the cache."""
    if is_main():
        for name in names:
            if not _supplied(cfg, name):
                st = stage(name)
                for used in _zoo_models(cfg, st, stage_cfg(cfg, name)):
                    get_logger().info(f"stage {name}: {used['key']} zoo:{used['model']} "
                                      f"-> {used['file']}")
    barrier()


def _write_record(cfg: CfgNode, name: str, record: Dict) -> None:
    if is_main():
        atomic_write_text(done_path(cfg, name), json.dumps(record, indent=2))
    barrier()


# --- what each action does ---------------------------------------------------------------
def _train(cfg: CfgNode, st: Stage, scfg: CfgNode) -> Dict:
    if st.needs and not scfg.TRAIN.CHECKPOINT_FILE_PATH:
        scfg.TRAIN.CHECKPOINT_FILE_PATH = _checkpoint_of(cfg, st.needs[0])
    if "rgb" in model_kind(st.model).streams:
        splits = ["train"] + ["val"] * (scfg.TRAIN.EVAL_PERIOD > 0) + ["test"] * (
            st.tested and scfg.TEST.ENABLE)
        _check_videos(scfg, splits)
    record = dict(train(scfg))
    stop_point(scfg, record["checkpoint"])  # a stop asked during the last validation
    if st.tested and scfg.TEST.ENABLE:
        tcfg = scfg.clone()
        tcfg.TEST.CHECKPOINT_FILE_PATH = record["checkpoint"]
        record["test"] = test(tcfg)
    return record


def _check_videos(scfg: CfgNode, splits: Sequence[str]) -> None:
    """Every video of the stage's splits exists: all missing ones named in one error,
    before training, not the test split's after it (building a dataset checks them)."""
    missing = []
    for split in splits:
        try:
            build_dataset(scfg, split)
        except VideoError as err:
            missing.append(str(err))
    if missing:
        raise VideoError(" | ".join(missing))


def _merge(cfg: CfgNode, st: Stage, scfg: CfgNode) -> Dict:
    sources = {model_kind(stage(n).model).key: _checkpoint_of(cfg, n) for n in st.needs}
    dst = os.path.join(scfg.OUTPUT_DIR, "rgbpose_init.pyth")
    if is_main():
        merge_checkpoint_files(scfg, sources["rgb"], sources["pose"], dst)
    barrier()
    return {"checkpoint": dst, "sources": [sources["rgb"], sources["pose"]]}


def _test(cfg: CfgNode, st: Stage, scfg: CfgNode) -> Dict:
    if scfg.TEST.CHECKPOINT_FILE_PATH:
        scfg.TEST.CHECKPOINT_FILE_PATH = resolve_weights(scfg.TEST.CHECKPOINT_FILE_PATH)
    else:
        scfg.TEST.CHECKPOINT_FILE_PATH = _checkpoint_of(cfg, st.needs[0])
    return {"checkpoint": scfg.TEST.CHECKPOINT_FILE_PATH, "test": test(scfg)}


_ACTIONS: Dict[str, Callable[[CfgNode, Stage, CfgNode], Dict]] = {
    "train": _train, "merge": _merge, "test": _test}


# --- running stages ------------------------------------------------------------------------
def stage_pending(cfg: CfgNode, name: str) -> bool:
    """True if ``name`` still has work: not done and not replaced by supplied weights."""
    return not _supplied(cfg, name) and stage_record(cfg, name) is None


def _keep_record(cfg: CfgNode, name: str, scfg: CfgNode, record: Dict) -> bool:
    """Whether a finished stage's results serve this run (ON_CONFIG_CHANGE decides)."""
    only = stage(name).result_keys
    changes = config_changes(record["config"], scfg, only) if "config" in record else []
    if not changes:
        return True
    policy = cfg.RGBPOSE.RECIPE.ON_CONFIG_CHANGE
    listed = "; ".join(changes[:8]) + (f"; and {len(changes) - 8} more" if len(changes) > 8 else "")
    log = get_logger()
    if policy == "reuse":
        log.warning(f"stage {name}: reusing its results although its config changed: {listed}")
        return True
    if policy == "redo":
        log.info(f"stage {name}: running again, its config changed: {listed}")
        return False
    raise StageConfigChanged(
        f"stage {name} finished ({done_path(cfg, name)}) with another config: {listed}. "
        f"Run with --reuse to keep its results or --redo to run it (and the stages after "
        f"it) again (RGBPOSE.RECIPE.ON_CONFIG_CHANGE)")


def _run_stage(cfg: CfgNode, name: str, force: bool) -> Tuple[Dict, bool]:
    """``(record, ran)`` for stage ``name``."""
    log = get_logger()
    supplied = _supplied(cfg, name)
    if supplied:
        log.info(f"stage {name}: skipped, weights supplied {supplied}")
        return {"checkpoint": supplied, "skipped": True}, False
    scfg = stage_cfg(cfg, name)
    record = stage_record(cfg, name)
    if record is not None and not force and _keep_record(cfg, name, scfg, record):
        log.info(f"stage {name}: already done ({done_path(cfg, name)})")
        return record, False
    stop_point(scfg, "")  # asked to stop during the previous stage (its test, the merge)
    log.info(f"===== stage {name} =====")
    with hold_folder(scfg.OUTPUT_DIR), log_to(scfg.OUTPUT_DIR):  # one run per stage folder
        st = stage(name)
        try:
            record = dict(_ACTIONS[st.action](cfg, st, scfg.clone()), config=scfg.dump())
            zoo = _zoo_models(cfg, st, scfg)  # already fetched: the cache answers
            if zoo:
                record["zoo"] = zoo
        except KeyboardInterrupt as err:
            if getattr(err, "where", ""):  # the trainer said where it stopped
                raise
            raise Interrupted.at(err, f"in stage {name} ({st.action}); rerun the same command "
                                      f"to run it again (finished stages are kept)") from None
        _write_record(cfg, name, record)
    return record, True


def run_stage(cfg: CfgNode, name: str, force: bool = False) -> Dict:
    """Run one stage unless it is done (with this config) or its weights are supplied."""
    with log_to(cfg.OUTPUT_DIR):
        return _run_stage(cfg, name, force)[0]


def run_recipe(cfg: CfgNode, stages: Optional[Sequence[str]] = None) -> Dict:
    """Run the configured stages in graph order; returns the summary (also summary.json).
    The run's lines go to ``OUTPUT_DIR/log.txt``, each stage's to its own folder's."""
    with log_to(cfg.OUTPUT_DIR):
        return _run_recipe(cfg, stages)


def _run_recipe(cfg: CfgNode, stages: Optional[Sequence[str]]) -> Dict:
    wanted = list(stages or cfg.RGBPOSE.RECIPE.STAGES)
    for name in wanted:
        stage(name)  # an unknown name fails before anything runs
    _fetch_zoo_models(cfg, wanted)
    ran: Set[str] = set()
    for st in STAGES:
        if st.name in wanted:
            rerun = any(n in ran for n in st.needs)  # its inputs were just remade
            if _run_stage(cfg, st.name, force=rerun)[1]:
                ran.add(st.name)
    summary = summarize(cfg)
    if is_main():
        table = summary_table(summary)
        atomic_write_text(os.path.join(cfg.OUTPUT_DIR, "summary.json"), json.dumps(summary, indent=2))
        atomic_write_text(os.path.join(cfg.OUTPUT_DIR, "summary.md"), table + "\n")
        get_logger().info("\n" + table)
    return summary


# --- the paper's table -----------------------------------------------------------------------
def _late_fusion(tested: Dict[str, Dict]) -> Optional[Dict]:
    """1:1 fusion of the tested single-stream models (one per stream), if there are both."""
    singles = {model_kind(stage(n).model).streams[0]: r for n, r in tested.items()
               if len(model_kind(stage(n).model).streams) == 1}
    if set(STREAMS) - set(singles):
        return None
    names = [f"{s} results" for s in STREAMS]
    results = [load_results(singles[s]["results"]) for s in STREAMS]
    _, labels, scores = align(results, names)
    return score_metrics(fuse({s: sc[s] for s, sc in zip(STREAMS, scores)},
                              dict.fromkeys(STREAMS, 1.0)), labels)


def summarize(cfg: CfgNode) -> Dict:
    """Top-1/top-5 of every tested model, plus the late fusion of the stage-1 models."""
    tested = {n: r["test"] for n in STAGE_NAMES if (r := stage_record(cfg, n)) and "test" in r}
    rows: Dict[str, Dict] = {}
    for name, result in tested.items():
        if len(model_kind(stage(name).model).streams) == 1:
            rows[name.replace("_", "-")] = next(iter(result["metrics"].values()))
    late = _late_fusion(tested)
    if late:
        rows["late fusion 1:1"] = late
    fused = [n for n in tested if len(model_kind(stage(n).model).streams) > 1]
    if fused:  # the last stage that tested the fused model
        for name, metrics in tested[fused[-1]]["metrics"].items():
            rows[f"RGBPoseConv3D {name}"] = metrics
    return {"rows": rows}


def summary_table(summary: Dict) -> str:
    lines = ["| model / scores | top-1 (%) | top-5 (%) |", "|---|---:|---:|"]
    lines += [f"| {name} | {m['top1']:.1f} | {m['top5']:.1f} |" for name, m in summary["rows"].items()]
    return "\n".join(lines)


def run(cfg: CfgNode, stage_name: str = "") -> Dict:
    """Entry point of tools/run_net.py in every process: one stage, or the recipe."""
    return run_recipe(cfg, [stage_name] if stage_name else None)

