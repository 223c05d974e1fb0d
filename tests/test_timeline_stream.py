"""The streaming timeline on a damaged file, and benchmarks/bench_stream.py's measuring.

An 8 s long scene of the tiny classes is written, then a few KB in the middle of the
file's bytes are overwritten with noise: the H.264 decoder rejects the packets there
(PyAV raises InvalidDataError for them) and goes on with the next ones. The model is the
tiny recipe with random weights (the mechanics are tested, not the labels). Checked: the
run finishes, the windows sampling the lost frames are gaps (JSON entries, ``gaps``, no
segment over them, the printed line), the windows after the stretch are classified, and
the frame indices stay the probe's (decoded + lost = probed; the frames around the
stretch match the clean file's).
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from timeline_fixtures import random_tiny_checkpoint
from trainer_fixtures import ROOT, TINY_CLASSES

from rgbpose_dataprep.demo_data.long_scene import make_long_scene
from rgbpose_plugin.inference.timeline import FrameBuffer, probe_video, run_timeline

NOISE_BYTES = 4096


def load_bench():
    """benchmarks/bench_stream.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_stream",
                                                  ROOT / "benchmarks" / "bench_stream.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_stream"] = module
    spec.loader.exec_module(module)
    return module


def corrupt_middle(src: Path, dst: Path) -> None:
    """A copy of ``src`` with :data:`NOISE_BYTES` of seeded noise in the middle."""
    data = bytearray(src.read_bytes())
    mid = len(data) // 2
    noise = np.random.default_rng(1).integers(0, 256, NOISE_BYTES, dtype=np.uint8)
    data[mid:mid + NOISE_BYTES] = noise.tobytes()
    dst.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A random-weight tiny checkpoint, a clean 8 s scene and its corrupted copy."""
    root = tmp_path_factory.mktemp("stream")
    ckpt = random_tiny_checkpoint(root)
    video = make_long_scene(root / "long", seed=0, classes=TINY_CLASSES, actors=1,
                            duration_s=8, preset="ultrafast")
    bad = root / "corrupt.mp4"
    corrupt_middle(video, bad)
    return {"ckpt": ckpt, "video": video, "bad": bad, "pkl": video.with_suffix(".pkl"),
            "root": root}


@pytest.fixture(scope="module")
def damaged_run(scene):
    lines = []
    result = run_timeline(str(scene["ckpt"]), str(scene["bad"]), str(scene["root"] / "out"),
                          skeleton=str(scene["pkl"]), min_score=0.0, device="cpu",
                          echo=lines.append)
    return result, lines


def test_reader_keeps_indices_across_the_stretch(scene):
    total = probe_video(scene["bad"])[0]
    assert total == probe_video(scene["video"])[0]
    needs = [np.arange(total)]
    clean = next(FrameBuffer(scene["video"], needs).windows())
    reader = FrameBuffer(scene["bad"], needs)
    damaged = next(reader.windows())
    assert reader.errors > 0 and reader.gaps, "the noise should make the decoder reject packets"
    lost = {i for a, b in reader.gaps for i in range(a, b)}
    assert sorted(damaged) == sorted(set(range(total)) - lost)
    assert reader.decoded + len(lost) == total
    # Before the stretch the frames are the clean file's (but a B-frame or two just before
    # it, which refer to a lost frame); after it they are the same frames with artefacts.
    first, last = reader.gaps[0][0], reader.gaps[-1][1]
    assert all(np.array_equal(clean[i], damaged[i]) for i in range(first - 4))
    assert all(np.abs(clean[i].astype(int) - damaged[i]).mean() < 8 for i in range(last, total))


def test_corrupt_stretch_becomes_a_gap(damaged_run):
    result, lines = damaged_run
    report = json.loads(Path(result.outputs["json"]).read_text())
    windows = report["windows"]
    gap_windows = [w["index"] for w in windows if w["status"].startswith("undecodable frames")]
    assert gap_windows and all(windows[i]["label"] is None for i in gap_windows)
    assert all(not windows[i]["top"] for i in gap_windows)  # not classified
    # The windows after the stretch are classified again.
    after = windows[gap_windows[-1] + 1:]
    assert after and all(w["status"] == "ok" for w in after)
    assert report["gaps"] and report["gaps"][0]["windows"] == gap_windows
    assert report["gaps"][0]["label"] is None
    for segment in report["segments"]:
        assert not set(segment["windows"]) & set(gap_windows)
    decode = report["decode"]
    lost = sum(b - a for a, b in decode["undecodable_frames"])
    assert decode["frames_decoded"] + lost == decode["frames_reached"]
    assert decode["frames_reached"] <= decode["frames_probed"] == report["total_frames"]
    assert decode["decode_errors"] > 0
    window_lines = [line for line in lines if line.startswith("[")]
    assert sum("] undecodable frames " in line for line in window_lines) == len(gap_windows)
    assert any(line.startswith("note:") and "could not be decoded" in line for line in lines)
    # The annotated MP4's pass would stop at the first error: it is skipped, and said so.
    assert "video" not in result.outputs
    assert "note: timeline.mp4 not written: the video has undecodable frames" in lines


def test_bench_measure_mechanics(scene, tmp_path):
    bench = load_bench()
    rows = []
    for reader in ("file", "stream"):
        row = bench.measure(scene["ckpt"], scene["video"], scene["pkl"], tmp_path / reader,
                            threads=1, reader=reader)
        assert row["windows"] > 1 and row["video_s"] == pytest.approx(8, abs=0.1)
        assert row["wall_s"] > 0
        assert row["x_real_time"] == pytest.approx(row["video_s"] / row["wall_s"])
        assert row["peak_rss_mib"] > 50 and row["peak_frames"] > 0 and row["gaps"] == 0
        rows.append({"model": "demo", "reader": reader, **row})
    assert rows[0]["windows"] == rows[1]["windows"]
    table = bench.table(rows)
    assert table.startswith("| model | reader | skeleton | video s |")
    assert "| demo | file | given | 8 |" in table and "| demo | stream | given | 8 |" in table
