"""``timeline.mp4``: the long video with each person's box, track id and current label.

A frame's label is that of the window whose cover holds the frame (the covers tile the
video, :class:`~.windows.Window`): per track in per-person mode (next to the person's
box), one for the whole frame in scene mode (the banner). The labels are known only once
the windows are classified, so the MP4 is a second streaming pass over the video, after
the windows: :class:`rgbpose_plugin.fileio.VideoFrames` decodes one frame at a time,
scaled by FFmpeg to at most ``max_side`` px, and :func:`rgbpose_plugin.fileio.write_h264`
encodes it at once, so memory does not grow with the video's length. Boxes are the
visible keypoints' extent, as in :mod:`..annotated_video`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import av
import numpy as np
from PIL import Image, ImageDraw

from ...errors import InferenceError
from ...fileio import VideoDecodeError, VideoFrames, write_h264
from ..drawing import draw_banner, draw_skeleton, font
from ..picture import keypoints_at
from .plot import class_colour
from .windows import WindowPlan

__all__ = ["WindowLabel", "label_of_entry", "person_box", "window_of_frame",
           "write_timeline_video"]

_NO_LABEL = (200, 200, 200)


@dataclass(frozen=True)
class WindowLabel:
    """What a window says on the frames it covers: the text and its class (None: none)."""

    text: str
    label: Optional[int]


def label_of_entry(entry: Dict[str, Any]) -> WindowLabel:
    """A window's JSON entry as the MP4 shows it: ``wave 0.83``, ``?`` or nothing."""
    if entry["status"] == "ok":
        return WindowLabel(f"{entry['name']} {entry['score']:.2f}", entry["label"])
    return WindowLabel("?" if entry["status"] == "uncertain" else "", None)


def window_of_frame(plan: WindowPlan) -> np.ndarray:
    """``(total_frames,)``: the index of the window whose cover holds each frame."""
    lengths = [w.cover_end - w.cover_start for w in plan.windows]
    return np.repeat(np.arange(len(plan.windows)), lengths)


def person_box(keypoint: np.ndarray, score: np.ndarray, pad: float = 0.1
               ) -> Optional[Tuple[float, float, float, float]]:
    """The box ``(x0, y0, x1, y1)`` of one person's visible joints, grown by ``pad`` of
    its size on each side; None when no joint is visible."""
    shown = keypoint[score > 0]
    if not len(shown):
        return None
    (x0, y0), (x1, y1) = shown.min(0), shown.max(0)
    dx, dy = pad * (x1 - x0) + 2, pad * (y1 - y0) + 2
    return float(x0 - dx), float(y0 - dy), float(x1 + dx), float(y1 + dy)


def _draw_person(image: Image.Image, box: Tuple[float, float, float, float], track: str,
                 label: Optional[WindowLabel]) -> None:
    """The box in its label's class colour, and ``#track label`` above it."""
    colour = _NO_LABEL if label is None or label.label is None else tuple(
        int(255 * c) for c in class_colour(label.label)[:3])
    draw = ImageDraw.Draw(image)
    width = max(2, image.width // 300)
    draw.rectangle(box, outline=colour, width=width)
    text = f"#{track}" + (f" {label.text}" if label is not None and label.text else "")
    size = max(10, image.width // 45)
    x, y = max(box[0], 0), max(box[1] - size - 4, 0)
    draw.rectangle(draw.textbbox((x, y), text, font=font(size)), fill=(0, 0, 0))
    draw.text((x, y), text, fill=colour, font=font(size))


def _annotate(image: Image.Image, annotation: Dict[str, Any], index: int, window: int,
              labels: Dict[str, Sequence[WindowLabel]]) -> None:
    """Skeletons, boxes and labels of frame ``index`` (covered by ``window``)."""
    kp, score = keypoints_at(annotation, [index], (image.height, image.width))
    draw_skeleton(image, kp[:, 0], score[:, 0])
    for m in range(kp.shape[0]):
        box = person_box(kp[m, 0], score[m, 0])
        if box is not None:
            track = labels.get(str(m))
            _draw_person(image, box, str(m), track[window] if track else None)
    if "scene" in labels:
        draw_banner(image, [labels["scene"][window].text or "no label"])


def write_timeline_video(video: Path, annotation: Dict[str, Any], plan: WindowPlan,
                         labels: Dict[str, Sequence[WindowLabel]], out_path: Path,
                         max_side: int = 640, crf: int = 23) -> int:
    """Write the annotated copy of ``video``; returns its frame count.

    ``labels``: per window, ``"scene"``'s (scene mode: the banner) or each track's (per-person
    mode: by the person's box). The file appears only when complete.
    """
    windows = window_of_frame(plan)
    annotated = min(int(np.asarray(annotation["keypoint"]).shape[1]), len(windows))
    try:
        frames = VideoFrames(video, max_side)
        with write_h264(out_path, frames.rate, crf=crf, preset="veryfast") as out:
            for index, frame in enumerate(frames):
                image = Image.fromarray(frame)
                if index < annotated:  # frames past the skeleton are copied as they are
                    _annotate(image, annotation, index, int(windows[index]), labels)
                out.write(np.asarray(image))
    except (VideoDecodeError, av.FFmpegError) as err:
        raise InferenceError(f"video {video}: cannot make the annotated MP4 ({err})") from err
    return out.frames
