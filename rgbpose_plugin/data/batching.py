"""Items into batches: stacking per pathway, moving to a device, drawing heatmaps there.

Items are :class:`~.dataset.RGBPoseDataset`'s (its docstring gives their contract). With
``heatmaps_on_device`` an item carries keypoints instead of heatmaps: :func:`collate` pads
their person axis, :func:`to_device` moves them with the inputs and :func:`draw_heatmaps`
draws the maps on that device.
"""

from __future__ import annotations

from typing import Any, Dict, List

import torch
from torch import Tensor

__all__ = ["collate", "draw_heatmaps", "to_device"]


def _pad_persons(tensors: List[Tensor], person_dim: int) -> Tensor:
    """Stack tensors that differ in the person axis, padding with zeros (score 0)."""
    most = max(t.shape[person_dim] for t in tensors)
    padded = []
    for t in tensors:
        extra = most - t.shape[person_dim]
        if extra:
            shape = list(t.shape)
            shape[person_dim] = extra
            t = torch.cat([t, t.new_zeros(shape)], person_dim)
        padded.append(t)
    return torch.stack(padded)


def collate(batch: List[Dict[str, Any]]) -> Dict[str, Any]:
    """DataLoader ``collate_fn``: stack inputs per pathway; labels, indices as tensors.

    Adds ``"skipped"`` (messages of samples skipped to fill this batch) and
    ``"num_skipped"``; with on-device heatmaps, pads and stacks the keypoints.
    """
    if not batch:
        raise ValueError("collate: empty batch")
    out: Dict[str, Any] = {
        "inputs": [torch.stack([b["inputs"][k] for b in batch])
                   for k in range(len(batch[0]["inputs"]))],
        "label": torch.tensor([b["label"] for b in batch], dtype=torch.long),
        "index": torch.tensor([b["index"] for b in batch], dtype=torch.long),
        "meta": [b["meta"] for b in batch],
    }
    out["skipped"] = [msg for b in batch for msg in b["meta"].get("skipped", [])]
    out["num_skipped"] = len(out["skipped"])
    if "pose_keypoint" in batch[0]:
        person_dim = batch[0]["pose_keypoint"].dim() - 4  # 0, or 1 with a view axis
        out["pose_keypoint"] = _pad_persons([b["pose_keypoint"] for b in batch], person_dim)
        out["pose_score"] = _pad_persons([b["pose_score"] for b in batch], person_dim)
        out["heatmap_spec"] = batch[0]["heatmap_spec"]
    return out


def to_device(batch: Dict[str, Any], device: torch.device | str,
              non_blocking: bool = False) -> Dict[str, Any]:
    """A copy of a collated batch with its tensors (inputs, labels, keypoints) on ``device``."""
    out = dict(batch)
    out["inputs"] = [x.to(device, non_blocking=non_blocking) for x in batch["inputs"]]
    for key in ("label", "pose_keypoint", "pose_score"):
        if key in batch:
            out[key] = batch[key].to(device, non_blocking=non_blocking)
    return out


def draw_heatmaps(batch: Dict[str, Any]) -> Dict[str, Any]:
    """With on-device heatmaps: a copy of ``batch`` whose ``inputs`` end with the heatmaps,
    drawn from its keypoints on their device. Other batches come back unchanged."""
    if "pose_keypoint" not in batch:
        return batch
    out = dict(batch)
    kp, score, spec = out.pop("pose_keypoint"), out.pop("pose_score"), out.pop("heatmap_spec")
    if kp.dim() == 6:  # test: (B, V, M, T, J, 2)
        maps = spec(kp.flatten(0, 1), score.flatten(0, 1))
        maps = maps.view(*kp.shape[:2], *maps.shape[1:])
    else:
        maps = spec(kp, score)
    out["inputs"] = list(out["inputs"]) + [maps]
    return out
