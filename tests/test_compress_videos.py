"""tools/compress_videos.py and rgbpose_dataprep.compress on small generated AVI files."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from assets import run_tool

from rgbpose_dataprep.compress import (
    compress_videos,
    find_jobs,
    output_size,
    summarize,
)
from rgbpose_plugin.fileio import PART_SUFFIX


def _write_avi(path: Path, width: int, height: int, frames: int, noise: bool = False) -> None:
    """An MPEG-4 Part 2 AVI (the codec of NTU's files) with a moving bar (or noise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            image = np.full((height, width, 3), 40, np.uint8)
            x = (i * width // frames) % width
            image[:, x:x + width // 8] = 220
            if noise:  # Similar-sized frames, so a cut file keeps its header and some frames.
                image = rng.integers(0, 256, image.shape, dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))


def _probe(path: Path) -> tuple[int, int, int, str]:
    """(width, height, decoded frames, codec name)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return stream.width, stream.height, frames, stream.codec_context.name


@pytest.fixture()
def sources(tmp_path: Path) -> Path:
    """Two good videos (one in a sub-folder, as NTU unpacks), a corrupt and a truncated one."""
    src = tmp_path / "src"
    _write_avi(src / "S001C001P001R001A001_rgb.avi", 320, 180, 12)
    _write_avi(src / "nturgb+d_rgb" / "S001C002P001R001A001_rgb.avi", 384, 216, 9)
    (src / "S001C003P001R001A001_rgb.avi").write_bytes(np.random.default_rng(0).bytes(4000))
    _write_avi(tmp_path / "whole.avi", 160, 90, 30, noise=True)
    data = (tmp_path / "whole.avi").read_bytes()
    (src / "S001C004P001R001A001_rgb.avi").write_bytes(data[: len(data) // 2])
    return src


def test_output_size_keeps_aspect_and_even_width():
    assert output_size(1920, 1080, 540) == (960, 540)
    width, height = output_size(1000, 700, 100)
    assert height == 100 and width % 2 == 0 and abs(width / height - 1000 / 700) < 0.02
    with pytest.raises(ValueError, match="even"):
        output_size(1920, 1080, 541)


def test_full_hd_source_becomes_960x540_h264(tmp_path: Path):
    _write_avi(tmp_path / "src" / "S001C001P001R001A001_rgb.avi", 1920, 1080, 5)
    results = compress_videos(tmp_path / "src", tmp_path / "dst", progress=False,
                              preset="ultrafast")
    assert [r.status for r in results] == ["done"]
    assert _probe(tmp_path / "dst" / "S001C001P001R001A001.mp4") == (960, 540, 5, "h264")


def test_converts_good_files_and_reports_bad_ones(sources: Path, tmp_path: Path):
    dst = tmp_path / "dst"
    results = compress_videos(sources, dst, workers=2, height=90, preset="ultrafast",
                              progress=False)
    status = {r.src.name: r.status for r in results}
    assert status == {
        "S001C001P001R001A001_rgb.avi": "done",
        "S001C002P001R001A001_rgb.avi": "done",
        "S001C003P001R001A001_rgb.avi": "failed",  # Random bytes.
        "S001C004P001R001A001_rgb.avi": "failed",  # Truncated: fewer frames than its header.
    }
    # Every decoded frame is kept, so annotations' total_frames stay valid.
    assert _probe(dst / "S001C001P001R001A001.mp4") == (160, 90, 12, "h264")
    assert _probe(dst / "S001C002P001R001A001.mp4") == (160, 90, 9, "h264")
    assert sorted(p.name for p in dst.iterdir()) == ["S001C001P001R001A001.mp4",
                                                      "S001C002P001R001A001.mp4"]
    summary = summarize(results)
    assert "2 converted" in summary and "2 failed" in summary
    assert "S001C003P001R001A001_rgb.avi" in summary and "header" in summary


def test_truncated_file_accepted_when_asked(sources: Path, tmp_path: Path):
    results = compress_videos(sources, tmp_path / "dst", height=90, preset="ultrafast",
                              allow_frame_mismatch=True, progress=False)
    status = {r.src.name: r.status for r in results}
    assert status["S001C004P001R001A001_rgb.avi"] == "done"
    assert status["S001C003P001R001A001_rgb.avi"] == "failed"


def test_rerun_skips_finished_files_and_redoes_partial_ones(sources: Path, tmp_path: Path):
    dst = tmp_path / "dst"
    compress_videos(sources, dst, height=90, preset="ultrafast", progress=False)
    finished = dst / "S001C001P001R001A001.mp4"
    before = finished.stat().st_mtime_ns
    # A run killed mid-file leaves only a ".part" file, never a half-written ".mp4".
    (dst / "S001C002P001R001A001.mp4").rename(dst / ("S001C002P001R001A001.mp4" + PART_SUFFIX))
    results = compress_videos(sources, dst, height=90, preset="ultrafast", progress=False)
    status = {r.dst.name: r.status for r in results}
    assert status["S001C001P001R001A001.mp4"] == "skipped"
    assert status["S001C002P001R001A001.mp4"] == "done"
    assert finished.stat().st_mtime_ns == before
    assert not list(dst.glob("*" + PART_SUFFIX))
    assert _probe(dst / "S001C002P001R001A001.mp4")[2] == 9


def test_cli_exit_status_and_summary(sources: Path, tmp_path: Path, capsys):
    args = [str(sources), str(tmp_path / "dst"), "--height", "90", "--workers", "1",
            "--preset", "ultrafast"]
    assert run_tool("compress_videos", args) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "S001C003P001R001A001_rgb.avi" in out
    for bad in ("S001C003P001R001A001_rgb.avi", "S001C004P001R001A001_rgb.avi"):
        (sources / bad).unlink()
    assert run_tool("compress_videos", args) == 0
    assert "0 failed" in capsys.readouterr().out
    assert run_tool("compress_videos", [str(tmp_path / "missing"), str(tmp_path / "dst")]) == 2


def test_cli_folder_without_matching_files_is_an_error(tmp_path: Path, capsys):
    """A folder where nothing matches the pattern (the wrong folder, or videos not named
    *_rgb.avi) is a one-line error naming both, not "0 converted"."""
    _write_avi(tmp_path / "src" / "clip.avi", 64, 36, 2)
    status = run_tool("compress_videos", [str(tmp_path / "src"), str(tmp_path / "dst")])
    err = capsys.readouterr().err
    assert status == 2
    assert err == f"error: no file under {tmp_path / 'src'} matches the pattern '*_rgb.avi' " \
                  "(searched recursively)\n"
    assert not (tmp_path / "dst").exists()
    assert run_tool("compress_videos", [str(tmp_path / "src"), str(tmp_path / "dst"),
                                        "--pattern", "*.avi", "--preset", "ultrafast"]) == 0
    assert (tmp_path / "dst" / "clip.mp4").is_file()


def test_duplicate_names_are_an_error(tmp_path: Path):
    _write_avi(tmp_path / "src" / "a" / "X_rgb.avi", 64, 36, 2)
    _write_avi(tmp_path / "src" / "b" / "X_rgb.avi", 64, 36, 2)
    with pytest.raises(ValueError, match="X.mp4"):
        find_jobs(tmp_path / "src", tmp_path / "dst")
