"""From window scores to labelled segments, and the CSV / JSON that list them.

The rule (docs/inference.md, "Long videos: a timeline"):

1. a window's label is the top class of its fused score if that probability is at least
   ``min_score``; otherwise it has none ("uncertain"), and a window whose skeleton has
   nobody in it (every keypoint score 0) has none either ("nobody in view"), nor has a
   window that was not classified because frames it samples could not be decoded (a
   *gap*, "undecodable frames N-M"; :func:`merge_gaps` lists the gaps' spans);
2. consecutive windows with the same label merge into one segment spanning their covers
   (:class:`~.windows.Window`); windows without a label leave a gap;
3. a segment shorter than ``min_duration`` seconds is dropped (its time becomes a gap;
   the segments around it are not joined);
4. a segment's score is the mean over its windows of the fused probability of its class
   (``rgb_score`` / ``pose_score``: the same for each stream, empty without the stream).

:func:`merge_segments` is a pure function of the window scores, so the rule is tested
on made-up numbers. So is the scoring against ground truth (:func:`score_against_truth`,
``benchmarks/eval_timeline.py``): per-frame labels, -1 where there is none.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["NOBODY", "UNCERTAIN", "Segment", "WindowScore", "CSV_FIELDS", "label_window",
           "frame_labels", "merge_gaps", "merge_segments", "score_against_truth",
           "write_segments_csv"]

UNCERTAIN = "uncertain"
NOBODY = "nobody in view"
CSV_FIELDS = ("track", "start_s", "end_s", "start_frame", "end_frame", "label", "name", "score",
              "rgb_score", "pose_score")


@dataclass(frozen=True)
class WindowScore:
    """What the merge rule needs of one window: its cover ``[cover_start, cover_end)`` in
    frames, its probabilities per stream (``"fused"`` and the model's streams) and whether
    its skeleton has nobody in it; ``gap``: why it was not classified (None: it was)."""

    cover_start: int
    cover_end: int
    probs: Dict[str, np.ndarray]
    nobody: bool = False
    gap: Optional[str] = None


@dataclass(frozen=True)
class Segment:
    """A run of windows with the same label; frames ``[start_frame, end_frame)``."""

    track: str
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    label: int
    name: str
    score: float
    rgb_score: Optional[float]
    pose_score: Optional[float]
    windows: Tuple[int, ...]

    def row(self) -> Dict[str, object]:
        """The CSV row (the window indices are in the JSON only)."""
        row = asdict(self)
        row.pop("windows")
        return row


def label_window(window: WindowScore, min_score: float) -> Tuple[Optional[int], str]:
    """``(label, status)``: the fused top class and ``"ok"``, or None and why not."""
    if window.gap:
        return None, window.gap
    if window.nobody:
        return None, NOBODY
    probs = window.probs["fused"]
    top = int(np.argmax(probs))
    if float(probs[top]) < min_score:
        return None, UNCERTAIN
    return top, "ok"


def _runs(labels: Sequence[Optional[int]]) -> List[Tuple[int, List[int]]]:
    """``(label, window indices)`` of each run of equal, non-None labels."""
    runs: List[Tuple[int, List[int]]] = []
    for i, label in enumerate(labels):
        if label is None:
            continue
        if runs and runs[-1][0] == label and runs[-1][1][-1] == i - 1:
            runs[-1][1].append(i)
        else:
            runs.append((label, [i]))
    return runs


def _mean(windows: Sequence[WindowScore], members: Sequence[int], stream: str, label: int
          ) -> Optional[float]:
    if stream not in windows[members[0]].probs:
        return None
    return float(np.mean([windows[i].probs[stream][label] for i in members]))


def merge_segments(windows: Sequence[WindowScore], fps: Fraction, class_names: Sequence[str],
                   min_score: float = 0.5, min_duration: float = 0.0, track: str = "scene"
                   ) -> List[Segment]:
    """The segments of ``windows`` (in time order, covers tiling the video) by the rule above."""
    labels = [label_window(w, min_score)[0] for w in windows]
    segments = []
    for label, members in _runs(labels):
        start, end = windows[members[0]].cover_start, windows[members[-1]].cover_end
        if float((end - start) / Fraction(fps)) < min_duration:
            continue
        segments.append(Segment(
            track=track, start_s=round(float(start / Fraction(fps)), 3),
            end_s=round(float(end / Fraction(fps)), 3), start_frame=start, end_frame=end,
            label=label, name=str(class_names[label]),
            score=_mean(windows, members, "fused", label),
            rgb_score=_mean(windows, members, "rgb", label),
            pose_score=_mean(windows, members, "pose", label), windows=tuple(members)))
    return segments


def merge_gaps(windows: Sequence[WindowScore], fps: Fraction) -> List[Dict[str, Any]]:
    """The spans of consecutive gap windows (their covers joined): where the timeline has
    no label because the video could not be decoded, with each window's reason."""
    gaps: List[Dict[str, Any]] = []
    for i, w in enumerate(windows):
        if not w.gap:
            continue
        if gaps and gaps[-1]["windows"][-1] == i - 1:
            gaps[-1].update(end_frame=w.cover_end, end_s=round(float(w.cover_end / Fraction(fps)), 3))
            gaps[-1]["windows"].append(i)
            if w.gap not in gaps[-1]["reasons"]:
                gaps[-1]["reasons"].append(w.gap)
            continue
        gaps.append({"start_s": round(float(w.cover_start / Fraction(fps)), 3),
                     "end_s": round(float(w.cover_end / Fraction(fps)), 3),
                     "start_frame": w.cover_start, "end_frame": w.cover_end,
                     "label": None, "reasons": [w.gap], "windows": [i]})
    return gaps


def write_segments_csv(path: Path, segments: Sequence[Segment]) -> Path:
    """``segments.csv``: one row per segment, the columns of :data:`CSV_FIELDS`."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for segment in segments:
            row = segment.row()
            for key in ("score", "rgb_score", "pose_score"):
                row[key] = "" if row[key] is None else f"{row[key]:.4f}"
            writer.writerow(row)
    return path


def frame_labels(spans: Iterable[Tuple[int, int, int]], total_frames: int) -> np.ndarray:
    """Per-frame labels ``(total_frames,)`` of ``(label, start_frame, end_frame)`` spans
    (end exclusive); -1 where no span is: the form both the truth and a timeline take
    to be compared frame by frame."""
    labels = np.full(total_frames, -1, np.int64)
    for label, start, end in spans:
        labels[max(start, 0):min(end, total_frames)] = label
    return labels


def _share(hits: np.ndarray, where: np.ndarray) -> Optional[float]:
    return float(hits[where].mean()) if where.any() else None


def score_against_truth(truth: Sequence[np.ndarray], predicted: Sequence[np.ndarray]
                        ) -> Dict[str, Any]:
    """How a timeline agrees with the ground truth, per actor (per-frame labels, -1: none).

    ``actors[a]["accuracy"]``: the share of actor ``a``'s action frames (truth >= 0) whose
    predicted label is the true class (None without action frames). With two actors,
    ``separation``: over the overlap frames (both act, different classes), the share where
    both predictions have a label and the labels differ (a scene timeline has one label
    for both, so it never separates them).
    """
    actors = []
    for a, (t, p) in enumerate(zip(truth, predicted)):
        acting = t >= 0
        actors.append({"actor": a, "action_frames": int(acting.sum()),
                       "correct_frames": int((acting & (p == t)).sum()),
                       "accuracy": _share(p == t, acting)})
    report: Dict[str, Any] = {"actors": actors}
    if len(truth) == 2:
        (t0, t1), (p0, p1) = truth, predicted
        overlap = (t0 >= 0) & (t1 >= 0) & (t0 != t1)
        differ = (p0 >= 0) & (p1 >= 0) & (p0 != p1)
        report["overlap_frames"] = int(overlap.sum())
        report["separated_frames"] = int((overlap & differ).sum())
        report["separation"] = _share(differ, overlap)
    return report
