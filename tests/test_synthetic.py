"""The synthetic demo dataset: format, determinism, and the class-pair properties."""

from __future__ import annotations

import pickle
from pathlib import Path

import av
import numpy as np
import pytest
from assets import run_tool

from rgbpose_dataprep.demo_data import (
    CLASSES,
    generate_sample,
    make_demo_dataset,
    make_splits,
    render_frames,
    select_classes,
)
from rgbpose_dataprep.demo_data.body import ELBOW, WRIST
from rgbpose_dataprep.demo_data.write import write_video

H, W = 540, 960  # The scene: keypoints and img_shape (the videos are stored at half size).


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Every class, three short videos each (one per split)."""
    out = tmp_path_factory.mktemp("demo")
    return make_demo_dataset(out, seed=3, videos_per_class=3, num_frames=(16, 20), workers=2,
                             preset="ultrafast")


def _load(ann_file: Path) -> dict:
    with open(ann_file, "rb") as f:
        return pickle.load(f)


def test_annotation_format(dataset: Path):
    data = _load(dataset)
    assert set(data) == {"split", "annotations"}
    labels = (dataset.parent / "labels.txt").read_text().splitlines()
    assert labels == [c.name for c in CLASSES]
    for ann in data["annotations"]:
        assert set(ann) == {"frame_dir", "label", "img_shape", "original_shape",
                            "total_frames", "keypoint", "keypoint_score"}
        assert ann["img_shape"] == ann["original_shape"] == (H, W)
        assert isinstance(ann["label"], int) and 0 <= ann["label"] < len(labels)
        assert ann["frame_dir"].startswith(labels[ann["label"]])
        kp, score = ann["keypoint"], ann["keypoint_score"]
        assert kp.dtype == np.float32 and score.dtype == np.float32
        m, t = kp.shape[:2]
        assert m in (1, 2) and 16 <= t <= 20 and t == ann["total_frames"]
        assert kp.shape == (m, t, 17, 2) and score.shape == (m, t, 17)
        assert score.min() >= 0 and score.max() <= 1


def test_splits_are_stratified_and_disjoint(dataset: Path):
    data = _load(dataset)
    names = [a["frame_dir"] for a in data["annotations"]]
    split = data["split"]
    assert set(split) == {"train", "val", "test"}
    assert sorted(sum(split.values(), [])) == sorted(names)  # Disjoint and complete.
    label = {a["frame_dir"]: a["label"] for a in data["annotations"]}
    for part in split.values():
        assert sorted(label[n] for n in part) == list(range(len(CLASSES)))
    sizes = {k: len(v) for k, v in make_splits(CLASSES[:2], 10, seed=0).items()}
    assert sizes == {"train": 12, "val": 4, "test": 4}  # 60/20/20 of 2 x 10.


def test_scored_keypoints_lie_inside_the_frame(dataset: Path):
    scores = []
    for ann in _load(dataset)["annotations"]:
        kp, score = ann["keypoint"], ann["keypoint_score"]
        seen = score > 0
        assert np.all((kp[seen][:, 0] >= 0) & (kp[seen][:, 0] <= W - 1))
        assert np.all((kp[seen][:, 1] >= 0) & (kp[seen][:, 1] <= H - 1))
        assert np.all(kp[~seen] == 0)  # Missing joints carry zeros, like detector output.
        scores.append(score.ravel())
    missing = np.mean(np.concatenate(scores) == 0)
    assert 0.01 < missing < 0.2  # Some joints are dropped, most are not.


def test_videos_decode_at_half_size_with_total_frames(dataset: Path):
    data = _load(dataset)
    for ann in data["annotations"][::4]:
        path = dataset.parent / "videos" / f"{ann['frame_dir']}.mp4"
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            frames = [f for f in container.decode(stream)]
        assert len(frames) == ann["total_frames"]
        assert (frames[0].width, frames[0].height) == (W // 2, H // 2)
        assert frames[0].format.name == "yuv420p"


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path):
    kwargs = dict(videos_per_class=1, num_frames=16, classes=["wave", "drink_red_cup"],
                  preset="ultrafast")
    a = make_demo_dataset(tmp_path / "a", seed=5, workers=1, **kwargs)
    b = make_demo_dataset(tmp_path / "b", seed=5, workers=2, **kwargs)  # Order-independent.
    c = make_demo_dataset(tmp_path / "c", seed=6, workers=1, **kwargs)
    assert a.read_bytes() == b.read_bytes()
    for video in sorted((tmp_path / "a" / "videos").iterdir()):
        assert video.read_bytes() == (tmp_path / "b" / "videos" / video.name).read_bytes()
    kp_a = _load(a)["annotations"][0]["keypoint"]
    kp_c = _load(c)["annotations"][0]["keypoint"]
    assert kp_a.shape != kp_c.shape or not np.array_equal(kp_a, kp_c)


def test_a_video_encodes_to_the_same_bytes_every_time(tmp_path: Path):
    """The same scene written again in the same process, between other videos, gives the
    same file (x264's SIMD routines made this vary; X264_PARAMS turns them off)."""
    scenes = [generate_sample(CLASSES[k % len(CLASSES)], 0, k, seed=1)[0] for k in (7, 9, 3)]
    seen = []
    for round_ in range(6):
        for k, scene in enumerate(scenes):
            write_video(tmp_path / f"{round_}_{k}.mp4", scene, preset="veryfast")
        seen.append([(tmp_path / f"{round_}_{k}.mp4").read_bytes() for k in range(3)])
    assert all(files == seen[0] for files in seen)


def _appearance_pairs():
    by_motion = {}
    for label, cls in enumerate(CLASSES):
        by_motion.setdefault(cls.motion, []).append((label, cls))
    return [pair for pair in by_motion.values() if len(pair) == 2]


def _near(xs: np.ndarray, ys: np.ndarray, point: np.ndarray, reach: float) -> np.ndarray:
    return np.hypot(xs - point[0], ys - point[1]) < reach


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_appearance_pairs_differ_only_in_the_objects_colours(index: int):
    pairs = _appearance_pairs()
    assert len(pairs) >= 1
    for (label_a, cls_a), (label_b, cls_b) in pairs:
        assert cls_a.held == cls_b.held and cls_a.colour != cls_b.colour
        scene_a, ann_a = generate_sample(cls_a, label_a, index, num_frames=16)
        scene_b, ann_b = generate_sample(cls_b, label_b, index, num_frames=16)
        # The pose stream sees exactly the same input for the two classes...
        np.testing.assert_array_equal(ann_a["keypoint"], ann_b["keypoint"])
        np.testing.assert_array_equal(ann_a["keypoint_score"], ann_b["keypoint_score"])
        # ... where the other object of the pair stands beside the actor, its colour is
        # the held one's of the other class (the two videos swap the colours) ...
        assert len(scene_a.props) == len(scene_b.props) <= 1
        for prop_a, prop_b in zip(scene_a.props, scene_b.props):
            assert (prop_a.kind, prop_a.colour, prop_b.colour) == (cls_a.held, cls_b.colour,
                                                                   cls_a.colour)
        # ... and the pixels differ, only near the actor's holding hand and that object.
        frames_a, frames_b = render_frames(scene_a), render_frames(scene_b)
        changed = np.any(frames_a != frames_b, axis=-1)  # (T, H, W)
        assert changed.any(axis=(1, 2)).all()  # The object is visible in every frame.
        actor = scene_a.actor
        wrist = actor.keypoints[:, WRIST[actor.hand]] - scene_a.shake
        h = actor.body.height
        reach = {"cup": 0.2, "flag": 0.6}[cls_a.held] * h  # cup: 0.15 x 0.19
        for t in range(len(changed)):
            ys, xs = np.nonzero(changed[t])
            allowed = _near(xs, ys, wrist[t], reach)
            for prop in scene_a.props:  # A cup stands on the ground, a flag's pole is 0.55 h.
                foot = np.array([prop.x, prop.ground]) - scene_a.shake[t]
                allowed |= _near(xs, ys, foot, {"cup": 0.25, "flag": 0.65}[prop.kind] * h)
            assert np.all(allowed)


def test_some_pair_videos_show_both_colours():
    (label_a, cls_a), (label_b, cls_b) = _appearance_pairs()[0]
    scenes = [generate_sample(cls_a, label_a, i, num_frames=16)[0] for i in range(12)]
    with_prop = [s for s in scenes if s.props]
    assert 0 < len(with_prop) < len(scenes)  # COUNTERPART_P is neither 0 nor 1.
    assert all(s.props[0].colour == cls_b.colour for s in with_prop)


def _forearm_swing(cls_name: str, index: int) -> float:
    """Range (radians) of the acting forearm's angle while the action is in full swing."""
    label = [c.name for c in CLASSES].index(cls_name)
    t = 96
    scene, _ = generate_sample(CLASSES[label], label, index, num_frames=t)
    actor = scene.actor
    # Every action is fully ramped in over the middle of the clip (motions.active_window).
    kp = actor.keypoints[int(0.42 * t):int(0.58 * t)]
    forearm = kp[:, WRIST[actor.hand]] - kp[:, ELBOW[actor.hand]]
    angle = np.unwrap(np.arctan2(forearm[:, 1], forearm[:, 0]))
    return float(angle.max() - angle.min())


def test_motion_pair_differs_in_the_skeleton():
    """wave and raise_hand look alike; only wave's forearm swings."""
    waves = [_forearm_swing("wave", i) for i in range(4)]
    raises = [_forearm_swing("raise_hand", i) for i in range(4)]
    assert min(waves) > 3 * max(raises)


def test_bad_arguments_name_the_problem(tmp_path: Path):
    with pytest.raises(ValueError, match="dance"):
        select_classes(["wave", "dance"])
    with pytest.raises(ValueError, match="num_frames"):
        make_demo_dataset(tmp_path, num_frames=4)
    with pytest.raises(ValueError, match="videos_per_class"):
        make_demo_dataset(tmp_path, videos_per_class=0)


def test_command_line_tool(tmp_path: Path):
    out = tmp_path / "demo"
    assert run_tool("make_demo_data", ["--out", str(out), "--videos-per-class", "1",
                                       "--classes", "clap", "--min-frames", "12",
                                       "--max-frames", "12", "--workers", "1",
                                       "--preset", "ultrafast"]) == 0
    data = _load(out / "annotations.pkl")
    assert [a["frame_dir"] for a in data["annotations"]] == ["clap_000"]
    assert (out / "videos" / "clap_000.mp4").is_file()
    assert run_tool("make_demo_data", ["--out", str(out), "--classes", "dance"]) == 2
