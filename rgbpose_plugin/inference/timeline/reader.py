"""Read a long video once, front to back, keeping only the frames the windows still need.

:func:`rgbpose_plugin.data.decode_frames` demuxes a whole file before decoding (right for a
short clip, not for an hour of video), so a long video is decoded here as one stream
instead: each frame comes out of the decoder in presentation order, is converted to RGB
only when some window samples it, and is let go once the last window that samples it has
been handed out. The buffer therefore holds at most the sampled frames of the windows
that overlap the decoder's position, however long the video is; :attr:`FrameBuffer.peak`
says how many it held at most (the tests check it).

The RGB conversion is the data loader's own (one swscale context, one thread, ``rgb24``),
so a window's frames are bit-identical to what the test pipeline decodes from the file.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Dict, Iterator, Sequence, Tuple

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ...errors import InferenceError
from ...fileio import DEFAULT_FPS, VideoDecodeError, open_video

__all__ = ["FrameBuffer", "probe_video"]


def probe_video(path: Path) -> Tuple[int, Fraction, Tuple[int, int]]:
    """``(frames, fps, (height, width))`` of ``path``'s first video stream.

    Frames are counted by demuxing (no decoding; packets are dropped as they are read):
    the same count as the data loader's, and exact where the container's own count is
    missing or wrong.
    """
    try:
        with open_video(path) as container:
            stream = container.streams.video[0]
            rate = Fraction(stream.average_rate) if stream.average_rate else DEFAULT_FPS
            size = (int(stream.codec_context.height), int(stream.codec_context.width))
            frames = sum(1 for p in container.demux(stream) if p.size and not p.is_discard)
    except VideoDecodeError as err:
        raise InferenceError(f"video {path}: {err.reason}") from err
    except av.FFmpegError as err:
        raise InferenceError(f"video {path}: cannot read it ({err})") from err
    if frames == 0:
        raise InferenceError(f"video {path}: no video frames")
    return frames, rate, size


class FrameBuffer:
    """Hand out, window after window, the decoded RGB frames each window samples.

    Args:
        path: the video.
        needs: per window, in order, the absolute frame indices it samples.
        threads: decoder threads (0: FFmpeg's choice; the frames are the same).
    """

    def __init__(self, path: Path, needs: Sequence[np.ndarray], threads: int = 0) -> None:
        self.path = Path(path)
        self.needs = [np.unique(np.asarray(n, dtype=np.int64)) for n in needs]
        self.threads = threads
        self.peak = 0  # most frames held at once
        self.decoded = 0  # frames out of the decoder so far
        # The last window that samples each frame: it is released after that window.
        self._last_use: Dict[int, int] = {}
        for window, frames in enumerate(self.needs):
            for index in frames.tolist():
                self._last_use[index] = window
        self._held: Dict[int, np.ndarray] = {}
        self._reformatter = VideoReformatter()

    def _rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """The frame as ``(H, W, 3)`` uint8, converted as :mod:`rgbpose_plugin.data.video` does."""
        rgb = self._reformatter.reformat(frame, format="rgb24", threads=1)
        h, w = rgb.height, rgb.width
        plane = rgb.planes[0]  # rows may be padded to line_size
        image = np.frombuffer(plane, np.uint8).reshape(h, plane.line_size)[:, : w * 3]
        return np.ascontiguousarray(image.reshape(h, w, 3))

    def _frames(self) -> Iterator[av.VideoFrame]:
        try:
            with open_video(self.path) as container:
                stream = container.streams.video[0]
                if self.threads != 1:
                    stream.thread_type = "AUTO"  # frame threading: faster, same frames
                if self.threads > 1:
                    stream.codec_context.thread_count = self.threads
                yield from container.decode(stream)
        except VideoDecodeError as err:
            raise InferenceError(f"video {self.path}: {err.reason}") from err
        except av.FFmpegError as err:
            raise InferenceError(f"video {self.path}: decoding failed after {self.decoded} "
                                 f"frames ({err})") from err

    def windows(self) -> Iterator[Dict[int, np.ndarray]]:
        """For each window in order: ``{frame index: (H, W, 3) uint8}`` of its frames."""
        next_window = 0  # the first window not handed out yet
        for frame in self._frames():
            index = self.decoded
            self.decoded += 1
            if index in self._last_use:
                self._held[index] = self._rgb(frame)
                self.peak = max(self.peak, len(self._held))
            # Hand out every leading window whose last sampled frame is now decoded.
            while next_window < len(self.needs) and self._last_needed(next_window) <= index:
                yield self._hand_out(next_window)
                next_window += 1
            if next_window == len(self.needs):
                return
        if next_window < len(self.needs):
            raise InferenceError(f"video {self.path}: ended after {self.decoded} frames, but "
                                 f"window {next_window} samples frame "
                                 f"{self._last_needed(next_window)}")

    def _last_needed(self, window: int) -> int:
        frames = self.needs[window]
        return int(frames[-1]) if frames.size else -1

    def _hand_out(self, window: int) -> Dict[int, np.ndarray]:
        """The window's frames; those no later window samples leave the buffer."""
        frames = self.needs[window].tolist()
        out = {i: self._held[i] for i in frames}
        for i in frames:
            if self._last_use[i] == window:
                del self._held[i]
        return out
