"""tools/demo_net.py --window/--stride: a long video to an action timeline.

A tiny fused model is trained for one epoch on the tiny generated dataset (seconds); a
long video is the concatenation of several of its videos (their skeletons concatenated
into one annotation). Checked: the window plan, that a window equal to a whole clip gives
the single-clip demo's probabilities, the merge rule on made-up scores, the outputs, bad
input, and that the frame buffer stays bounded on a long input.
"""

import csv
import json
import pickle
import re
import resource
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from assets import run_tool
from trainer_fixtures import TINY_CLASSES, make_tiny_dataset, tiny_cfg

from rgbpose_plugin.config import stage_cfg
from rgbpose_plugin.data import write_annotation_file
from rgbpose_plugin.engine.trainer import train
from rgbpose_plugin.fileio import write_h264
from rgbpose_plugin.inference import InferenceError, run_demo
from rgbpose_plugin.inference.timeline import (
    FrameBuffer,
    WindowScore,
    default_window,
    merge_segments,
    plan_windows,
    probe_video,
    run_timeline,
)
from rgbpose_plugin.inference.timeline.windows import test_options as data_options
from rgbpose_plugin.inference.timeline.windows import window_frames_needed

FPS = Fraction(30)


def concatenate(videos, annotations, path: Path, frame_dir: str) -> dict:
    """One video of ``videos`` back to back (written at 30 fps) and the one annotation of
    their skeletons; persons are padded to the most any video has."""
    with write_h264(path, FPS, preset="ultrafast") as out:
        for video in videos:
            with av.open(str(video)) as container:
                for frame in container.decode(video=0):
                    out.write(frame.to_ndarray(format="rgb24"))
    persons = max(a["keypoint"].shape[0] for a in annotations)

    def padded(a, key):
        x = np.asarray(a[key])
        return np.concatenate([x, np.zeros((persons - x.shape[0],) + x.shape[1:], x.dtype)])

    return {"frame_dir": frame_dir, "label": -1, "img_shape": annotations[0]["img_shape"],
            "original_shape": annotations[0]["img_shape"],
            "total_frames": sum(int(a["total_frames"]) for a in annotations),
            "keypoint": np.concatenate([padded(a, "keypoint") for a in annotations], 1),
            "keypoint_score": np.concatenate([padded(a, "keypoint_score") for a in annotations], 1)}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny dataset, one-epoch checkpoints (fused, rgb-only, pose-only) and a long video
    of its 12 clips."""
    root = tmp_path_factory.mktemp("timeline")
    ann_file = make_tiny_dataset(root / "data")
    ckpts = {stage: train(stage_cfg(tiny_cfg(ann_file, root / "run"), stage))["checkpoint"]
             for stage in ("rgbpose", "rgb_only", "pose_only")}
    data = pickle.loads(ann_file.read_bytes())
    anns = data["annotations"]
    videos = [ann_file.parent / "videos" / f"{a['frame_dir']}.mp4" for a in anns]
    long_ann = concatenate(videos, anns, root / "long.mp4", "long")
    long_pkl = root / "long.pkl"
    write_annotation_file(long_pkl, [long_ann], {"demo": ["long"]})
    test = data["split"]["test"][0]
    return {"ann_file": ann_file, "ckpt": ckpts["rgbpose"], "ckpts": ckpts, "root": root,
            "anns": anns, "videos": videos,
            "long": root / "long.mp4", "long_ann": long_ann, "long_pkl": long_pkl,
            "clip": ann_file.parent / "videos" / f"{test}.mp4"}


def test_window_plan():
    # Defaults: 2 s at 30 fps (a 16-frame pose clip is shorter), stride 1 s; 64 frames at 8 fps.
    assert default_window(16, FPS) == (2.0, 1.0)
    assert default_window(64, Fraction(8)) == (8.0, 4.0)
    assert default_window(16, FPS, 3.0) == (3.0, 1.5)
    with pytest.raises(InferenceError, match="--stride 3.0 s is longer than --window 2.0 s"):
        default_window(16, FPS, 2.0, 3.0)
    plan = plan_windows(300, FPS, 2.0, 1.0)  # 10 s
    starts = [w.start for w in plan.windows]
    assert starts == list(range(0, 241, 30)) and all(w.length == 60 for w in plan.windows)
    assert plan.window_frames == 60 and plan.stride_frames == 30 and not plan.padded
    # Covers: the stride-long central part, the first from 0, the last to the end, tiling.
    covers = [(w.cover_start, w.cover_end) for w in plan.windows]
    assert covers[0] == (0, 45) and covers[1] == (45, 75) and covers[-1] == (255, 300)
    assert all(a[1] == b[0] for a, b in zip(covers, covers[1:]))
    # A stride that does not land on the end: one more window, ending at the last frame.
    plan = plan_windows(100, FPS, 2.0, 1.0)
    assert [(w.start, w.end) for w in plan.windows] == [(0, 60), (30, 90), (40, 100)]
    assert [(w.cover_start, w.cover_end) for w in plan.windows] == [(0, 45), (45, 65), (65, 100)]
    short = plan_windows(20, FPS, 2.0, 1.0)
    assert short.padded and [(w.start, w.end, w.cover_end) for w in short.windows] == [(0, 20, 20)]


def scores(tops, nobody=(), n=4, stride=30):
    """Made-up windows: ``tops`` = (class, probability) per window, stride-long covers."""
    out = []
    for i, (label, p) in enumerate(tops):
        probs = np.full(n, (1 - p) / (n - 1))
        probs[label] = p
        out.append(WindowScore(i * stride, (i + 1) * stride,
                               {"rgb": probs, "pose": probs * 0 + 1 / n, "fused": probs},
                               i in nobody))
    return out


def test_merge_rule():
    names = ["a", "b", "c", "d"]
    windows = scores([(0, 0.9), (0, 0.7), (1, 0.4), (1, 0.8), (1, 0.6), (2, 0.9), (2, 0.9), (0, 0.95)],
                     nobody={6})
    segs = merge_segments(windows, FPS, names, min_score=0.5)
    # Window 2 is uncertain (0.4 < 0.5), window 6 has nobody: gaps; the rest merge by class.
    assert [(s.name, s.start_frame, s.end_frame, s.windows) for s in segs] == [
        ("a", 0, 60, (0, 1)), ("b", 90, 150, (3, 4)), ("c", 150, 180, (5,)), ("a", 210, 240, (7,))]
    assert segs[0].score == pytest.approx(0.8) and segs[0].rgb_score == pytest.approx(0.8)
    assert segs[0].pose_score == pytest.approx(0.25) and segs[1].start_s == 3.0
    assert all(s.track == "scene" for s in segs)
    # Min duration 1.5 s drops the 1-s segments (their time becomes a gap, nothing is joined).
    segs = merge_segments(windows, FPS, names, min_score=0.5, min_duration=1.5)
    assert [(s.name, s.start_s, s.end_s) for s in segs] == [("a", 0.0, 2.0), ("b", 3.0, 5.0)]
    # A lower threshold labels window 2 and joins b's run; a higher one leaves only 0.9+.
    assert [s.windows for s in merge_segments(windows, FPS, names, 0.3)][1] == (2, 3, 4)
    assert [s.windows for s in merge_segments(windows, FPS, names, 0.85)] == [(0,), (5,), (7,)]


def test_whole_clip_window_is_the_single_clip_demo(trained, tmp_path):
    clip, ann_file = trained["clip"], str(trained["ann_file"])
    single = run_demo(trained["ckpt"], str(clip), str(tmp_path / "demo"), skeleton=ann_file,
                      write_video=False)
    frames = single.prediction.meta["total_frames"]
    # A window (and stride) as long as the clip: one window, the whole clip, not padded.
    result = run_timeline(trained["ckpt"], str(clip), str(tmp_path / "tl"), skeleton=ann_file,
                          window=frames / 30, stride=frames / 30)
    assert [(w.start, w.end) for w in result.plan.windows] == [(0, frames)] and not result.plan.padded
    for stream in ("rgb", "pose", "fused"):
        assert np.allclose(result.predictions[0].probs[stream], single.prediction.probs[stream],
                           atol=1e-5, rtol=0)
    assert np.array_equal(result.predictions[0].rgb_inds, single.prediction.rgb_inds)


def test_long_video_outputs(trained, tmp_path, capsys):
    out = tmp_path / "out"
    status = run_tool("demo_net", ["--checkpoint", trained["ckpt"], "--video", str(trained["long"]),
                                   "--skeleton", str(trained["long_pkl"]), "--out", str(out),
                                   "--window", "auto", "--min-score", "0", "--quiet"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    report = json.loads((out / "timeline.json").read_text())
    total = trained["long_ann"]["total_frames"]
    assert report["total_frames"] == total and report["fps"] == 30.0
    assert report["window"] == {"seconds": 2.0, "frames": 60, "default": True}
    assert report["stride"] == {"seconds": 1.0, "frames": 30, "default": True}
    assert report["rule"]["min_score"] == 0 and report["segments"] and report["class_names"] == TINY_CLASSES
    windows = report["windows"]
    assert len(windows) == len(range(0, total - 60 + 1, 30)) + ((total - 60) % 30 != 0)
    assert windows[0]["cover_start_frame"] == 0 and windows[-1]["cover_end_frame"] == total
    assert all(set(w["top"]) == {"rgb", "pose", "fused"} for w in windows)
    # One printed line per window, as it runs.
    lines = re.findall(r"^\[(\d+\.\d)-(\d+\.\d) s\] (.+)$", printed, re.M)
    assert [(float(a), float(b)) for a, b, _ in lines] == [
        (round(w["start_s"], 1), round(w["end_s"], 1)) for w in windows]
    # segments.csv and the JSON's segments agree; segments lie on labelled windows' covers.
    with open(out / "segments.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(report["segments"])
    for row, seg in zip(rows, report["segments"]):
        assert row["track"] == "scene" and row["name"] == seg["name"]
        assert (int(row["start_frame"]), int(row["end_frame"])) == (seg["start_frame"], seg["end_frame"])
        assert float(row["score"]) == pytest.approx(seg["score"], abs=1e-4)
        members = [windows[i] for i in seg["windows"]]
        assert all(w["name"] == seg["name"] and w["status"] == "ok" for w in members)
        assert seg["score"] == pytest.approx(np.mean([w["score"] for w in members]))
    assert (out / "timeline.png").stat().st_size > 5000


@pytest.mark.parametrize("stage, stream", [("rgb_only", "rgb"), ("pose_only", "pose")])
def test_single_stream_models(trained, tmp_path, stage, stream):
    result = run_timeline(trained["ckpts"][stage], str(trained["long"]), str(tmp_path),
                          skeleton=str(trained["long_pkl"]), window=1.0, min_score=0)
    assert result.report["streams"] == [stream, "fused"] and len(result.plan.windows) == 14  # 214 frames
    # A pose-only model needs no frame at all: nothing is decoded.
    assert (result.peak_frames == 0) == (stream == "pose")
    other = "pose_score" if stream == "rgb" else "rgb_score"
    assert result.segments and all(getattr(s, other) is None for s in result.segments)


def test_nobody_in_view_and_short_video(trained, tmp_path):
    # The long video's skeleton with nobody in its frames 60-150: the windows inside are unlabelled.
    ann = dict(trained["long_ann"])
    ann["keypoint_score"] = ann["keypoint_score"].copy()
    ann["keypoint_score"][:, 60:150] = 0
    pkl = tmp_path / "nobody.pkl"
    write_annotation_file(pkl, [ann], {"demo": ["long"]})
    lines = []
    result = run_timeline(trained["ckpt"], str(trained["long"]), str(tmp_path / "a"),
                          skeleton=str(pkl), min_score=0.0, echo=lines.append)
    status = [w["status"] for w in result.report["windows"]]
    assert status[2:4] == ["nobody in view"] * 2 and status.count("nobody in view") == 2
    assert "[2.0-4.0 s] nobody in view" in lines
    assert not any(2 in s.windows or 3 in s.windows for s in result.segments)
    # A clip shorter than one window: one padded window, said in the output and the JSON.
    lines = []
    result = run_timeline(trained["ckpt"], str(trained["clip"]), str(tmp_path / "b"),
                          skeleton=str(trained["ann_file"]), echo=lines.append)
    assert len(result.plan.windows) == 1 and result.report["padded"]
    assert "shorter than one window" in lines[0] and "padded" in result.report["notes"][0]


def test_bad_skeleton_is_named(trained, tmp_path, capsys):
    ckpt, long_video = trained["ckpt"], str(trained["long"])
    total = trained["long_ann"]["total_frames"]
    # The tiny dataset's file has no "long".
    with pytest.raises(InferenceError, match=f"skeleton file {re.escape(str(trained['ann_file']))} "
                                             f"has no annotation for video .*long.mp4"):
        run_timeline(ckpt, long_video, str(tmp_path), skeleton=str(trained["ann_file"]))
    # Another frame count than the video's: the file and both numbers.
    ann = dict(trained["long_ann"], total_frames=total - 5)
    ann["keypoint"], ann["keypoint_score"] = ann["keypoint"][:, :-5], ann["keypoint_score"][:, :-5]
    short = tmp_path / "short.pkl"
    write_annotation_file(short, [ann], {"demo": ["long"]})
    with pytest.raises(InferenceError, match=f"skeleton file {re.escape(str(short))}: the skeleton of "
                                             f"'long' has {total - 5} frames but the video .*long.mp4 "
                                             f"has {total}"):
        run_timeline(ckpt, long_video, str(tmp_path), skeleton=str(short))
    # The command line: one error line, exit status 2.
    assert run_tool("demo_net", ["--checkpoint", ckpt, "--video", long_video, "--out", str(tmp_path),
                                 "--stride", "0.5", "--skeleton", str(short)]) == 2
    assert f"error: skeleton file {short}: the skeleton of 'long' has" in capsys.readouterr().err


def test_skeleton_extracted_first(trained, tmp_path, mediapipe_model_env):
    """Without --skeleton: mediapipe over the whole video first (saved), then the windows."""
    result = run_timeline(trained["ckpt"], str(trained["long"]), str(tmp_path), window=2.0)
    saved = pickle.loads(Path(result.outputs["skeleton"]).read_bytes())["annotations"][0]
    assert saved["total_frames"] == trained["long_ann"]["total_frames"] == result.plan.total_frames
    assert result.report["skeleton"] == "mediapipe (extracted)" and len(result.plan.windows) == 7


def test_frame_buffer_is_bounded(trained, tmp_path):
    """The reader holds only the sampled frames of the windows around the decoder, however
    long the video: the same peak for a video 4x as long."""
    cfg_views, clip_len = 2, 4  # TEST.NUM_ENSEMBLE_VIEWS, DATA.NUM_FRAMES of the tiny config
    longer = tmp_path / "longer.mp4"
    concatenate(trained["videos"] * 4, trained["anns"] * 4, longer, "longer")
    peaks = {}
    for video in (trained["long"], longer):
        total = probe_video(video)[0]
        plan = plan_windows(total, FPS, 1.0, 0.5)
        options = data_options(tiny_cfg(trained["ann_file"], tmp_path), cfg_views)
        needs = [window_frames_needed(options, w) for w in plan.windows]
        assert all(len(n) <= cfg_views * clip_len for n in needs)
        reader = FrameBuffer(video, needs)
        handed = [sorted(frames) for frames in reader.windows()]
        # Decoding stops at the last sampled frame.
        assert handed == [n.tolist() for n in needs] and reader.decoded == needs[-1].max() + 1
        peaks[total] = reader.peak
    # Windows overlap by half: at most two windows' sampled frames are held at once.
    assert max(peaks.values()) <= 2 * cfg_views * clip_len, peaks
    assert len(set(peaks.values())) == 1, peaks
    print(f"peak frames {peaks}, max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
