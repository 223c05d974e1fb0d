"""Multi-view testing of a trained stage: metrics, saved scores, confusion matrix.

The checkpoint is TEST.CHECKPOINT_FILE_PATH (a file or ``zoo:NAME``), else the stage's
last one; it must fit the configured model exactly (class count included).

Each test item holds all ``TEST.NUM_ENSEMBLE_VIEWS`` clips of one video (decoded once);
the model scores every clip, softmax per clip, mean per video and stream.
Writes into ``cfg.OUTPUT_DIR``: ``test_results.pkl`` (or ``TEST.SAVE_RESULTS_PATH``),
``test_metrics.json`` and ``confusion.png``.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Dict

from ..config import check_values
from ..data import build_dataset
from ..fileio import atomic_write_text
from ..labels.lookup import resolve_class_names
from ..models import build_model
from ..scores import fused_table
from ..weights import state_problems, summarize_problems
from ..weights.checkpoints import CheckpointError, last_checkpoint, load_checkpoint
from ..zoo import resolve_weights
from .batch import device_for
from .distributed import is_main
from .evaluation import compute_metrics, confusion_matrix, evaluate, save_results
from .fast_paths import channels_last_model
from .loader import build_loader
from .logs import format_metrics_table, log_to
from .plots import plot_confusion_matrix

__all__ = ["test", "results_path"]


def results_path(cfg) -> str:
    """TEST.SAVE_RESULTS_PATH joined to OUTPUT_DIR (as PySlowFast does; an absolute path
    stays as it is), else OUTPUT_DIR/test_results.pkl."""
    return os.path.join(cfg.OUTPUT_DIR, cfg.TEST.SAVE_RESULTS_PATH or "test_results.pkl")


def test(cfg) -> Dict:
    """Test ``TEST.CHECKPOINT_FILE_PATH`` (else the stage's last checkpoint), logging to
    the stage's folder."""
    with log_to(cfg.OUTPUT_DIR) as log:
        return _test(cfg, log)


def _test(cfg, log: logging.Logger) -> Dict:
    path = resolve_weights(cfg.TEST.CHECKPOINT_FILE_PATH) or last_checkpoint(cfg.OUTPUT_DIR)
    if not path:
        raise CheckpointError(f"nothing to test: no TEST.CHECKPOINT_FILE_PATH and no checkpoint "
                              f"in {cfg.OUTPUT_DIR}/checkpoints")
    check_values(cfg, f"test config ({cfg.OUTPUT_DIR})")
    device = device_for(cfg)
    model = build_model(cfg).to(device)
    model.load_state_dict(_fitting_state(load_checkpoint(path)["model_state"], model, path, cfg))
    model = channels_last_model(cfg, model)  # as in training: evaluate() converts the inputs
    dataset = build_dataset(cfg, "test")
    log.info(f"testing {path} on {len(dataset)} videos x {cfg.TEST.NUM_ENSEMBLE_VIEWS} views")
    scores = evaluate(model, build_loader(cfg, dataset, "test"), cfg, device)
    metrics = compute_metrics(scores, cfg.TEST.FUSION_WEIGHTS)
    out = {"checkpoint": path, "results": results_path(cfg), "metrics": metrics,
           "num_videos": len(scores.labels)}
    if is_main():
        save_results(out["results"], scores)
        atomic_write_text(os.path.join(cfg.OUTPUT_DIR, "test_metrics.json"), json.dumps(out, indent=2))
        best = "1:1" if "1:1" in metrics else next(iter(metrics))  # the fused score, else the stream
        main_scores = fused_table(scores.scores, [[1.0, 1.0]])[best]
        matrix = confusion_matrix(main_scores, scores.labels, cfg.MODEL.NUM_CLASSES)
        plot_confusion_matrix(matrix, os.path.join(cfg.OUTPUT_DIR, "confusion.png"),
                              class_names=_class_names(cfg),
                              title=f"{cfg.MODEL.MODEL_NAME} ({best}), top-1 {metrics[best]['top1']:.1f}%")
        log.info(format_metrics_table(metrics, f"test, {cfg.TEST.NUM_ENSEMBLE_VIEWS} views"))
    return out


def _fitting_state(state: Dict, model, path: str, cfg) -> Dict:
    """``state`` if it fits ``model``; else a one-line error naming the file (a zoo model
    of another class count is tested only after finetuning it on these classes)."""
    problems = state_problems(state, model.state_dict())
    if problems:
        raise CheckpointError(f"checkpoint {path} does not fit the {cfg.MODEL.MODEL_NAME} of the "
                              f"test config (MODEL.NUM_CLASSES {cfg.MODEL.NUM_CLASSES}): "
                              f"{summarize_problems(problems)}")
    return state


def _class_names(cfg) -> list:
    """Names from a label file beside DATA.ANN_FILE (as demo_net finds them), else indices."""
    return resolve_class_names(None, cfg.DATA.ANN_FILE, int(cfg.MODEL.NUM_CLASSES))[0]
