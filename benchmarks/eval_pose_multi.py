"""Several persons per frame: what a pose backend finds, and whether tracking keeps them apart.

For each video: the share of frames in which the backend found 2, 1 and 0 persons, the
tracks the extraction's tracking started (more than the persons in view: a person lost
and found again under a new id), and slot jumps: frames where a kept slot's box centre
moves by more than half the two persons' median distance from one frame to the next (it
took the other person's place, an identity switch).

    python benchmarks/eval_pose_multi.py VIDEO_DIR --mediapipe-model pose_landmarker.task
    python benchmarks/eval_pose_multi.py VIDEO_DIR --backend rtmlib [--det-model ... --pose-model ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from rgbpose_dataprep.pose import backend_options, create_pose_backend
from rgbpose_dataprep.pose.tracking import PoseTracker, keypoint_boxes
from rgbpose_plugin.fileio import VideoFrames


def _centres(kp: np.ndarray, score: np.ndarray) -> np.ndarray:
    """``[M, T, 2]`` box centres of each slot (NaN where the slot is empty)."""
    out = np.full(kp.shape[:2] + (2,), np.nan)
    for m, t in zip(*np.nonzero(score.any(-1))):
        box = keypoint_boxes(kp[m, t][None], score[m, t][None])[0]
        out[m, t] = (box[:2] + box[2:]) / 2
    return out


def slot_jumps(kp: np.ndarray, score: np.ndarray) -> Optional[int]:
    """Identity switches of two slots (None: never two persons at once)."""
    centres = _centres(kp, score)
    if len(centres) < 2:
        return None
    both = ~np.isnan(centres[:2, :, 0]).any(0)
    if not both.any():
        return None
    apart = np.median(np.linalg.norm(centres[0, both] - centres[1, both], axis=-1))
    steps = np.linalg.norm(np.diff(centres[:2], axis=1), axis=-1)
    return int(np.nansum(steps > apart / 2))


def evaluate(video: Path, backend_name: str, options: Dict) -> Dict:
    backend = create_pose_backend(backend_name, **options)
    tracker = PoseTracker(min_iou=0.1)
    found: List[int] = []
    try:
        for frame in VideoFrames(video):
            keypoints, scores = backend(frame)
            found.append(len(keypoints))
            tracker.update(keypoints, scores)
    finally:
        backend.close()
    kp, score = tracker.result(2)
    counts = np.array(found)
    return {"video": video.name, "frames": len(counts),
            **{f"found_{n}": float(np.mean(counts == n)) for n in (2, 1, 0)},
            "tracks_started": len(tracker.tracks), "slot_jumps": slot_jumps(kp, score)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("videos", help="a folder of videos (*.mp4)")
    p.add_argument("--backend", default="mediapipe")
    p.add_argument("--mediapipe-model")
    p.add_argument("--det-model")
    p.add_argument("--pose-model")
    args = p.parse_args(argv)
    settings = dict(vars(args), max_persons=2)
    options = backend_options(args.backend, "cpu", settings)
    print("| video | frames | 2 found | 1 found | 0 found | tracks started | slot jumps |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for video in sorted(Path(args.videos).glob("*.mp4")):
        r = evaluate(video, args.backend, options)
        print(f"| {r['video']} | {r['frames']} | {r['found_2']:.0%} | {r['found_1']:.0%} | "
              f"{r['found_0']:.0%} | {r['tracks_started']} | {r['slot_jumps']} |")


if __name__ == "__main__":
    main()
