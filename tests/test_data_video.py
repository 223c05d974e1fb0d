"""Video decoding: exact frames, and every way a video file can be bad."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
from data_fixtures import all_frames, make_video

from rgbpose_plugin.data.video import decode_frames
from rgbpose_plugin.errors import DataError, SampleError, VideoError


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = make_video(tmp_path_factory.mktemp("video") / "clip.mp4", 160, 96, 36)
    return path, all_frames(path)


@pytest.mark.parametrize("threads", [0, 1, 2])
def test_decoded_frames_equal_a_full_decode(clip, threads):
    path, reference = clip
    rng = np.random.default_rng(threads)
    for _ in range(6):
        inds = rng.integers(0, len(reference), rng.integers(1, 12))  # unsorted, repeats
        out = decode_frames(str(path), inds, threads=threads)
        assert out.frames.dtype.is_floating_point is False and out.size == (96, 160)
        assert out.frames.shape[0] == len(np.unique(inds))
        for k, i in enumerate(inds):
            np.testing.assert_array_equal(out.frames[out.inverse[k]].numpy(), reference[i])
        assert out.num_frames == len(reference)


def test_unstacked_frames_are_separate_arrays_with_the_same_pixels(clip):
    path, reference = clip
    inds = [30, 2, 2, 17, 35, 0]
    out = decode_frames(str(path), inds, threads=1, stack=False)
    assert isinstance(out.images, list) and len(out.images) == len(np.unique(inds))
    for k, i in enumerate(inds):
        image = out.images[out.inverse[k]]
        assert image.dtype == np.uint8 and image.flags.c_contiguous and image.flags.writeable
        np.testing.assert_array_equal(image, reference[i])
    assert not any(np.shares_memory(a, b) for a in out.images for b in out.images if a is not b)
    assert out.size == (96, 160) and out.frames.shape == (len(out.images), 96, 160, 3)


def test_missing_file_names_sample_and_path(tmp_path):
    path = str(tmp_path / "absent.mp4")
    with pytest.raises(VideoError) as info:
        decode_frames(path, [0], frame_dir="S001A001")
    assert "S001A001" in str(info.value) and path in str(info.value)
    assert "not found" in str(info.value)
    assert info.value.frame_dir == "S001A001" and info.value.path == path


def test_corrupt_and_truncated_files(tmp_path, clip):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    with pytest.raises(VideoError, match="cannot open"):
        decode_frames(str(junk), [0])
    half = tmp_path / "half.mp4"
    half.write_bytes(clip[0].read_bytes()[: clip[0].stat().st_size // 2])
    with pytest.raises(VideoError, match="corrupt or truncated"):
        decode_frames(str(half), [0, 3], frame_dir="cut")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError):
        decode_frames(str(empty), [0])


def test_shorter_video_is_clamped_and_warned_once(clip, caplog):
    path, reference = clip
    n = len(reference)
    with caplog.at_level(logging.WARNING, logger="rgbpose_plugin.data.video"):
        out = decode_frames(str(path), [0, n - 1, n + 3, n + 10], expected_frames=n + 11)
        decode_frames(str(path), [n + 5], expected_frames=n + 11)
    warnings = [r for r in caplog.records if "fewer than" in r.getMessage()]
    assert len(warnings) == 1 and str(path) in warnings[0].getMessage()
    for k in (1, 2, 3):  # indices past the end give the last frame
        np.testing.assert_array_equal(out.frames[out.inverse[k]].numpy(), reference[-1])


def test_errors_survive_pickling_and_rebuild_from_text():
    err = VideoError("sample 'a', video /x.mp4: file not found", frame_dir="a", path="/x.mp4")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is VideoError and str(back) == str(err) and back.path == "/x.mp4"
    # DataLoader rebuilds worker exceptions as type(err)(message): that must work.
    assert str(VideoError("message only")) == "message only"
    assert issubclass(VideoError, SampleError) and issubclass(SampleError, DataError)
