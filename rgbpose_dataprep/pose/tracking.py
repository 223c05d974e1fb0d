"""Keep each person in the same slot of the ``M x T x 17`` arrays across frames.

Backends report the people of each frame in no particular order. The tracker links
them to the people of earlier frames by the overlap (IoU) of their keypoint boxes:
highest overlaps first (greedy matching, which is what Hungarian matching gives when
people do not crowd each other). A person nobody matches starts a new track; a track
keeps its last box while its person is out of sight, so someone who reappears nearby
continues the same track. At the end the tracks are ranked by the sum of their keypoint
scores (the most visible person first) and the top ``max_persons`` are kept; frames
where a kept person is absent hold zeros, as the annotation format requires.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

from .base import NUM_KEYPOINTS, check_poses

__all__ = ["keypoint_boxes", "box_iou", "greedy_match", "PoseTracker"]


def keypoint_boxes(keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``[P, 4]`` boxes (x1, y1, x2, y2) around each person's scored keypoints.

    Keypoints with score 0 are ignored unless a person has no other.
    """
    boxes = np.zeros((len(keypoints), 4), np.float32)
    for p, (kps, sc) in enumerate(zip(keypoints, scores)):
        pts = kps[sc > 0] if np.any(sc > 0) else kps
        boxes[p] = (*pts.min(axis=0), *pts.max(axis=0))
    return boxes


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[N, M]`` intersection over union of boxes ``a [N, 4]`` and ``b [M, 4]``."""
    a = np.asarray(a, np.float64)[:, None]
    b = np.asarray(b, np.float64)[None]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def greedy_match(similarity: np.ndarray, min_similarity: float) -> List[Tuple[int, int]]:
    """Pairs ``(row, col)``, best similarity first, each row and column used once,
    only pairs with similarity >= ``min_similarity``."""
    order = np.argsort(-similarity, axis=None, kind="stable")
    rows_used, cols_used, pairs = set(), set(), []
    for flat in order:
        r, c = np.unravel_index(flat, similarity.shape)
        if similarity[r, c] < min_similarity:
            break
        if r in rows_used or c in cols_used:
            continue
        rows_used.add(r)
        cols_used.add(c)
        pairs.append((int(r), int(c)))
    return pairs


class _Track:
    def __init__(self, box: np.ndarray) -> None:
        self.box = box
        self.poses: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}  # frame -> (kps, scores)
        self.total_score = 0.0

    def add(self, frame: int, keypoints: np.ndarray, scores: np.ndarray, box: np.ndarray):
        self.poses[frame] = (keypoints, scores)
        self.total_score += float(scores.sum())
        self.box = box


class PoseTracker:
    """Feed it each frame's poses with :meth:`update`, then take the arrays from
    :meth:`result`.

    ``min_iou``: the least box overlap that links a person to an existing track.
    """

    def __init__(self, min_iou: float = 0.1) -> None:
        self.min_iou = min_iou
        self.tracks: List[_Track] = []
        self.num_frames = 0

    def update(self, keypoints: np.ndarray, scores: np.ndarray) -> None:
        """Add the next frame: ``keypoints [P, 17, 2]``, ``scores [P, 17]`` (P may be 0)."""
        keypoints, scores = check_poses(keypoints, scores, f"frame {self.num_frames}")
        frame = self.num_frames
        self.num_frames += 1
        boxes = keypoint_boxes(keypoints, scores)
        matched = set()
        if self.tracks and len(boxes):
            track_boxes = np.stack([t.box for t in self.tracks])
            for t, p in greedy_match(box_iou(track_boxes, boxes), self.min_iou):
                self.tracks[t].add(frame, keypoints[p], scores[p], boxes[p])
                matched.add(p)
        for p in range(len(boxes)):
            if p not in matched:
                track = _Track(boxes[p])
                track.add(frame, keypoints[p], scores[p], boxes[p])
                self.tracks.append(track)

    def result(self, max_persons: int) -> Tuple[np.ndarray, np.ndarray]:
        """``keypoint [M, T, 17, 2]`` and ``keypoint_score [M, T, 17]``, float32.

        M is the number of tracks, at most ``max_persons`` and at least 1 (all zeros
        when nobody was seen), ordered by total keypoint score, highest first.
        """
        if max_persons < 1:
            raise ValueError(f"max_persons must be >= 1, got {max_persons}")
        # sorted() is stable, so equal scores keep the order in which tracks started.
        ranked = sorted(self.tracks, key=lambda t: -t.total_score)[:max_persons]
        num = max(len(ranked), 1)
        keypoint = np.zeros((num, self.num_frames, NUM_KEYPOINTS, 2), np.float32)
        keypoint_score = np.zeros((num, self.num_frames, NUM_KEYPOINTS), np.float32)
        for m, track in enumerate(ranked):
            for frame, (kps, sc) in track.poses.items():
                keypoint[m, frame] = kps
                keypoint_score[m, frame] = sc
        return keypoint, keypoint_score
