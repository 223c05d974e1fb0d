"""Scoring every video of a split, and the metrics of the paper's tables.

The evaluation protocol (softmax per view, mean over views, weighted fusions) is
:mod:`rgbpose_plugin.scores`; this module collects those scores over a split and turns
them into top-1, top-5 and mean-class accuracy.

In distributed evaluation each process scores a disjoint part of the videos and the
parts are gathered by video index, so every video counts exactly once.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Dict, List, Sequence

import numpy as np
import torch
from iopath.common.file_io import g_pathmgr

from ..errors import raise_if_interrupted
from ..fileio import atomic_pickle
from ..scores import fuse, fused_table, view_probabilities
from .batch import prepare_batch
from .distributed import all_gather_objects
from .fast_paths import autocast
from .loader import batches
from .logs import progress

__all__ = ["evaluate", "VideoScores", "ScoreCollector", "topk_accuracy", "mean_class_accuracy",
           "compute_metrics", "score_metrics", "align", "save_results",
           "load_results", "confusion_matrix"]


@dataclass
class VideoScores:
    """Per-video class probabilities by stream, with labels and ids."""

    indices: np.ndarray  # (N,) position of the video in its split
    labels: np.ndarray  # (N,)
    video_ids: List[str]
    scores: Dict[str, np.ndarray] = field(default_factory=dict)  # stream -> (N, C)

    def fused(self, weights: Dict[str, float]) -> np.ndarray:
        return fuse(self.scores, weights)


class ScoreCollector:
    """Accumulates one process's view scores; :meth:`gather` merges all processes."""

    def __init__(self) -> None:
        self._parts: List[tuple] = []

    def add(self, logits: Dict[str, torch.Tensor], labels: torch.Tensor, indices: torch.Tensor,
            video_ids: Sequence[str], num_views: int = 1) -> None:
        """``logits[s]`` is (N * num_views, C), views of a video consecutive."""
        probs = {s: view_probabilities(v, num_views).cpu().numpy() for s, v in logits.items()}
        self._parts.append((indices.cpu().numpy(), labels.cpu().numpy(), list(video_ids), probs))

    def gather(self) -> VideoScores:
        parts = [p for rank_parts in all_gather_objects(self._parts) for p in rank_parts]
        if not parts:
            raise ValueError("no video was evaluated")
        indices = np.concatenate([p[0] for p in parts])
        order = np.unique(indices, return_index=True)[1]  # first occurrence of each video
        streams = parts[0][3].keys()
        ids = [v for p in parts for v in p[2]]
        return VideoScores(
            indices=indices[order],
            labels=np.concatenate([p[1] for p in parts])[order],
            video_ids=[ids[i] for i in order],
            scores={s: np.concatenate([p[3][s] for p in parts])[order] for s in streams},
        )


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    k = min(k, scores.shape[1])
    topk = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(topk == labels[:, None], axis=1)))


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present in ``labels`` of each class's top-1 recall."""
    pred = scores.argmax(1)
    return float(np.mean([np.mean(pred[labels == c] == c) for c in np.unique(labels)]))


def score_metrics(scores: np.ndarray, labels: np.ndarray) -> Dict[str, float]:
    """top1, top5 and mean_class accuracy in percent."""
    return {"top1": 100 * topk_accuracy(scores, labels, 1),
            "top5": 100 * topk_accuracy(scores, labels, 5),
            "mean_class": 100 * mean_class_accuracy(scores, labels)}


def compute_metrics(vs: VideoScores, fusion_weights: Sequence[Sequence[float]] = ()) -> Dict:
    """``{"rgb": {...}, "pose": {...}, "1:1": {...}, ...}``: each stream, then each fusion."""
    table = fused_table(vs.scores, fusion_weights)
    return {name: score_metrics(s, vs.labels) for name, s in table.items()}


def align(results: Sequence[VideoScores], names: Sequence[str] = ()) -> tuple:
    """Labels and per-file score arrays over the videos all files share, in one order.

    Raises if a video's label differs between files or no video is shared."""
    common = set(results[0].video_ids).intersection(*(r.video_ids for r in results[1:]))
    if not common:
        raise ValueError(f"the results {list(names)} share no video id")
    order = sorted(common)
    rows = [{v: i for i, v in enumerate(r.video_ids)} for r in results]
    labels = [r.labels[[row[v] for v in order]] for r, row in zip(results, rows)]
    for name, lab in zip(names or range(len(results)), labels[1:]):
        if not np.array_equal(lab, labels[0]):
            raise ValueError(f"results {name}: labels differ from the first file's")
    return order, labels[0], [{s: a[[row[v] for v in order]] for s, a in r.scores.items()}
                              for r, row in zip(results, rows)]


def confusion_matrix(scores: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows: true class; columns: predicted class; counts."""
    out = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(out, (labels, scores.argmax(1)), 1)
    return out


def save_results(path: str, vs: VideoScores) -> None:
    """Per video id: label and per-stream probabilities (a pickle of plain types)."""
    data = {"video_ids": vs.video_ids, "indices": vs.indices, "labels": vs.labels,
            "scores": vs.scores}
    atomic_pickle(path, data)


def load_results(path: str) -> VideoScores:
    with g_pathmgr.open(path, "rb") as f:
        data = pickle.load(f)
    missing = {"video_ids", "labels", "scores"} - set(data)
    if missing:
        raise ValueError(f"{path}: not a test-results file (missing {sorted(missing)})")
    return VideoScores(indices=np.asarray(data.get("indices", np.arange(len(data["labels"])))),
                       labels=np.asarray(data["labels"]), video_ids=list(data["video_ids"]),
                       scores={k: np.asarray(v) for k, v in data["scores"].items()})


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader, cfg, device: torch.device) -> VideoScores:
    """Scores for every video of ``loader``'s dataset (all views of multi-view test
    items), gathered over processes."""
    model.eval()
    collector = ScoreCollector()
    with batches(loader) as loaded:
        for batch in progress(loaded, len(loader), "eval"):
            inputs, labels, views = prepare_batch(batch, cfg, device)
            with autocast(cfg, device):
                out = model(inputs)
            ids = [m["frame_dir"] for m in batch["meta"]]
            collector.add(out, labels, batch["index"], ids, num_views=views)
            raise_if_interrupted()
    return collector.gather()
