"""``FastGeneratePoseTarget``: MMAction2's ``GeneratePoseTarget`` on our vectorised maps.

A subclass: same arguments, same ``eps`` (1e-4), same output key (``heatmap_imgs`` when
``imgs`` is present, else ``imgs``), same ``(T, C, h, w)`` float32 array and the same
``double`` (flipped copy) handling; only the drawing is replaced, by
:func:`rgbpose_plugin.data.heatmaps.pose_heatmaps` (one scatter for all frames, joints
and persons instead of a Python loop per point).
"""

from __future__ import annotations

from typing import Dict

import numpy as np
import torch
from mmaction.datasets.transforms import GeneratePoseTarget
from mmaction.registry import TRANSFORMS

from ..data.heatmaps import heatmap_size, pose_heatmaps

__all__ = ["FastGeneratePoseTarget"]


@TRANSFORMS.register_module()
class FastGeneratePoseTarget(GeneratePoseTarget):
    """Drop-in for ``GeneratePoseTarget`` (max difference <= 1e-6, float rounding)."""

    def gen_an_aug(self, results: Dict) -> np.ndarray:
        """Pseudo heatmaps ``(T, C, h, w)`` float32 for all frames of ``results``."""
        keypoint = np.asarray(results["keypoint"])
        if keypoint.ndim != 4 or keypoint.shape[-1] not in (2, 3):
            raise ValueError(f"FastGeneratePoseTarget: keypoint must be (M, T, V, 2|3), got "
                             f"{keypoint.shape} (sample {results.get('frame_dir', '?')!r})")
        # float32 copy, then scaled in place: the reference's arithmetic, to the bit.
        kp = keypoint[..., :2].astype(np.float32)
        kp *= self.scaling
        if self.use_score and "keypoint_score" in results:
            score = np.asarray(results["keypoint_score"], dtype=np.float32)
        else:
            score = np.ones(kp.shape[:-1], dtype=np.float32)
        h, w = heatmap_size(results["img_shape"], self.scaling)
        # Frames as the batch axis: the maps come out (T, C, 1, h, w), i.e. already in
        # the reference's (T, C, h, w) layout, with no transposing copy.
        kp_t = torch.from_numpy(np.ascontiguousarray(kp.transpose(1, 0, 2, 3)))[:, :, None]
        score_t = torch.from_numpy(np.ascontiguousarray(score.transpose(1, 0, 2)))[:, :, None]
        maps = pose_heatmaps(kp_t, score_t, (h, w), self.sigma, self.with_kp,
                             self.with_limb, self.skeletons, self.eps)
        maps = maps.view(maps.shape[0], maps.shape[1], h, w)
        if self.with_kp and self.with_limb:
            maps = self._limbs_over_joints(maps, kp.shape[2])
        return maps.numpy()

    def _limbs_over_joints(self, maps: torch.Tensor, num_joints: int) -> torch.Tensor:
        """With both ``with_kp`` and ``with_limb``, the reference draws the limb maps into
        the first channels (over the joints) and leaves the last ones empty: do the same,
        so the output is identical."""
        num_limbs = len(self.skeletons)
        limbs = maps[:, num_joints:num_joints + num_limbs].clone()
        maps[:, num_joints:] = 0
        maps[:, :num_limbs] = torch.maximum(maps[:, :num_limbs], limbs)
        return maps
