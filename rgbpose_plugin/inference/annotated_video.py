"""The annotated MP4: every frame of the video, its skeleton and the predicted class.

Frames are read as stored (no rotation applied), like the skeleton extractor and the
data loader read them, so the keypoints line up; FFmpeg scales them while converting.
Output: H.264 (libx264, yuv420p) via PyAV, the longer side at most ``max_side`` pixels.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any, Dict, Iterator, Sequence, Tuple

import av
import numpy as np
from PIL import Image

from ..data.compress import DEFAULT_FPS, add_h264_stream
from .drawing import draw_banner, draw_skeleton
from .errors import InferenceError
from .picture import keypoints_at
from .predictor import Prediction

__all__ = ["output_size", "banner_lines", "write_annotated_video"]


def output_size(height: int, width: int, max_side: int = 640) -> Tuple[int, int]:
    """``(width, height)`` scaled down (never up) to ``max_side``, both even (H.264)."""
    scale = min(1.0, max_side / max(height, width))
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


def banner_lines(prediction: Prediction) -> Sequence[str]:
    """The text on every frame: the top-1 class, then each stream's top-1."""
    best = prediction.top("fused", 1)[0]
    lines = [f"{best['name']}  {100 * best['probability']:.1f}%"]
    streams = [s for s in prediction.streams if s != "fused"]
    if len(streams) > 1:
        lines.append("   ".join(f"{s}: {t['name']} {100 * t['probability']:.0f}%"
                                for s in streams for t in prediction.top(s, 1)))
    return lines


def _scaled_frames(video: Path, max_side: int) -> Iterator[Tuple[np.ndarray, Fraction]]:
    """Every frame of ``video`` as RGB, scaled by FFmpeg while converting (much faster
    than decoding at full size and resizing after), with the stream's frame rate."""
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = Fraction(stream.average_rate) if stream.average_rate else DEFAULT_FPS
            for frame in container.decode(stream):
                width, height = output_size(frame.height, frame.width, max_side)
                yield frame.to_ndarray(format="rgb24", width=width, height=height,
                                       interpolation="AREA"), rate
    except (av.FFmpegError, IndexError) as err:
        raise InferenceError(f"video {video}: cannot decode for the annotated MP4 ({err})") from err


def write_annotated_video(video: Path, annotation: Dict[str, Any], prediction: Prediction,
                          out_path: Path, max_side: int = 640, crf: int = 23) -> int:
    """Write the annotated copy of ``video`` to ``out_path``; returns the frame count.

    The file appears only when complete (written as ``<name>.part``, then renamed).
    """
    lines = banner_lines(prediction)
    part = out_path.with_name(out_path.name + ".part")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    annotated_frames = int(np.asarray(annotation["keypoint"]).shape[1])
    count = 0
    try:
        with av.open(str(part), "w", format="mp4") as container:
            stream = None
            for count, (frame, rate) in enumerate(_scaled_frames(video, max_side), start=1):
                if stream is None:
                    stream = add_h264_stream(container, frame.shape[1], frame.shape[0], rate,
                                             crf=crf, preset="veryfast")
                image = Image.fromarray(frame)
                if count <= annotated_frames:  # a longer video has no skeleton at its end
                    kp, score = keypoints_at(annotation, [count - 1], frame.shape[:2])
                    draw_skeleton(image, kp[:, 0], score[:, 0])
                draw_banner(image, lines)
                out = av.VideoFrame.from_image(image)
                out.pts = count - 1
                out.time_base = 1 / rate
                container.mux(stream.encode(out))
            if stream is None:
                raise InferenceError(f"video {video}: no frame could be decoded")
            container.mux(stream.encode(None))
        os.replace(part, out_path)
    finally:
        part.unlink(missing_ok=True)
    return count
