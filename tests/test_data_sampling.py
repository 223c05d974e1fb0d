"""Frame sampling: counts, order, ranges, determinism, and the reference's seeded draws."""

from __future__ import annotations

import numpy as np
import pytest

from rgbpose_plugin.data.sampling import sample_clips, sample_modalities, train_rng


def reference_test_draws(num_frames: int, clip_len: int, num_clips: int, seed: int = 255):
    """mmaction2's ``UniformSampleFrames._get_test_clips`` algorithm, on NumPy's *global*
    generator exactly as it does (the global state is restored afterwards)."""
    saved = np.random.get_state()
    try:
        np.random.seed(seed)
        clips = []
        for i in range(num_clips):
            if num_frames < clip_len:
                start = i if num_frames < num_clips else i * num_frames // num_clips
                inds = np.arange(start, start + clip_len)
            elif num_frames < 2 * clip_len:
                chosen = np.random.choice(clip_len + 1, num_frames - clip_len, replace=False)
                offset = np.zeros(clip_len + 1, dtype=np.int64)
                offset[chosen] = 1
                inds = np.arange(clip_len) + np.cumsum(offset)[:-1]
            else:
                bids = np.array([i * num_frames // clip_len for i in range(clip_len + 1)])
                inds = bids[:clip_len] + np.random.randint(np.diff(bids))
            clips.append(inds)
        return np.mod(np.concatenate(clips), num_frames)
    finally:
        np.random.set_state(saved)


@pytest.mark.parametrize("num_frames", [5, 8, 9, 31, 32, 33, 63, 64, 100, 301])
@pytest.mark.parametrize("clip_len,num_clips", [(8, 1), (8, 10), (32, 1), (32, 10)])
def test_seeded_test_draws_equal_reference(num_frames, clip_len, num_clips):
    ours = sample_clips(num_frames, clip_len, num_clips, test_mode=True, seed=255)
    assert ours.shape == (num_clips, clip_len)
    np.testing.assert_array_equal(ours.ravel(), reference_test_draws(num_frames, clip_len,
                                                                     num_clips))


def test_test_draws_leave_global_rng_alone_and_restart_per_modality():
    np.random.seed(1234)
    before = np.random.get_state()[1].copy()
    draws = sample_modalities(100, {"rgb": 8, "pose": 32}, 10, test_mode=True)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    # Each modality restarts from the seed, as the reference re-seeds per modality.
    np.testing.assert_array_equal(draws["rgb"], sample_clips(100, 8, 10, test_mode=True))
    np.testing.assert_array_equal(draws["pose"], sample_clips(100, 32, 10, test_mode=True))
    # Val is the reference's 1-clip draw, i.e. the first clip of the test draw.
    np.testing.assert_array_equal(sample_clips(100, 8, 1, test_mode=True)[0], draws["rgb"][0])


@pytest.mark.parametrize("num_frames", [3, 8, 12, 16, 17, 100, 1000])
@pytest.mark.parametrize("clip_len", [8, 32])
def test_training_clips_counts_ranges_order(num_frames, clip_len):
    for index in range(20):
        inds = sample_clips(num_frames, clip_len, 1, test_mode=False,
                            rng=train_rng(1, 0, index))[0]
        assert inds.shape == (clip_len,)
        assert inds.min() >= 0 and inds.max() < num_frames
        if num_frames >= clip_len:
            assert np.all(np.diff(inds) > 0)  # strictly increasing, no repeats
            if num_frames >= 2 * clip_len:  # one frame per segment i*T//L .. (i+1)*T//L
                borders = np.array([i * num_frames // clip_len for i in range(clip_len + 1)])
                assert np.all(inds >= borders[:-1]) and np.all(inds < borders[1:])
        else:  # consecutive frames modulo T from a random start
            assert np.all(np.mod(np.diff(inds), num_frames) == 1)


def test_training_draws_are_reproducible_and_vary():
    a = sample_clips(100, 8, 1, test_mode=False, rng=train_rng(1, 3, 17))
    b = sample_clips(100, 8, 1, test_mode=False, rng=train_rng(1, 3, 17))
    np.testing.assert_array_equal(a, b)
    others = {tuple(sample_clips(100, 8, 1, test_mode=False, rng=train_rng(s, e, i))[0])
              for s, e, i in [(1, 3, 18), (1, 4, 17), (2, 3, 17), (1, 0, 0)]}
    assert len(others | {tuple(a[0])}) == 5
    # All frames of a segment get drawn over many samples (the draw is not degenerate).
    firsts = {sample_clips(100, 8, 1, test_mode=False, rng=train_rng(0, 0, i))[0, 0]
              for i in range(200)}
    assert firsts == set(range(12))


def test_bad_arguments():
    with pytest.raises(ValueError, match="positive"):
        sample_clips(0, 8, test_mode=True)
    with pytest.raises(ValueError, match="rng"):
        sample_clips(10, 8, test_mode=False)
