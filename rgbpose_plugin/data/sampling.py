"""Uniform frame sampling, per modality, as mmaction2's ``MMUniformSampleFrames`` does it.

For a clip of ``L`` frames out of ``T``:

* ``T < L``: consecutive indices from a start frame, wrapping modulo ``T`` (random start
  in training; clip ``i`` starts at ``i`` or ``i * T // num_clips`` at test time);
* ``L <= T < 2L``: ``L`` strictly increasing indices with ``T - L`` random +1 steps;
* ``T >= 2L``: ``[0, T)`` cut into ``L`` segments (borders ``i * T // L``), one random frame
  in each.

Test/val draws restart a NumPy ``RandomState`` from ``seed`` (255) for every modality,
exactly as the reference re-seeds NumPy's global generator, so the clips are the
reference's to the index. Here the generator is local: the caller's global NumPy state
is left alone. Training draws come from :func:`train_rng`, seeded by (seed, epoch,
index), so they do not depend on the number of DataLoader workers.
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from ..config import REFERENCE_TEST_SEED

__all__ = ["train_rng", "sample_clips", "sample_modalities", "TEST_SEED"]

TEST_SEED = REFERENCE_TEST_SEED


def train_rng(seed: int, epoch: int, index: int) -> np.random.RandomState:
    """A generator for one training sample, independent of worker count and order."""
    seq = np.random.SeedSequence([int(seed) % 2**63, int(epoch) % 2**63, int(index) % 2**63])
    return np.random.RandomState(np.random.MT19937(seq))


def _one_clip(num_frames: int, clip_len: int, rng: np.random.RandomState,
              test_start: int = -1) -> np.ndarray:
    """Indices of one clip (before the modulo); ``test_start >= 0`` fixes the T < L start."""
    if num_frames < clip_len:
        start = test_start if test_start >= 0 else rng.randint(0, num_frames)
        return np.arange(start, start + clip_len)
    if num_frames < 2 * clip_len:
        # Spread the T - L spare frames as +1 steps between consecutive indices.
        steps = np.zeros(clip_len + 1, dtype=np.int64)
        steps[rng.choice(clip_len + 1, num_frames - clip_len, replace=False)] = 1
        return np.arange(clip_len) + np.cumsum(steps)[:-1]
    borders = np.array([i * num_frames // clip_len for i in range(clip_len + 1)])
    return borders[:-1] + rng.randint(np.diff(borders))


def sample_clips(num_frames: int, clip_len: int, num_clips: int = 1, *, test_mode: bool,
                 rng: np.random.RandomState | None = None, seed: int = TEST_SEED
                 ) -> np.ndarray:
    """Frame indices, shape ``(num_clips, clip_len)``, each in ``[0, num_frames)``.

    Test mode makes its own ``RandomState(seed)`` (the reference's seeded draws); training
    needs ``rng`` (e.g. :func:`train_rng`).
    """
    if num_frames <= 0 or clip_len <= 0 or num_clips <= 0:
        raise ValueError(f"sample_clips: need positive num_frames/clip_len/num_clips, got "
                         f"{num_frames}/{clip_len}/{num_clips}")
    if test_mode:
        rng = np.random.RandomState(seed)
    elif rng is None:
        raise ValueError("sample_clips: training draws need an rng (see train_rng)")
    clips = []
    for i in range(num_clips):
        start = -1
        if test_mode:
            start = i if num_frames < num_clips else i * num_frames // num_clips
        clips.append(_one_clip(num_frames, clip_len, rng, start))
    return np.mod(np.stack(clips), num_frames).astype(np.int64)


def sample_modalities(num_frames: int, clip_lens: Dict[str, int], num_clips: int = 1, *,
                      test_mode: bool, rng: np.random.RandomState | None = None,
                      seed: int = TEST_SEED) -> Dict[str, np.ndarray]:
    """Independent draws per modality over the same ``num_frames`` (e.g. rgb 8, pose 32).

    Training draws use ``rng`` in the order of ``clip_lens``; test draws restart from
    ``seed`` for each modality, as the reference does.
    """
    return {name: sample_clips(num_frames, length, num_clips, test_mode=test_mode, rng=rng,
                               seed=seed)
            for name, length in clip_lens.items()}
