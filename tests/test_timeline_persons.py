"""tools/demo_net.py --per-person: one timeline per tracked person, on a two-actor long scene.

A tiny fused model is trained for one epoch on the tiny generated dataset (its quality is
irrelevant: the mechanics are tested); an 8 s two-actor long scene of the same classes
gives the video, the skeleton (person slot m = actor m) and the ground truth. Checked:
two tracks with their own windows, each classified on one person's keypoints only (its
crop on that person, its heatmaps not the scene's), a person out of view left
unclassified, the outputs (CSV track ids, picture, MP4 frame count and size), the
scene-trained note, and the scoring against ground truth on made-up labels.
"""

import csv
import importlib.util
import json
import pickle
import re

import av
import numpy as np
import pytest
import torch
from assets import run_tool
from trainer_fixtures import ROOT, TINY_CLASSES, make_tiny_dataset, tiny_cfg

from rgbpose_dataprep.demo_data.long_scene import make_long_scene
from rgbpose_plugin.config import stage_cfg
from rgbpose_plugin.data import write_annotation_file
from rgbpose_plugin.data.transforms import compact_box
from rgbpose_plugin.engine.trainer import train
from rgbpose_plugin.inference.timeline import run, run_timeline
from rgbpose_plugin.inference.timeline.persons import TRAINED_MODE_NOTE, person_annotation
from rgbpose_plugin.inference.timeline.segments import frame_labels, score_against_truth
from rgbpose_plugin.inference.timeline.windows import window_annotation

HIDDEN = 75  # actor 1 is out of view (keypoint scores 0) in frames [0, HIDDEN)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A one-epoch fused checkpoint, and an 8 s two-actor scene of the tiny classes whose
    skeleton hides actor 1 for its first frames."""
    root = tmp_path_factory.mktemp("persons")
    ann_file = make_tiny_dataset(root / "data")
    cfg = stage_cfg(tiny_cfg(ann_file, root / "run"), "rgbpose")
    ckpt = train(cfg)["checkpoint"]
    video = make_long_scene(root / "long", seed=0, classes=TINY_CLASSES, actors=2, duration_s=8,
                            preset="ultrafast")
    data = pickle.loads(video.with_suffix(".pkl").read_bytes())
    ann = data["annotations"][0]
    ann["keypoint_score"] = ann["keypoint_score"].copy()
    ann["keypoint_score"][1, :HIDDEN] = 0
    hidden = root / "hidden.pkl"
    write_annotation_file(hidden, [ann], data["split"])
    gt = json.loads(video.with_suffix(".gt.json").read_text())
    return {"ckpt": ckpt, "cfg": cfg, "video": video, "pkl": hidden, "ann": ann, "gt": gt,
            "root": root}


@pytest.fixture(scope="module")
def runs(scene, tmp_path_factory):
    """The per-person and the scene timeline of the scene; every window's annotation and
    pose heatmaps per track, caught on their way into / out of ``classify_window``."""
    seen = {}
    original = run.classify_window

    def spy(model, cfg, options, annotation, window, frames, *args):
        prediction = original(model, cfg, options, annotation, window, frames, *args)
        seen.setdefault(mode, []).append((window.index, annotation, prediction.heatmaps))
        return prediction

    out, lines = {}, []
    patch = pytest.MonkeyPatch()
    patch.setattr(run, "classify_window", spy)
    try:
        for mode in ("per-person", "scene"):
            out[mode] = run_timeline(
                scene["ckpt"], str(scene["video"]), str(tmp_path_factory.mktemp(mode)),
                skeleton=str(scene["pkl"]), window=2.0, stride=1.0, min_score=0.0,
                per_person=mode == "per-person", video_size=320,
                echo=lines.append if mode == "per-person" else None)
    finally:
        patch.undo()
    return {"result": out, "seen": seen, "lines": lines}


def test_two_tracks_with_their_own_windows(scene, runs):
    result = runs["result"]["per-person"]
    report, windows = result.report, result.plan.windows
    assert report["mode"] == "per-person" and report["tracks"] == ["0", "1"]
    assert set(report["windows"]) == {"0", "1"}
    assert all(len(report["windows"][t]) == len(windows) == 7 for t in ("0", "1"))
    # Actor 1 is out of view for all of window 0 (frames 0-60): no label, not classified.
    first = report["windows"]["1"][0]
    assert first["status"] == "nobody in view" and first["top"] == {} and first["label"] is None
    assert result.track_predictions["1"][0] is None
    assert all(p is not None for p in result.track_predictions["0"])
    assert all(w["status"] == "ok" for w in report["windows"]["0"])  # min_score 0
    assert len(result.predictions) == 2 * len(windows) - 1
    # One echoed line per window and track, the notes first.
    assert sum(line.startswith("track 0 [") for line in runs["lines"]) == len(windows)
    assert "track 1 [0.0-2.0 s] nobody in view" in runs["lines"]
    # Segments per track; segments.csv's track column is the id.
    with open(result.outputs["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["track"] for r in rows} == {"0", "1"} == {s.track for s in result.segments}
    assert rows[0]["track"] == "0" and int(rows[0]["start_frame"]) == 0
    track1 = [s for s in result.segments if s.track == "1"]
    assert track1[0].start_frame == windows[0].cover_end  # window 0 left a gap


def test_each_track_window_sees_one_person(scene, runs):
    ann, seen = scene["ann"], runs["seen"]
    person = seen["per-person"]
    assert len(person) == 2 * 7 - 1 and len(seen["scene"]) == 7
    scene_heatmaps = {index: h for index, _, h in seen["scene"]}
    tracks_of = {}
    for index, part, heatmaps in person:
        (slot,) = [m for m in range(2) if np.array_equal(part["keypoint"][0], ann["keypoint"][m])]
        assert part["keypoint"].shape[0] == 1 and part["keypoint_score"].shape[0] == 1
        tracks_of.setdefault(index, {})[slot] = heatmaps
        assert not np.allclose(heatmaps, scene_heatmaps[index])  # not the scene's input
    assert not np.allclose(tracks_of[3][0], tracks_of[3][1])
    # The compact crop of a track's window lies on its actor's side (left / right of the
    # 960-px frame the keypoints are measured on); the scene's is between them, wider.
    window = runs["result"]["per-person"].plan.windows[3]

    def box(annotation):
        kp = window_annotation(annotation, window)["keypoint"]
        return compact_box(torch.as_tensor(kp), tuple(ann["img_shape"]))

    left, right, both = box(person_annotation(ann, "0")), box(person_annotation(ann, "1")), box(ann)
    centre = [(b[0] + b[2]) / 2 for b in (left, both, right)]
    assert centre[0] < 480 < centre[2] and centre[0] < centre[1] < centre[2]
    assert both[2] - both[0] > max(left[2] - left[0], right[2] - right[0])


def test_outputs_and_scene_trained_note(scene, runs):
    result = runs["result"]["per-person"]
    report = json.loads(open(result.outputs["json"]).read())
    assert report["trained_mode"] == "scene" and TRAINED_MODE_NOTE in report["notes"]
    assert f"note: {TRAINED_MODE_NOTE}" in runs["lines"]
    assert report["segments"] and report["windows"]["1"][0]["status"] == "nobody in view"
    for mode in ("per-person", "scene"):
        outputs = runs["result"][mode].outputs
        assert open(outputs["picture"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        with av.open(outputs["video"]) as container:
            frames = [f for f in container.decode(video=0)]
        assert len(frames) == scene["gt"]["total_frames"] == 240
        assert (frames[0].width, frames[0].height) == (320, 180)  # --video-size 320
    scene_report = runs["result"]["scene"].report
    assert scene_report["mode"] == "scene" and scene_report["trained_mode"] == "scene"
    assert isinstance(scene_report["windows"], list)
    assert {s.track for s in runs["result"]["scene"].segments} == {"scene"}


def test_command_line_per_person(scene, tmp_path, capsys):
    out = tmp_path / "cli"
    status = run_tool("demo_net", ["--checkpoint", scene["ckpt"], "--video", str(scene["video"]),
                                   "--skeleton", str(scene["pkl"]), "--out", str(out),
                                   "--per-person", "--no-video", "--min-score", "0", "--quiet"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert re.search(r"segment\(s\) from \d+ window\(s\), 2 track\(s\):", printed)
    assert re.search(r"^  track 1 +\d", printed, re.M) and "trained in scene mode" in printed
    assert not (out / "timeline.mp4").exists() and (out / "timeline.png").exists()


def test_scoring_against_truth():
    total = 50
    truth = [frame_labels([(1, 10, 20), (2, 30, 40)], total), frame_labels([(0, 15, 35)], total)]
    predicted = [frame_labels([(1, 10, 15), (3, 15, 20), (2, 30, 40)], total),
                 frame_labels([(0, 15, 25), (2, 25, 35)], total)]
    scores = score_against_truth(truth, predicted)
    assert [a["accuracy"] for a in scores["actors"]] == [0.75, 0.5]
    assert [a["action_frames"] for a in scores["actors"]] == [20, 20]
    # Overlap (both act, different classes): frames 15-20 and 30-35; the tracks differ in
    # 15-20 only (3 vs 0; 2 vs 2 after).
    assert (scores["overlap_frames"], scores["separated_frames"], scores["separation"]) == (10, 5, 0.5)
    # A scene timeline (one label for both) never separates them; no action: no accuracy.
    scene = frame_labels([(1, 0, 50)], total)
    scores = score_against_truth(truth, [scene, scene])
    assert scores["separation"] == 0.0 and scores["actors"][0]["accuracy"] == 0.5
    assert score_against_truth([np.full(5, -1)], [np.zeros(5, int)])["actors"][0]["accuracy"] is None
    assert "separation" not in score_against_truth(truth[:1], predicted[:1])


def test_eval_script(scene, capsys):
    spec = importlib.util.spec_from_file_location("eval_timeline",
                                                  ROOT / "benchmarks" / "eval_timeline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stem = scene["video"].with_suffix("")
    assert module.main(["--checkpoint", scene["ckpt"], "--scene", str(stem), "--per-person",
                        "--min-score", "0"]) == 0
    printed = capsys.readouterr().out
    for actor in (0, 1):
        frames = sum(s["end_frame"] - s["start_frame"] for s in scene["gt"]["actors"][actor]["segments"])
        assert re.search(rf"^actor {actor}: \d+\.\d% of {frames} action frames", printed, re.M)
    assert re.search(r"^overlap: \d+\.\d% of \d+ frames", printed, re.M)
