#!/usr/bin/env python
"""A timeline against the ground truth of a long demo scene: per actor, frame by frame.

    python benchmarks/eval_timeline.py --checkpoint CKPT --scene D/long/NAME [--per-person] \
        [--out DIR] [--window S] [--stride S] [--min-score P] [--min-duration S] [--device D]

The scene is one of ``tools/make_demo_data.py --long-scenes N``: NAME.mp4, its skeleton
NAME.pkl (person slot m = actor m) and NAME.gt.json. The timeline runs as
``tools/demo_net.py --window`` does (no MP4), then prints, per actor, the share of the
frames inside ground-truth actions whose timeline label equals the true class (that
actor's track in per-person mode, the scene label in scene mode) and, for two actors, the
share of overlap frames (both acting, different classes) where the two tracks get two
different labels. Ground-truth classes are matched to the model's by name. The scoring
is :func:`rgbpose_plugin.inference.timeline.segments.score_against_truth`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from rgbpose_plugin.cli import report_errors
from rgbpose_plugin.errors import InferenceError
from rgbpose_plugin.inference.timeline import TimelineResult, run_timeline
from rgbpose_plugin.inference.timeline.segments import frame_labels, score_against_truth


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eval_timeline.py", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, help="as tools/demo_net.py --checkpoint")
    p.add_argument("--scene", required=True, help="D/long/NAME (NAME.mp4, .pkl, .gt.json)")
    p.add_argument("--per-person", action="store_true", help="one timeline per actor's track")
    p.add_argument("--out", help="the timeline's files (default: a temporary folder)")
    p.add_argument("--window", type=float, help="seconds (default: demo_net's rule)")
    p.add_argument("--stride", type=float, help="seconds (default: half the window)")
    p.add_argument("--min-score", type=float, default=0.5)
    p.add_argument("--min-duration", type=float, default=0.0)
    p.add_argument("--device", help="cpu, cuda, ... (default: cuda if available)")
    return p


def scene_files(scene: str) -> Dict[str, Path]:
    """The scene's video, skeleton and ground truth; ``scene`` with or without a suffix."""
    stem = Path(scene)
    stem = stem.with_name(stem.name.split(".")[0])
    files = {"video": stem.with_suffix(".mp4"), "skeleton": stem.with_suffix(".pkl"),
             "gt": stem.with_suffix(".gt.json")}
    for path in files.values():
        if not path.is_file():
            raise InferenceError(f"scene {scene}: {path} does not exist")
    return files


def truth_labels(gt: Dict[str, Any], class_names: Sequence[str]) -> List[np.ndarray]:
    """Per actor, per frame, the true class as the model's index (-1: idle)."""
    index = {name: i for i, name in enumerate(class_names)}
    missing = sorted({s["name"] for a in gt["actors"] for s in a["segments"]} - set(index))
    if missing:
        raise InferenceError(f"the scene's classes {missing} are not among the model's "
                             f"{list(class_names)}")
    return [frame_labels([(index[s["name"]], s["start_frame"], s["end_frame"])
                          for s in actor["segments"]], gt["total_frames"])
            for actor in gt["actors"]]


def predicted_labels(result: TimelineResult, actors: int) -> List[np.ndarray]:
    """Per actor, per frame, the timeline's label: its track's per person, else the scene's."""
    total = result.plan.total_frames
    per_person = result.report["mode"] == "per-person"
    tracks = [str(a) if per_person else "scene" for a in range(actors)]
    return [frame_labels([(s.label, s.start_frame, s.end_frame) for s in result.segments
                          if s.track == t], total) for t in tracks]


def format_scores(scores: Dict[str, Any], mode: str) -> str:
    """The printed report: one line per actor, then the separation of two actors."""
    def pct(x: Optional[float]) -> str:
        return "n/a" if x is None else f"{100 * x:.1f}%"

    lines = [f"mode: {mode}"]
    lines += [f"actor {a['actor']}: {pct(a['accuracy'])} of {a['action_frames']} action frames "
              f"labelled with the true class" for a in scores["actors"]]
    if "separation" in scores:
        lines.append(f"overlap: {pct(scores['separation'])} of {scores['overlap_frames']} frames "
                     f"(both acting, different classes) get two different labels")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    files = scene_files(args.scene)
    gt = json.loads(files["gt"].read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        result = run_timeline(
            args.checkpoint, str(files["video"]), args.out or tmp, skeleton=str(files["skeleton"]),
            window=args.window, stride=args.stride, min_score=args.min_score,
            min_duration=args.min_duration, device=args.device, per_person=args.per_person,
            write_video=False)
    truth = truth_labels(gt, result.report["class_names"])
    scores = score_against_truth(truth, predicted_labels(result, len(truth)))
    print(format_scores(scores, result.report["mode"]))
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main))
