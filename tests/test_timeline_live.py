"""A stream read once: a pipe, skeletons as it goes, skipped windows, a stall, memory.

The model is the tiny recipe with random weights (the mechanics are tested, not the
labels: tests/test_timeline_accuracy.py checks labels). The source is an 8 s two-actor
long scene remuxed to MPEG-TS, the container a live pipe carries.
"""

import io
import json
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
from timeline_fixtures import random_tiny_checkpoint
from trainer_fixtures import ROOT, TINY_CLASSES

from rgbpose_dataprep.demo_data.long_scene import make_long_scene
from rgbpose_dataprep.pose import register_pose_backend
from rgbpose_dataprep.pose.base import PoseBackend
from rgbpose_plugin.data import sample_clips
from rgbpose_plugin.data.annotations import write_annotation_file
from rgbpose_plugin.inference.timeline import live, run_live_timeline, run_timeline
from rgbpose_plugin.inference.timeline.live import LiveWindows, OnlineTracker, is_live_source

DEMO_NET = ROOT / "tools" / "demo_net.py"
WINDOW = ["--window", "2", "--stride", "1", "--min-score", "0", "--device", "cpu"]


def to_mpegts(video: Path) -> bytes:
    """``video``'s packets remuxed into MPEG-TS (no re-encoding)."""
    buffer = io.BytesIO()
    with av.open(str(video)) as src, av.open(buffer, "w", format="mpegts") as out:
        stream = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return buffer.getvalue()


def frame_size_skeleton(pkl: Path, video: Path, dst: Path) -> dict:
    """The scene's skeleton rescaled to the size its video decodes at (what a backend run
    on the frames would give), written to ``dst``; returns the annotation."""
    data = pickle.loads(pkl.read_bytes())
    ann = dict(data["annotations"][0])
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        shape = (stream.codec_context.height, stream.codec_context.width)
    scale = shape[0] / ann["img_shape"][0]
    ann.update(keypoint=(ann["keypoint"] * scale).astype(np.float32), img_shape=shape,
               original_shape=shape)
    write_annotation_file(dst, [ann], data["split"])
    return ann


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A random-weight tiny checkpoint; an 8 s two-actor scene as MP4, as MPEG-TS, and its
    skeleton at the frames' size."""
    root = tmp_path_factory.mktemp("live")
    ckpt = random_tiny_checkpoint(root)
    video = make_long_scene(root / "long", seed=0, classes=TINY_CLASSES, actors=2,
                            duration_s=8, preset="ultrafast")
    ts = root / "scene.ts"
    ts.write_bytes(to_mpegts(video))
    pkl = root / "scene_frames.pkl"
    ann = frame_size_skeleton(video.with_suffix(".pkl"), video, pkl)
    return {"ckpt": ckpt, "video": video, "ts": ts, "pkl": pkl, "ann": ann, "root": root}


class ReplayBackend(PoseBackend):
    """A pose "backend" that gives the scene's skeleton frame by frame, persons in a
    changing order (as a detector lists them), so that tracking has work to do."""

    name = "test_replay"
    annotation: dict = {}

    def __init__(self) -> None:
        super().__init__()
        self.frame = 0

    def __call__(self, frame_rgb):
        kp, sc = self.annotation["keypoint"], self.annotation["keypoint_score"]
        order = [m for m in range(kp.shape[0]) if sc[m, self.frame].any()]
        if self.frame % 2:
            order.reverse()
        self.frame += 1
        return kp[order, self.frame - 1], sc[order, self.frame - 1]


register_pose_backend("test_replay", ReplayBackend)


def fused(report: dict, track: str) -> list:
    windows = report["windows"][track] if track != "scene" else report["windows"]
    return [{d["name"]: d["probability"] for d in w["top"].get("fused", [])} for w in windows]


def test_live_sources_are_told_apart():
    assert is_live_source("-") and is_live_source("rtsp://cam/1") and is_live_source("/dev/video0")
    assert not is_live_source("clip.mp4") and not is_live_source("data/rtsp_clip.mp4")


def test_read_once_gives_the_file_timeline(scene, tmp_path):
    """Read in order (no skipping), the stream's windows are the file's, bit for bit."""
    common = dict(skeleton=str(scene["pkl"]), window=2.0, stride=1.0, min_score=0.0,
                  device="cpu")
    whole = run_timeline(str(scene["ckpt"]), str(scene["video"]), str(tmp_path / "file"),
                         write_video=False, **common)
    once = run_live_timeline(str(scene["ckpt"]), str(scene["video"]), str(tmp_path / "once"),
                             live=False, **common)
    assert [w.start for w in once.plan.windows] == [w.start for w in whole.plan.windows]
    assert [w.cover_end for w in once.plan.windows] == [w.cover_end for w in whole.plan.windows]
    assert fused(once.report, "scene") == fused(whole.report, "scene")
    assert once.report["live"]["frames_read"] == 240
    assert once.report["live"]["windows_skipped"] == 0
    assert [s.name for s in once.segments] == [s.name for s in whole.segments]


def test_pipe_input_per_person(scene, tmp_path):
    """``--video -``: an MPEG-TS pipe into tools/demo_net.py, one line per window."""
    out = tmp_path / "pipe"
    with open(scene["ts"], "rb") as stdin:
        proc = subprocess.run(
            [sys.executable, str(DEMO_NET), "--checkpoint", str(scene["ckpt"]), "--video", "-",
             "--skeleton", str(scene["pkl"]), "--out", str(out), "--per-person", *WINDOW],
            stdin=stdin, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "timeline.json").read_text())
    assert report["mode"] == "per-person" and report["live"]["mode"] is True
    assert report["tracks"] == ["0", "1"] and report["live"]["frames_read"] == 240
    assert all(len(report["windows"][t]) == 7 for t in ("0", "1"))
    assert proc.stdout.count("track 0 [") == 7 and proc.stdout.count("track 1 [") == 7
    assert (out / "segments.csv").is_file() and (out / "timeline.png").is_file()
    assert "timeline.mp4 is not written" in proc.stdout


def test_skeleton_extracted_as_it_goes(scene, tmp_path):
    """Poses from a backend frame by frame, tracked online: the same per-person windows
    as the skeleton file's person slots."""
    ReplayBackend.annotation = scene["ann"]
    common = dict(window=2.0, stride=1.0, min_score=0.0, device="cpu", per_person=True,
                  live=False)
    given = run_live_timeline(str(scene["ckpt"]), str(scene["ts"]), str(tmp_path / "given"),
                              skeleton=str(scene["pkl"]), **common)
    extracted = run_live_timeline(str(scene["ckpt"]), str(scene["ts"]), str(tmp_path / "ex"),
                                  backend="test_replay", **common)
    assert extracted.report["tracks"] == given.report["tracks"] == ["0", "1"]
    assert "extracted as the stream is read" in extracted.report["skeleton"]
    for track in ("0", "1"):
        assert fused(extracted.report, track) == fused(given.report, track)


class PacedPipe:
    """Standard input fed from a thread at the stream's own pace (a live camera)."""

    def __init__(self, data: bytes, seconds: float) -> None:
        self._read, self._write = os.pipe()
        chunks = np.array_split(np.frombuffer(data, np.uint8), 40)
        threading.Thread(target=self._feed, args=(chunks, seconds / 40), daemon=True).start()

    def fileno(self) -> int:
        return self._read

    def _feed(self, chunks, pause: float) -> None:
        for chunk in chunks:
            os.write(self._write, chunk.tobytes())
            time.sleep(pause)
        os.close(self._write)


def test_slow_model_skips_late_windows(scene, tmp_path, monkeypatch):
    """A source at real time and a model slower than it: late windows are skipped, counted
    and shown as gaps; the newest is classified, and the lag stays bounded."""
    real = live.classify_window

    def slow(*args, **kwargs):
        time.sleep(0.9)  # per track: 1.8 s per 1 s of stride
        return real(*args, **kwargs)

    monkeypatch.setattr(live, "classify_window", slow)
    monkeypatch.setattr(sys, "stdin", PacedPipe(scene["ts"].read_bytes(), 8.0))
    lines = []
    result = run_live_timeline(str(scene["ckpt"]), "-", str(tmp_path / "slow"),
                               skeleton=str(scene["pkl"]), window=2.0, stride=1.0,
                               min_score=0.0, device="cpu", per_person=True, max_latency=0.5,
                               echo=lines.append)
    stats = result.report["live"]
    assert stats["windows_skipped"] >= 1, stats
    statuses = [w["status"] for w in result.report["windows"]["0"]]
    assert len(statuses) == 7 and statuses.count(live.SKIPPED) == stats["windows_skipped"]
    assert statuses[-1] != live.SKIPPED  # the newest window is always classified
    assert sorted(i for g in result.report["gaps"] for i in g["windows"]) == \
        stats["skipped_windows"]
    assert stats["latency_s"]["max"] < 0.5 + 2 * 1.8 + 1.0, stats
    assert any("skipped" in line for line in lines)


def test_a_stalled_stream_stops_and_keeps_what_it_wrote(scene, tmp_path):
    data = scene["ts"].read_bytes()
    out = tmp_path / "stall"
    proc = subprocess.Popen(
        [sys.executable, str(DEMO_NET), "--checkpoint", str(scene["ckpt"]), "--video", "-",
         "--skeleton", str(scene["pkl"]), "--out", str(out), "--stall-timeout", "2", *WINDOW],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=False)
    try:
        proc.stdin.write(data[: len(data) * 2 // 3])  # then nothing, the pipe kept open
        proc.stdin.flush()
        started = time.monotonic()
        code = proc.wait(timeout=120)
        waited = time.monotonic() - started
        stderr = proc.stderr.read().decode()
    finally:
        proc.kill()
        proc.stdin.close()
    assert code == 2, stderr
    assert "stalled" in stderr and "no frame for 2 s" in stderr
    report = json.loads((out / "timeline.json").read_text())
    assert report["live"]["stopped_by"].startswith("stall")
    assert 0 < report["live"]["frames_read"] < 240 and report["windows"]
    assert waited < 60


def test_window_buffer_is_bounded_over_a_long_stream():
    """Frames held do not grow with the stream: 600 and 6,000 frames, same peak; only
    the sampled frames of coming windows are kept once the first window is out."""
    size, stride = 60, 30
    offsets = np.unique(sample_clips(size, 8, 2, test_mode=True, seed=0))
    peaks = []
    for total in (600, 6000):
        cut = LiveWindows(size, stride, offsets, keep_rgb=True)
        windows = 0
        for _ in range(total):
            window = cut.add(np.zeros((2, 2, 3), np.uint8), {}, 0.0)
            if window is not None:
                windows += 1
                assert sorted(window.frames) == sorted(o for o in offsets)
                assert len(cut.poses) <= size
        peaks.append(cut.peak)
        assert windows == (total - size) // stride + 1
    assert peaks[0] == peaks[1] <= size


def test_a_stream_shorter_than_a_window_gives_one_padded_window():
    cut = LiveWindows(60, 30, np.array([0, 30, 59]), keep_rgb=True)
    for _ in range(20):
        assert cut.add(np.zeros((2, 2, 3), np.uint8), {}, 0.0) is None
    window = cut.tail(0.0)
    assert (window.start, window.end) == (0, 20) and sorted(window.frames) == list(range(20))


def test_online_tracker_keeps_ids_and_forgets_the_gone():
    tracker = OnlineTracker(min_iou=0.1, forget_after=5)
    left = np.array([[[10.0 + j, 10.0 + j] for j in range(17)]], np.float32)
    right = left + 100
    ones = np.ones((1, 17), np.float32)
    both = np.concatenate([left, right]), np.concatenate([ones, ones])
    swapped = np.concatenate([right, left]), np.concatenate([ones, ones])
    assert sorted(tracker.update(0, *both)) == ["0", "1"]
    persons = tracker.update(1, *swapped)
    assert np.array_equal(persons["0"][0], left[0]) and np.array_equal(persons["1"][0], right[0])
    for frame in range(2, 10):
        tracker.update(frame, right, ones)
    assert list(tracker.update(10, left, ones)) == ["2"]  # gone too long: a new id
