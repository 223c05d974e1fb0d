"""The annotated MP4: every frame of the video, its skeleton and the predicted class.

Frames are read as stored (no rotation applied), like the skeleton extractor and the
data loader read them, so the keypoints line up; FFmpeg scales them while converting
(:class:`rgbpose_plugin.fileio.VideoFrames`). Output: H.264 via
:func:`rgbpose_plugin.fileio.write_h264`, the longer side at most ``max_side`` pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Sequence

import av
import numpy as np
from PIL import Image

from ..errors import InferenceError
from ..fileio import VideoDecodeError, VideoFrames, write_h264
from .drawing import draw_banner, draw_skeleton
from .picture import keypoints_at
from .predictor import Prediction

__all__ = ["banner_lines", "write_annotated_video"]


def banner_lines(prediction: Prediction) -> Sequence[str]:
    """The text on every frame: the top-1 class, then each stream's top-1."""
    best = prediction.top("fused", 1)[0]
    lines = [f"{best['name']}  {100 * best['probability']:.1f}%"]
    streams = [s for s in prediction.streams if s != "fused"]
    if len(streams) > 1:
        lines.append("   ".join(f"{s}: {t['name']} {100 * t['probability']:.0f}%"
                                for s in streams for t in prediction.top(s, 1)))
    return lines


def write_annotated_video(video: Path, annotation: Dict[str, Any], prediction: Prediction,
                          out_path: Path, max_side: int = 640, crf: int = 23) -> int:
    """Write the annotated copy of ``video`` to ``out_path``; returns the frame count.

    The file appears only when complete.
    """
    lines = banner_lines(prediction)
    annotated_frames = int(np.asarray(annotation["keypoint"]).shape[1])
    try:
        frames = VideoFrames(video, max_side)
        with write_h264(out_path, frames.rate, crf=crf, preset="veryfast") as out:
            for index, frame in enumerate(frames):
                image = Image.fromarray(frame)
                if index < annotated_frames:  # a longer video has no skeleton at its end
                    kp, score = keypoints_at(annotation, [index], frame.shape[:2])
                    draw_skeleton(image, kp[:, 0], score[:, 0])
                draw_banner(image, lines)
                out.write(np.asarray(image))
    except (VideoDecodeError, av.FFmpegError) as err:
        raise InferenceError(f"video {video}: cannot make the annotated MP4 ({err})") from err
    return out.frames
