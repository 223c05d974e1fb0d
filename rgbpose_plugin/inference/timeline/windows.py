"""The window plan of a long video, and each window through the model's test pipeline.

A window is a stretch of frames classified on its own, exactly as the test stage would
classify a video of that length: the same seeded uniform views, compact crop, resize,
normalisation and heatmaps. It becomes a one-item test dataset whose video decode is
replaced by the frames already in memory (:class:`WindowDataset`), and whose skeleton is
the window's slice of the whole video's skeleton; a window equal to a whole clip therefore
gives that clip's single-clip prediction.

Defaults (docs/inference.md): the window is ``max(2 s, DATA.POSE_NUM_FRAMES / fps)`` (the
config does not store how long the training videos were; NTU clips are a few seconds and
the pose clip is the longest the model samples), the stride half of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch.nn as nn
from fvcore.common.config import CfgNode

from ...data import DataError, DataOptions, DecodedFrames, RGBPoseDataset, sample_clips
from ...errors import InferenceError
from ...model_kinds import model_kind
from ..predictor import Prediction, predict

__all__ = ["DEFAULT_MIN_WINDOW_S", "Window", "WindowPlan", "WindowDataset", "classify_window",
           "default_window", "nobody_in_view", "plan_windows", "test_options", "window_annotation",
           "window_frames_needed"]

DEFAULT_MIN_WINDOW_S = 2.0  # about an NTU action; shorter pose clips still get 2 s


@dataclass(frozen=True)
class Window:
    """Frames ``[start, end)`` are classified; ``[cover_start, cover_end)`` is the part of
    the time line the window speaks for (the windows' covers tile the video)."""

    index: int
    start: int
    end: int
    cover_start: int
    cover_end: int

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class WindowPlan:
    """Every window of a video of ``total_frames`` at ``fps``; ``padded``: the video is
    shorter than one window, whose test views then repeat frames."""

    total_frames: int
    fps: Fraction
    window_frames: int
    stride_frames: int
    windows: Tuple[Window, ...]
    padded: bool

    def seconds(self, frame: int) -> float:
        return float(frame / self.fps)


def default_window(pose_num_frames: int, fps: Fraction, window_s: Optional[float] = None,
                   stride_s: Optional[float] = None) -> Tuple[float, float]:
    """``(window_s, stride_s)``: the given ones, else ``max(2 s, pose_num_frames / fps)``
    and half the window."""
    if window_s is None:
        window_s = max(DEFAULT_MIN_WINDOW_S, pose_num_frames / float(fps))
    if stride_s is None:
        stride_s = window_s / 2
    if window_s <= 0 or stride_s <= 0:
        raise InferenceError(f"--window and --stride must be positive, got {window_s} and "
                             f"{stride_s} s")
    if stride_s > window_s:
        raise InferenceError(f"--stride {stride_s} s is longer than --window {window_s} s: "
                             f"frames between the windows would never be seen")
    return float(window_s), float(stride_s)


def plan_windows(total_frames: int, fps: Fraction, window_s: float, stride_s: float
                 ) -> WindowPlan:
    """Windows of ``round(window_s * fps)`` frames every ``round(stride_s * fps)`` frames
    from frame 0, plus one ending at the last frame if the stride does not land there.

    Each window covers the time line from half-way between its centre and the previous
    window's to half-way to the next one's (the stride-long central part for a regular
    stride); the first cover starts at frame 0, the last ends at the video's end.
    """
    size = max(1, round(window_s * float(fps)))
    stride = max(1, round(stride_s * float(fps)))
    if total_frames <= size:
        starts, ends = [0], [total_frames]
    else:
        starts = list(range(0, total_frames - size + 1, stride))
        if starts[-1] + size < total_frames:
            starts.append(total_frames - size)
        ends = [s + size for s in starts]
    return WindowPlan(total_frames, fps, size, stride, covered_windows(starts, ends, size,
                                                                      total_frames),
                      total_frames < size)


def covered_windows(starts: Sequence[int], ends: Sequence[int], size: int, total_frames: int
                    ) -> Tuple[Window, ...]:
    """Windows ``[start, end)`` with their covers: from half-way between a window's centre
    (of a full-size window) and the previous one's to half-way to the next one's; the first
    from frame 0, the last to ``total_frames``."""
    borders = [0] + [(a + b + size) // 2 for a, b in zip(starts, starts[1:])] + [total_frames]
    return tuple(Window(i, s, e, borders[i], borders[i + 1])
                 for i, (s, e) in enumerate(zip(starts, ends)))


def test_options(cfg: CfgNode, num_views: Optional[int] = None) -> DataOptions:
    """The test split's data options, as :func:`~..predictor.build_test_item` sets them."""
    options = DataOptions.from_cfg(cfg, "test", model_kind(cfg.MODEL.MODEL_NAME).key)
    return options.with_changes(video_prefix="", heatmaps_on_device=False, on_error="raise",
                                num_views=int(num_views or options.num_views))


def window_frames_needed(options: DataOptions, window: Window) -> np.ndarray:
    """The absolute frame indices the test views of ``window`` sample for the RGB stream
    (empty for a pose-only model): the only frames the reader must keep for it."""
    if "rgb" not in options.streams:
        return np.zeros(0, np.int64)
    clips = sample_clips(window.length, options.num_frames, options.num_views, test_mode=True,
                         seed=options.test_seed)
    return np.unique(clips) + window.start


def window_annotation(annotation: Dict[str, Any], window: Window) -> Dict[str, Any]:
    """The annotation of the window as if it were a video of its own (skeleton sliced)."""
    part = dict(annotation, total_frames=window.length)
    part["keypoint"] = np.asarray(annotation["keypoint"])[:, window.start:window.end]
    if annotation.get("keypoint_score") is not None:
        part["keypoint_score"] = np.asarray(annotation["keypoint_score"])[:, window.start:window.end]
    return part


def nobody_in_view(annotation: Dict[str, Any]) -> bool:
    """True when the (window's) skeleton has no keypoint with a score above 0."""
    score = annotation.get("keypoint_score")
    return score is not None and not np.asarray(score).any()


class WindowDataset(RGBPoseDataset):
    """The test dataset of one window whose RGB frames are already decoded.

    Only the decode step differs from the file's dataset: the frames come from
    ``frames`` (absolute index -> ``(H, W, 3)`` uint8) instead of the file, so sampling,
    transforms and heatmaps are the dataset's own.
    """

    def __init__(self, annotation: Dict[str, Any], options: DataOptions, window: Window,
                 frames: Dict[int, np.ndarray], source: str) -> None:
        super().__init__([annotation], options, split="test", source=source)
        self.window, self.frames = window, frames

    def decode(self, ann: Dict[str, Any], path: str, inds: np.ndarray) -> DecodedFrames:
        wanted, inverse = np.unique(inds.reshape(-1), return_inverse=True)
        images = np.stack([self.frames[self.window.start + int(i)] for i in wanted])
        return DecodedFrames(images, inverse.reshape(-1), self.window.length)


def classify_window(model: nn.Module, cfg: CfgNode, options: DataOptions,
                    annotation: Dict[str, Any], window: Window, frames: Dict[int, np.ndarray],
                    class_names: List[str], device: str, source: str) -> Prediction:
    """The test-pipeline prediction of ``window`` (``annotation``: the whole video's)."""
    part = window_annotation(annotation, window)
    dataset = WindowDataset(part, options, window, frames, source)
    try:
        item = dataset[0]
    except DataError as err:
        raise InferenceError(str(err)) from err
    return predict(model, cfg, item, class_names, device)
