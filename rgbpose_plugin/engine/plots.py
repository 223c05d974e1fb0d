"""PNG figures: training curves of a stage and the test confusion matrix."""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

__all__ = ["plot_training_curves", "plot_confusion_matrix"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_training_curves(stats: List[dict], path: str, title: str = "") -> Optional[str]:
    """Loss and learning rate per iteration, validation top-1 per epoch."""
    train = [s for s in stats if s["kind"] == "train_iter"]
    val = [s for s in stats if s["kind"] == "val"]
    if not train:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    steps = [s["step"] for s in train]
    axes[0].plot(steps, [s["loss"] for s in train])
    axes[0].set(title="training loss", xlabel="iteration")
    axes[1].plot(steps, [s["lr"] for s in train])
    axes[1].set(title="learning rate", xlabel="iteration")
    for stream in (val[0]["metrics"] if val else {}):
        axes[2].plot([s["epoch"] for s in val], [s["metrics"][stream]["top1"] for s in val],
                     marker="o", label=stream)
    axes[2].set(title="validation top-1 (%)", xlabel="epoch")
    if val:
        axes[2].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_confusion_matrix(matrix: np.ndarray, path: str, class_names: Sequence[str] = (),
                          title: str = "") -> str:
    """Row-normalised confusion matrix; class names on the axes when there are few."""
    plt = _pyplot()
    n = matrix.shape[0]
    rates = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    size = min(4 + 0.25 * n, 20)
    fig, ax = plt.subplots(figsize=(size, size))
    im = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    if class_names and n <= 30:
        ax.set_xticks(range(n), class_names, rotation=90, fontsize=8)
        ax.set_yticks(range(n), class_names, fontsize=8)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                            color="white" if rates[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
