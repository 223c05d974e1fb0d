"""Score fusion: the evaluation protocol of the paper, written once.

Per stream (``"rgb"``, ``"pose"``): softmax of every view's logits, then the mean over
the views of a video. Fusion: a weighted sum of the stream probabilities, named by its
weights (``"1:1"``, ``"2:1"``, ``"1:2"``); the 1:1 fusion is the model's headline score.
The tester, the recipe's late-fusion row, the predictor, ``tools/fuse_scores.py`` and a
host trainer's output all use these functions.
"""

from __future__ import annotations

from typing import Dict, Mapping, Sequence, TypeVar

import torch

__all__ = ["STREAMS", "view_probabilities", "fuse", "fusion_name", "fused_table",
           "mean_probability"]

STREAMS = ("rgb", "pose")  # the two streams, in the order of the model's inputs

Scores = TypeVar("Scores")  # numpy arrays or tensors: anything with + and scalar *


def view_probabilities(logits: torch.Tensor, num_views: int = 1) -> torch.Tensor:
    """Softmax per view, mean over each video's views: ``(N*V, C)`` -> ``(N, C)`` float32.

    Views of one video must be consecutive rows.
    """
    probs = torch.softmax(logits.float(), dim=-1)
    return probs.reshape(-1, num_views, probs.shape[-1]).mean(1)


def fuse(scores: Mapping[str, Scores], weights: Mapping[str, float]) -> Scores:
    """``sum(weights[s] * scores[s])`` over the weighted streams."""
    missing = sorted(set(weights) - set(scores))
    if missing:
        raise KeyError(f"fusion needs streams {missing}, have {sorted(scores)}")
    return sum(float(w) * scores[s] for s, w in weights.items())


def fusion_name(weights: Sequence[float]) -> str:
    """``[2, 1]`` -> ``"2:1"`` (weights in :data:`STREAMS` order)."""
    return ":".join(f"{w:g}" for w in weights)


def fused_table(scores: Mapping[str, Scores], fusion_weights: Sequence[Sequence[float]] = ()
                ) -> Dict[str, Scores]:
    """Each stream's scores, then each fusion (when both streams are there), by name."""
    table = dict(scores)
    if set(STREAMS) <= set(scores):
        for w in fusion_weights:
            table[fusion_name(w)] = fuse(scores, dict(zip(STREAMS, w)))
    return table


def mean_probability(scores: Mapping[str, Scores]) -> Scores:
    """The 1:1 fusion scaled to stay a probability: the mean over the streams present.

    Ranks classes exactly as the 1:1 fusion does; a single-stream model gives its own.
    """
    return fuse(scores, {s: 1.0 / len(scores) for s in scores})
