"""Turn a scene's true keypoints into a detector-like annotation.

Real skeletons come from a pose estimator: positions jitter, joints go missing and a
person is sometimes not detected in a frame. The annotation imitates that, with the
conventions of the pyskl / mmaction2 format: a missing joint has score 0 and
coordinates (0, 0), and every joint with a score > 0 lies inside the frame.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

from .scene import FRAME_H, FRAME_W, Scene

NOISE = 0.006  # Position noise, as a fraction of the person's height (about 1-1.5 px).
DROP_JOINT = 0.04  # Chance that one joint is missing in one frame.
DROP_PERSON = 0.02  # Chance that a person is not detected in one frame.


def annotate(scene: Scene, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """``keypoint`` (M, T, 17, 2) and ``keypoint_score`` (M, T, 17), both float32.

    Persons appear in random order (a tracker's ids carry no meaning).
    """
    persons = [scene.persons[i] for i in rng.permutation(len(scene.persons))]
    t = scene.num_frames
    kp = np.stack([p.keypoints for p in persons]) - scene.shake[None, :, None, :]
    sigma = np.array([NOISE * p.body.height for p in persons])[:, None, None, None]
    kp = kp + rng.normal(size=kp.shape) * sigma
    score = np.clip(rng.normal(0.85, 0.08, size=kp.shape[:3]), 0.3, 1.0)
    score[rng.uniform(size=score.shape) < DROP_JOINT] = 0.0
    score[rng.uniform(size=(len(persons), t)) < DROP_PERSON] = 0.0
    inside = ((kp[..., 0] >= 0) & (kp[..., 0] <= FRAME_W - 1)
              & (kp[..., 1] >= 0) & (kp[..., 1] <= FRAME_H - 1))
    score[~inside] = 0.0
    kp[score == 0] = 0.0
    return kp.astype(np.float32), score.astype(np.float32)
