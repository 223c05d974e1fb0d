"""Classify one video with a trained model, through the test pipeline of the dataset.

The video and its skeleton become a one-item :class:`~rgbpose_plugin.data.RGBPoseDataset`
in the ``"test"`` split, so frame sampling (the seeded multi-view draw), the compact
crop, resizing, normalisation and heatmaps are exactly those of ``tools/run_net.py``'s
test. Scores follow the evaluation protocol: softmax per view, mean over views per
stream; the fused score is the 1:1 fusion ``p_rgb + p_pose``, halved here so that it
stays a probability (the ranking is the same).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from fvcore.common.config import CfgNode

from ..data import DataError, DataOptions, RGBPoseDataset
from ..errors import InferenceError
from ..model_kinds import model_kind
from ..scores import mean_probability, view_probabilities

__all__ = ["Prediction", "build_test_item", "predict"]


@dataclass
class Prediction:
    """Class probabilities of one video, per stream, and what the model was shown.

    ``probs`` maps ``"rgb"`` / ``"pose"`` (the model's streams) and ``"fused"`` to
    ``(C,)`` arrays that sum to 1. ``rgb_inds`` / ``pose_inds`` are the sampled frame
    indices ``(V, T)`` (None for a stream the model lacks); ``heatmaps`` is the pose
    input of the first view, max over joints, ``(T', h, w)``.
    """

    probs: Dict[str, np.ndarray]
    class_names: List[str]
    num_views: int
    rgb_inds: Optional[np.ndarray] = None
    pose_inds: Optional[np.ndarray] = None
    heatmaps: Optional[np.ndarray] = None
    meta: Dict[str, Any] = field(default_factory=dict)

    @property
    def streams(self) -> List[str]:
        """The model's streams, then ``"fused"``."""
        return [s for s in ("rgb", "pose") if s in self.probs] + ["fused"]

    def top(self, stream: str = "fused", k: int = 5) -> List[Dict[str, Any]]:
        """The ``k`` most likely classes of ``stream``: rank, index, name, probability."""
        probs = self.probs[stream]
        order = np.argsort(-probs, kind="stable")[:k]
        return [{"rank": r + 1, "index": int(i), "name": self.class_names[i],
                 "probability": float(probs[i])} for r, i in enumerate(order)]


def build_test_item(cfg: CfgNode, annotation: Dict[str, Any], video: Path,
                    num_views: Optional[int] = None) -> Dict[str, Any]:
    """The test-split dataset item of ``video`` with its ``annotation``.

    Heatmaps are drawn on the CPU even when the config draws them on the GPU (the same
    maps); bad data raises instead of being skipped.
    """
    options = DataOptions.from_cfg(cfg, "test", model_kind(cfg.MODEL.MODEL_NAME).key)
    options = options.with_changes(video_prefix="", heatmaps_on_device=False, on_error="raise",
                                   num_views=int(num_views or options.num_views))
    item_ann = dict(annotation, filename=str(video))  # the dataset reads <prefix>/<filename>
    dataset = RGBPoseDataset([item_ann], options, split="test", source=str(video))
    try:
        return dataset[0]
    except DataError as err:
        raise InferenceError(str(err)) from err


@torch.no_grad()
def _view_probabilities(model: nn.Module, inputs: Sequence[torch.Tensor], streams: Sequence[str],
                        device: torch.device, views_per_batch: int) -> Dict[str, np.ndarray]:
    """Softmax of every view, averaged over the views, per stream."""
    num_views = inputs[0].shape[0]
    logits: Dict[str, List[torch.Tensor]] = {}
    for start in range(0, num_views, views_per_batch):  # bounded memory for many views
        out = model([x[start:start + views_per_batch].to(device) for x in inputs])
        if torch.is_tensor(out):  # a host model with one plain output
            out = {streams[0]: out}
        for stream, value in out.items():
            logits.setdefault(stream, []).append(value.cpu())
    return {s: view_probabilities(torch.cat(v), num_views)[0].numpy() for s, v in logits.items()}


def predict(model: nn.Module, cfg: CfgNode, item: Dict[str, Any], class_names: List[str],
            device: str | torch.device = "cpu", views_per_batch: int = 4) -> Prediction:
    """Run ``model`` on a test ``item`` (:func:`build_test_item`) and score it."""
    device = torch.device(device)
    model = model.to(device).eval()
    streams = list(model_kind(cfg.MODEL.MODEL_NAME).streams)
    probs = _view_probabilities(model, item["inputs"], streams, device, views_per_batch)
    probs["fused"] = mean_probability(probs)
    meta = item["meta"]
    heatmaps = None
    if "pose" in streams:
        heatmaps = item["inputs"][streams.index("pose")][0].amax(0).numpy()  # (T', h, w)
    return Prediction(probs=probs, class_names=list(class_names),
                      num_views=int(item["inputs"][0].shape[0]),
                      rgb_inds=_array(meta.get("rgb_inds")), pose_inds=_array(meta.get("pose_inds")),
                      heatmaps=heatmaps, meta={"img_shape": meta.get("img_shape"),
                                               "total_frames": meta.get("total_frames")})


def _array(value: Any) -> Optional[np.ndarray]:
    return None if value is None else np.asarray(value)
