"""Long demo scenes with ground truth (rgbpose_dataprep/demo_data/long_scene.py): the files
agree with each other, segments are well formed, the two actors overlap with different
classes, and each segment moves (and holds) like its class."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Dict, List

import av
import numpy as np
import pytest
from assets import run_tool

from rgbpose_dataprep.demo_data.body import ANKLE, HIP, NOSE, WRIST
from rgbpose_dataprep.demo_data.catalog import select_classes
from rgbpose_dataprep.demo_data.long_scene import (
    FADE,
    MAX_ACTION_S,
    MIN_ACTION_S,
    make_long_scene,
    sample_long_scene,
    timing_in_frames,
)
from rgbpose_dataprep.demo_data.render import render_frame
from rgbpose_plugin.data.annotations import read_annotation_file, validate_annotation
from rgbpose_plugin.errors import DataPrepError

DEMO = ["clap", "squat", "jump", "kick", "drink_red_cup", "drink_blue_cup", "wave_green_flag",
        "wave_yellow_flag"]


@pytest.fixture(scope="module")
def two_actors(tmp_path_factory) -> Path:
    """An 8 s two-actor scene, made by the command-line tool (its gt.json)."""
    out = tmp_path_factory.mktemp("demo")
    assert run_tool("make_demo_data", [
        "--out", str(out), "--videos-per-class", "0", "--classes", *DEMO, "--long-scenes", "1",
        "--long-duration", "8", "--long-actors", "2", "--preset", "ultrafast"]) == 0
    assert not (out / "annotations.pkl").exists()  # Only the long scene was asked for.
    return out / "long" / "long_0_2p.gt.json"


@pytest.fixture(scope="module")
def one_actor(tmp_path_factory) -> Path:
    video = make_long_scene(tmp_path_factory.mktemp("one"), seed=1, classes=DEMO, actors=1,
                            duration_s=6, preset="ultrafast")
    return video.with_suffix(".gt.json")


def _gt(path: Path) -> Dict:
    return json.loads(path.read_text())


def _decoded(video: Path) -> tuple:
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return count, stream.average_rate, (stream.height, stream.width)


@pytest.mark.parametrize("scene", ["one_actor", "two_actors"])
def test_video_and_skeleton_match_ground_truth(scene: str, request):
    gt_file = request.getfixturevalue(scene)
    gt = _gt(gt_file)
    name = gt["video"][:-len(".mp4")]
    count, rate, shape = _decoded(gt_file.parent / gt["video"])
    assert count == gt["total_frames"] and rate == gt["fps"] == 30
    assert list(shape) == gt["video_shape"] == [270, 480] and gt["img_shape"] == [540, 960]
    assert gt["classes"] == DEMO
    data = read_annotation_file(str(gt_file.parent / f"{name}.pkl"))
    (ann,) = data["annotations"]
    assert ann["frame_dir"] == name and ann["label"] == -1 and data["split"] == {"all": [name]}
    assert ann["img_shape"] == (540, 960) and ann["total_frames"] == count
    assert ann["keypoint"].shape == (len(gt["actors"]), count, 17, 2)
    # Label -1 means "unknown"; the demo's --skeleton loading turns it into a class index.
    assert validate_annotation(dict(ann, label=0), 17) == []


@pytest.mark.parametrize("scene", ["one_actor", "two_actors"])
def test_segments_are_in_range_apart_and_in_the_csv(scene: str, request):
    gt_file = request.getfixturevalue(scene)
    gt = _gt(gt_file)
    fps, total = gt["fps"], gt["total_frames"]
    assert [a["side"] for a in gt["actors"]] == (["centre"] if scene == "one_actor"
                                                  else ["left", "right"])
    rows: List[List[str]] = []
    for actor in gt["actors"]:
        segs = actor["segments"]
        assert segs, "every actor acts at least once"
        for s in segs:
            assert 0 < s["start_frame"] < s["end_frame"] <= total
            assert 40 <= s["end_frame"] - s["start_frame"] <= 56  # The training clips' lengths.
            assert gt["classes"][s["label"]] == s["name"]
            assert s["start_s"] == pytest.approx(s["start_frame"] / fps, abs=1e-4)
            assert s["end_s"] == pytest.approx(s["end_frame"] / fps, abs=1e-4)
            rows.append([str(actor["id"]), str(s["start_s"]), str(s["end_s"]),
                         str(s["start_frame"]), str(s["end_frame"]), str(s["label"]), s["name"]])
        for a, b in zip(segs, segs[1:]):
            assert b["start_frame"] - a["end_frame"] >= 15  # An idle gap of >= 0.5 s.
    with open(gt_file.with_name(gt_file.name.replace(".gt.json", ".gt.csv"))) as f:
        table = list(csv.reader(f))
    assert table[0] == ["actor", "start_s", "end_s", "start_frame", "end_frame", "label", "name"]
    assert table[1:] == rows


def test_two_actors_do_different_things_at_once(two_actors: Path):
    gt = _gt(two_actors)
    label = np.full((2, gt["total_frames"]), -1)
    for actor in gt["actors"]:
        for s in actor["segments"]:
            label[actor["id"], s["start_frame"]:s["end_frame"]] = s["label"]
    both = (label >= 0).all(axis=0) & (label[0] != label[1])
    assert both.sum() >= 20  # The second actor's first action starts in the first's.
    data = read_annotation_file(str(two_actors.parent / "long_0_2p.pkl"))
    kp, score = data["annotations"][0]["keypoint"], data["annotations"][0]["keypoint_score"]
    x = [np.median(kp[m][score[m] > 0][:, 0]) for m in range(2)]
    assert x[0] < 400 < 560 < x[1]  # Person m is actor m: left, then right, apart.


def test_same_seed_same_files_other_seed_other_scene(one_actor: Path, tmp_path: Path):
    again = make_long_scene(tmp_path, seed=1, classes=DEMO, actors=1, duration_s=6,
                            preset="ultrafast")
    assert again == tmp_path / "long_1_1p.mp4"
    for suffix in (".gt.json", ".gt.csv", ".pkl", ".mp4"):
        name = f"long_1_1p{suffix}"
        assert (one_actor.parent / name).read_bytes() == (tmp_path / name).read_bytes(), suffix
    other = make_long_scene(tmp_path, seed=2, classes=DEMO, actors=1, duration_s=6,
                            preset="ultrafast")
    assert other.with_suffix(".gt.json").read_bytes() != one_actor.read_bytes()


@pytest.mark.parametrize("kwargs, match", [
    ({"classes": ["clap", "dance"]}, "unknown demo class.*dance"),
    ({"actors": 3}, "actors must be 1 or 2"),
    ({"duration_s": 2}, "too short"),
    ({"min_gap_s": 0}, "idle gaps"),
    ({"min_action_s": 2.0, "max_action_s": 1.0}, "actions must last"),
    ({"actors": 2, "classes": ["clap"]}, "two actors need at least two classes"),
])
def test_bad_requests_are_one_line_errors(kwargs: Dict, match: str, tmp_path: Path):
    with pytest.raises(DataPrepError, match=match) as err:
        make_long_scene(tmp_path / "out", **{"duration_s": 10, **kwargs})
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()  # Checked before anything is written.


def _signature(name: str, kp: np.ndarray, rest: np.ndarray, h: float) -> bool:
    """Whether keypoints (T, 17, 2) of a segment show the class's motion (in body heights)."""
    wrists = kp[:, [WRIST["l"], WRIST["r"]]]
    if name == "clap":  # The hands meet.
        return np.linalg.norm(wrists[:, 0] - wrists[:, 1], axis=1).min() < 0.05 * h
    if name == "squat":  # The hips go down.
        return (kp[:, HIP["l"], 1] - rest[HIP["l"], 1]).max() > 0.08 * h
    if name == "jump":  # Both feet leave the ground.
        return (rest[ANKLE["l"], 1] - kp[:, [ANKLE["l"], ANKLE["r"]], 1].max(axis=1)).max() > 0.08 * h
    if name == "kick":  # A foot goes out sideways.
        ankles = [ANKLE["l"], ANKLE["r"]]
        return np.abs(kp[:, ankles, 0] - rest[ankles, 0]).max() > 0.3 * h
    if name.startswith("drink"):  # A hand at the mouth.
        return np.linalg.norm(wrists - kp[:, None, NOSE], axis=2).min() < 0.06 * h
    if name.startswith("wave"):  # A hand above the head.
        return (kp[:, NOSE, 1] - wrists[..., 1].min(axis=1)).max() > 0.1 * h
    raise AssertionError(name)


def test_segments_move_like_their_class_and_gaps_stay_idle():
    classes = select_classes(DEMO)
    timing = timing_in_frames(60, 30, (MIN_ACTION_S, MAX_ACTION_S), (0.5, 3.0), 2)
    long = sample_long_scene(5, classes, 2, timing)  # No rendering: the true keypoints.
    seen = set()
    for person, segs, active in zip(long.scene.persons, long.segments, long.active):
        kp, h = person.keypoints, person.body.height
        idle = active < 0
        rest = np.median(kp[idle], axis=0)
        moved = np.abs(kp - rest).max(axis=(1, 2))
        # Away from the fades next to the segments, fidgeting only.
        near = np.convolve(~idle, np.ones(2 * FADE + 1), mode="same") > 0
        assert moved[~near].max() < 0.08 * h
        for seg in segs:
            assert moved[seg.start:seg.end].max() > 0.15 * h, seg
            assert _signature(seg.cls.name, kp[seg.start:seg.end], rest, h), seg
            seen.add(seg.cls.name)
        # The joins between idle and action have no jump (fades in the gaps).
        speed = np.abs(np.diff(kp, axis=0)).max(axis=(1, 2))
        joins = [b for seg in segs for b in (seg.start - 1, seg.end - 1)]
        assert speed[joins].max() < 0.02 * h
    assert len(seen) >= 6


def test_held_objects_only_during_their_segments():
    classes = select_classes(DEMO)
    timing = timing_in_frames(30, 30, (MIN_ACTION_S, MAX_ACTION_S), (0.5, 3.0), 1)
    long = sample_long_scene(3, classes, 1, timing)
    segs = long.segments[0]
    held = [s for s in segs if s.cls.held is not None]
    assert held and len(held) < len(segs)
    for seg in segs:
        for i in (seg.start, (seg.start + seg.end) // 2, seg.end - 1):
            with_object = np.asarray(long.frame(i))
            without = np.asarray(render_frame(long.scene, i))  # The persons hold nothing.
            changed = (with_object != without).any(axis=2)
            if seg.cls.held is None:
                assert not changed.any()
                continue
            colours, counts = np.unique(with_object[changed], axis=0, return_counts=True)
            assert tuple(colours[counts.argmax()]) == seg.cls.colour
            wrist = long.scene.persons[0].keypoints[i, WRIST[seg.hand]] - long.scene.shake[i]
            ys, xs = np.nonzero(changed)
            assert np.hypot(xs - wrist[0], ys - wrist[1]).min() < 10  # At the acting hand.
    gap = int(np.nonzero(long.active[0] < 0)[0][-1])
    assert (np.asarray(long.frame(gap)) == np.asarray(render_frame(long.scene, gap))).all()
