"""The summary picture: sampled frames with their skeleton, the pose heatmaps the model
saw, and the top-5 classes.

Layout (matplotlib)::

    +------------------------------------------+-----------------+
    | sampled frames of view 1, skeleton drawn | top-5 bar chart |
    +------------------------------------------+ (fused, rgb,    |
    | pose heatmaps of view 1, max over joints |  pose)          |
    +------------------------------------------+-----------------+

The frames are cropped around the person for legibility (the same kind of square box the
test pipeline crops); the heatmaps are the model's pose input itself.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure state
from matplotlib.gridspec import GridSpec, GridSpecFromSubplotSpec
from PIL import Image

from ..data import decode_frames
from ..data.transforms import compact_box
from .drawing import SCORE_CMAP, draw_skeleton
from .predictor import Prediction

__all__ = ["keypoints_at", "frame_tiles", "shown_frames", "save_picture"]

_STREAM_COLOURS = {"fused": "#333333", "rgb": "#4285f4", "pose": "#ff8c00"}
_MAX_FRAMES = 8  # frames shown in the top row


def keypoints_at(annotation: Dict[str, Any], frames: Sequence[int], size_hw: Tuple[int, int]
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """Keypoints ``(M, n, J, 2)`` of ``frames`` in pixels of frames of ``size_hw``, and
    scores ``(M, n, J)`` (0 where a joint was not detected)."""
    kp = np.asarray(annotation["keypoint"], np.float32)
    score = annotation.get("keypoint_score")
    score = np.ones(kp.shape[:3], np.float32) if score is None else np.asarray(score, np.float32)
    inds = np.clip(np.asarray(frames, int), 0, kp.shape[1] - 1)
    kp, score = kp[:, inds], score[:, inds].copy()
    score[np.all(kp == 0, axis=-1)] = 0  # (0, 0) is "not detected": keep it hidden
    (old_h, old_w), (new_h, new_w) = annotation["img_shape"], size_hw
    return kp * np.array([new_w / old_w, new_h / old_h], np.float32), score


def shown_frames(prediction: Prediction) -> np.ndarray:
    """The frames of the top row: the RGB clip of view 1, or (pose-only models) up to 8
    evenly spread frames of its pose clip."""
    if prediction.rgb_inds is not None:
        return np.asarray(prediction.rgb_inds[0])[:_MAX_FRAMES]
    pose = np.asarray(prediction.pose_inds[0])
    picks = np.linspace(0, len(pose) - 1, min(_MAX_FRAMES, len(pose))).round().astype(int)
    return pose[picks]


def frame_tiles(video: Path, annotation: Dict[str, Any], frames: Sequence[int],
                tile: int = 224) -> List[np.ndarray]:
    """Square ``tile`` px crops around the person of ``frames``, skeleton drawn."""
    decoded = decode_frames(str(video), frames, expected_frames=int(annotation["total_frames"]))
    images = decoded.frames[torch.from_numpy(decoded.inverse)].numpy()  # (n, H, W, 3)
    kp, score = keypoints_at(annotation, frames, decoded.size)
    visible = torch.from_numpy(np.where(score[..., None] > 0, kp, 0))
    x0, y0, x1, y1 = compact_box(visible, decoded.size, padding=0.25)
    side = max(x1 - x0, y1 - y0, 1)
    tiles = []
    for i, image in enumerate(images):
        crop = Image.fromarray(image).crop((x0, y0, x0 + side, y0 + side))  # pads with black
        crop = crop.resize((tile, tile), Image.BILINEAR)
        scaled = (kp[:, i] - np.array([x0, y0], np.float32)) * (tile / side)
        tiles.append(np.asarray(draw_skeleton(crop, scaled, score[:, i], size=tile / 50)))
    return tiles


def _image_axis(ax, image: np.ndarray, title: str, **kwargs) -> None:
    ax.imshow(image, **kwargs)
    ax.set_title(title, fontsize=7, pad=2)
    ax.set_xticks([])
    ax.set_yticks([])


def _section(fig, spec, title: str, heading: float):
    """Split ``spec`` into a heading band (``heading``: its share of the height) carrying
    ``title`` and the content area, which is returned."""
    parts = GridSpecFromSubplotSpec(2, 1, subplot_spec=spec, hspace=0,
                                    height_ratios=[heading, 1 - heading])
    ax = fig.add_subplot(parts[0])
    ax.axis("off")
    ax.text(0, 0.6, title, fontsize=9, va="center", transform=ax.transAxes)
    return parts[1]


def _frames_row(fig, spec, tiles: List[np.ndarray], frames: Sequence[int], title: str) -> None:
    content = _section(fig, spec, title, 0.2)
    grid = GridSpecFromSubplotSpec(1, max(len(tiles), 4), subplot_spec=content, wspace=0.05)
    for i, (tile, index) in enumerate(zip(tiles, frames)):
        _image_axis(fig.add_subplot(grid[0, i]), tile, f"frame {int(index)}")


def _heatmap_grid(fig, spec, heatmaps: np.ndarray, frames: Sequence[int], heading: float) -> None:
    content = _section(fig, spec, "pose input of view 1: heatmaps (max over joints) by frame",
                       heading)
    cols = 2 * _MAX_FRAMES
    rows = math.ceil(len(heatmaps) / cols)
    grid = GridSpecFromSubplotSpec(rows, cols, subplot_spec=content, wspace=0.05, hspace=0.3)
    for i, (heat, index) in enumerate(zip(heatmaps, frames)):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        _image_axis(ax, heat, f"{int(index)}", cmap="magma", vmin=0.0, vmax=1.0)


def _bars(ax, prediction: Prediction, k: int) -> None:
    """Grouped horizontal bars: the top-k fused classes, each with every stream's score."""
    top = prediction.top("fused", k)
    # Fused first (on top), then the streams; a single-stream model has only its own.
    streams = prediction.streams[::-1] if len(prediction.streams) > 2 else prediction.streams[:1]
    height = 0.8 / len(streams)
    for s, stream in enumerate(streams):
        values = [100 * prediction.probs[stream][t["index"]] for t in top]
        y = np.arange(len(top)) + (s - (len(streams) - 1) / 2) * height
        ax.barh(y, values, height=height, color=_STREAM_COLOURS[stream], label=stream)
        if s == 0:
            for yy, v in zip(y, values):
                ax.text(min(v, 100) + 1, yy, f"{v:.1f}%", va="center", fontsize=7)
    ax.set_yticks(range(len(top)), [t["name"] for t in top], fontsize=8)
    ax.invert_yaxis()  # most likely class on top
    ax.set_xlim(0, 115)
    ax.set_xlabel("probability (%)", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(f"top-{len(top)} classes (mean of {prediction.num_views} views)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")


def _score_bar(fig, spec) -> None:
    ax = fig.add_subplot(spec)
    bar = fig.colorbar(ScalarMappable(Normalize(0, 1), SCORE_CMAP), cax=ax, orientation="horizontal")
    bar.ax.set_title("joint colour = keypoint score", fontsize=7, pad=3)
    bar.ax.tick_params(labelsize=6)


def save_picture(path: Path, prediction: Prediction, tiles: List[np.ndarray],
                 frames: Sequence[int], title: str, k: int = 5, dpi: int = 80) -> Path:
    """Write the summary picture to ``path`` (PNG)."""
    heat = prediction.heatmaps
    heat_rows = 0 if heat is None else math.ceil(len(heat) / (2 * _MAX_FRAMES))
    # Heights in inches: title, frame row (with its heading), heatmap rows, bottom margin.
    head, frame_h, heat_h, foot = 0.45, 2.0, (0.4 + 0.75 * heat_rows if heat_rows else 0), 0.45
    height = head + frame_h + heat_h + foot
    fig = Figure(figsize=(15, height))
    outer = GridSpec(1, 2, figure=fig, width_ratios=[3.2, 1], wspace=0.3,
                     left=0.02, right=0.98, top=1 - head / height, bottom=foot / height)
    left = GridSpecFromSubplotSpec(2 if heat_rows else 1, 1, subplot_spec=outer[0],
                                   height_ratios=[frame_h, heat_h] if heat_rows else None,
                                   hspace=0.02)
    clip = "RGB clip" if prediction.rgb_inds is not None else "frames of the pose clip"
    _frames_row(fig, left[0], tiles, frames,
                f"{clip} of view 1 with its skeleton (cropped around the person)")
    if heat_rows:
        _heatmap_grid(fig, left[1], heat, prediction.pose_inds[0], 0.35 / heat_h)
    right = GridSpecFromSubplotSpec(2, 1, subplot_spec=outer[1], height_ratios=[10, 0.6],
                                    hspace=0.55 + 0.1 * (3 - heat_rows))
    _bars(fig.add_subplot(right[0]), prediction, k)
    _score_bar(fig, right[1])
    fig.suptitle(title, fontsize=11, x=0.02, y=1 - 0.12 / height, ha="left", va="top")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
