"""Person tracking: stable slots across frames, ranking, capping, absent persons."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from rgbpose_dataprep.pose.tracking import PoseTracker, box_iou, greedy_match, keypoint_boxes


def person(cx, cy, size=20.0, score=0.9, rng=None):
    """A fake person: 17 keypoints spread in a box centred at (cx, cy)."""
    rng = rng or np.random.default_rng(0)
    kps = np.stack([cx + rng.uniform(-size, size, 17), cy + rng.uniform(-size, size, 17)], 1)
    return kps.astype(np.float32), np.full(17, score, np.float32)


def frame(*people):
    if not people:
        return np.zeros((0, 17, 2), np.float32), np.zeros((0, 17), np.float32)
    return np.stack([p[0] for p in people]), np.stack([p[1] for p in people])


def test_box_iou_and_keypoint_boxes():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    assert np.allclose(box_iou(a, b), [[1.0, 50 / 150, 0.0]])
    kps = np.tile(np.array([[[1, 2], [5, 9], [100, 100]]], np.float32), (1, 6, 1))[:, :17]
    scores = np.ones((1, 17), np.float32)
    scores[0, 2::3] = 0  # The (100, 100) points are unscored and must be ignored.
    assert np.allclose(keypoint_boxes(kps, scores), [[1, 2, 5, 9]])


def test_greedy_match_takes_best_pairs_first_and_respects_threshold():
    sim = np.array([[0.9, 0.8], [0.85, 0.05]])
    assert sorted(greedy_match(sim, 0.1)) == [(0, 0)]  # Row 1's only option (0) is taken.
    assert sorted(greedy_match(sim, 0.0)) == [(0, 0), (1, 1)]


def test_persons_keep_their_slot_when_backend_order_changes():
    rng = np.random.default_rng(1)
    tracker = PoseTracker()
    left_path = [(100 + 2 * t, 200) for t in range(10)]
    right_path = [(400 - 2 * t, 210) for t in range(10)]
    for t in range(10):
        left = person(*left_path[t], score=0.9, rng=rng)
        right = person(*right_path[t], score=0.6, rng=rng)
        # The backend reports them in an order that flips every frame.
        tracker.update(*(frame(left, right) if t % 2 else frame(right, left)))
    keypoint, score = tracker.result(max_persons=2)
    assert keypoint.shape == (2, 10, 17, 2) and score.shape == (2, 10, 17)
    assert keypoint.dtype == score.dtype == np.float32
    # Slot 0 is the higher-scoring (left) person in every frame, slot 1 the right one.
    assert np.allclose(keypoint[0].mean(1)[:, 0], [p[0] for p in left_path], atol=15)
    assert np.allclose(keypoint[1].mean(1)[:, 0], [p[0] for p in right_path], atol=15)
    assert np.all(score[0] == np.float32(0.9)) and np.all(score[1] == np.float32(0.6))


def test_cap_keeps_most_visible_persons_and_absent_frames_are_zero():
    tracker = PoseTracker()
    for t in range(6):
        people = [person(100, 100, score=0.5)]
        if t >= 3:  # A confident person enters half-way.
            people.append(person(500, 100, score=1.0))
        people.append(person(300, 400, score=0.1))  # A faint one throughout.
        tracker.update(*frame(*people))
    keypoint, score = tracker.result(max_persons=2)
    assert keypoint.shape[0] == 2
    # Totals: first person 6 * 17 * 0.5 = 51, late one 3 * 17 = 51 (tie: earlier start
    # first), faint one 10.2 (dropped).
    assert np.allclose(keypoint[0, :, :, 0].mean(1), 100, atol=25)
    assert np.allclose(keypoint[1, 3:, :, 0].mean(1), 500, atol=25)
    assert np.all(keypoint[1, :3] == 0) and np.all(score[1, :3] == 0)
    assert np.all(score[1, 3:] == 1.0)


def test_person_who_disappears_and_returns_keeps_the_track():
    tracker = PoseTracker()
    for t in range(8):
        people = [person(200, 200, score=0.8)]
        if t not in (3, 4):
            people.append(person(600, 200, score=0.7))
        tracker.update(*frame(*people))
    keypoint, score = tracker.result(max_persons=5)
    assert keypoint.shape[0] == 2  # Not a third track for the returning person.
    assert np.all(score[1, [3, 4]] == 0) and np.all(score[1, [0, 1, 2, 5, 6, 7]] > 0)


def test_no_person_at_all_gives_one_zero_person():
    tracker = PoseTracker()
    for _ in range(4):
        tracker.update(*frame())
    keypoint, score = tracker.result(max_persons=2)
    assert keypoint.shape == (1, 4, 17, 2) and not keypoint.any() and not score.any()


def test_bad_shapes_and_cap_are_rejected():
    tracker = PoseTracker()
    with pytest.raises(ValueError, match="frame 0.*17, 2"):
        tracker.update(np.zeros((1, 33, 2)), np.zeros((1, 33)))
    with pytest.raises(ValueError, match="max_persons"):
        tracker.result(max_persons=0)


def test_eval_pose_multi_counts_slot_jumps():
    """benchmarks/eval_pose_multi.py: two persons 300 px apart, and one frame where the two
    slots trade places (two jumps there and two back), then none when they keep apart."""
    spec = importlib.util.spec_from_file_location(
        "eval_pose_multi", Path(__file__).resolve().parents[1] / "benchmarks" / "eval_pose_multi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    base = np.stack([np.full((17, 2), 100.0) + np.arange(17)[:, None], ] * 6)  # [T, 17, 2]
    kp = np.stack([base, base + 300]).astype(np.float32)  # [2, T, 17, 2]
    score = np.ones(kp.shape[:3], np.float32)
    assert module.slot_jumps(kp, score) == 0
    kp[:, 3] = kp[::-1, 3]  # frame 3: the slots hold each other's person
    assert module.slot_jumps(kp, score) == 4
    assert module.slot_jumps(kp[:1], score[:1]) is None
