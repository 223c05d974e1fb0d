"""Video files with PyAV: opening with clear errors, streaming RGB frames, writing H.264.

Frames come out as stored in the file: a rotation tag is not applied, so keypoints
measured on them match what the training data loader decodes
(:mod:`rgbpose_plugin.data.video`, which decodes only the frames a clip needs, builds on
:func:`open_video`). Writers produce libx264 yuv420p MP4 files, atomically
(:mod:`.atomic`): the demo data, re-encoded NTU videos and annotated predictions are all
this kind of file.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Optional, Union

import av
import numpy as np

from ..errors import UserError
from .atomic import atomic_path
from .paths import local_path

__all__ = ["DEFAULT_FPS", "H264Writer", "VideoDecodeError", "VideoFrames", "VideoProbe",
           "add_h264_stream", "open_video", "probe_video", "scaled_size", "write_h264"]

DEFAULT_FPS = Fraction(30)  # used when a source does not state its frame rate


class VideoDecodeError(UserError, RuntimeError):
    """A video could not be opened or decoded; the message names the file.

    ``reason`` is the message without the file name, for callers that name the file
    their own way.
    """

    def __init__(self, path: Union[str, Path], reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason

    def __reduce__(self):  # picklable across DataLoader workers
        return (type(self), (self.path, self.reason))


def open_video(path: Union[str, Path]) -> av.container.InputContainer:
    """Open ``path`` (any iopath path) for decoding; the container has a video stream."""
    try:
        local = local_path(str(path))
    except FileNotFoundError:
        raise VideoDecodeError(path, "file not found") from None
    except Exception as err:
        raise VideoDecodeError(path, f"cannot fetch: {type(err).__name__}: {err}") from err
    if not Path(local).is_file():
        raise VideoDecodeError(path, "file not found")
    try:
        container = av.open(local)
    except Exception as err:  # av.error.* (corrupt, truncated, not a video), OSError
        raise VideoDecodeError(path, f"cannot open as a video (corrupt or truncated file?): "
                                     f"{type(err).__name__}: {err}") from err
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(path, "the file has no video stream")
    return container


@dataclass(frozen=True)
class VideoProbe:
    """What :func:`probe_video` learns of a video without decoding it."""

    frames: int
    rate: Fraction
    height: int
    width: int


def probe_video(path: Union[str, Path]) -> VideoProbe:
    """Frame count, frame rate and size of ``path``'s first video stream.

    Frames are counted by demuxing (no decoding; packets are dropped as they are read):
    the data loader's count, exact where the container's own count is missing or wrong
    (0 for a stream without frames). Raises :class:`VideoDecodeError` naming the file.
    """
    try:
        with open_video(path) as container:
            stream = container.streams.video[0]
            rate = Fraction(stream.average_rate) if stream.average_rate else DEFAULT_FPS
            height, width = int(stream.codec_context.height), int(stream.codec_context.width)
            frames = sum(1 for p in container.demux(stream) if p.size and not p.is_discard)
    except av.FFmpegError as err:
        raise VideoDecodeError(path, f"cannot read it ({err})") from err
    return VideoProbe(frames, rate, height, width)


class VideoFrames:
    """Iterate over the ``H x W x 3`` uint8 RGB frames of ``path``, one at a time.

    With ``max_side`` the frames are scaled down (never up) by FFmpeg while converting,
    so that their longer side is at most that many pixels (both sides even, as H.264
    wants): much cheaper than decoding at full size and resizing after.
    ``frame_count_hint`` is the container's frame count (0 when it does not say) and
    ``rate`` its frame rate; the number of frames decoded may differ from the hint.
    """

    def __init__(self, path: Union[str, Path], max_side: int = 0) -> None:
        self.path = Path(path)
        self.max_side = max_side
        with open_video(self.path) as container:
            stream = container.streams.video[0]
            self.frame_count_hint = int(stream.frames or 0)
            self.rate = Fraction(stream.average_rate) if stream.average_rate else DEFAULT_FPS

    def _convert(self, frame: av.VideoFrame) -> np.ndarray:
        if not self.max_side:
            return frame.to_ndarray(format="rgb24")
        width, height = scaled_size(frame.height, frame.width, self.max_side)
        return frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")

    def __iter__(self) -> Iterator[np.ndarray]:
        decoded = 0
        with open_video(self.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame threading: faster, same frames
            try:
                for frame in container.decode(stream):
                    decoded += 1
                    yield self._convert(frame)
            except av.FFmpegError as err:
                raise VideoDecodeError(self.path, f"decoding failed after {decoded} frames "
                                                  f"({err})") from err
        if decoded == 0:
            raise VideoDecodeError(self.path, "no frame could be decoded")


def scaled_size(height: int, width: int, max_side: int) -> tuple:
    """``(width, height)`` scaled down (never up) to ``max_side``, both even (H.264)."""
    scale = min(1.0, max_side / max(height, width))
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


def add_h264_stream(container: av.container.OutputContainer, width: int, height: int,
                    rate: Fraction = DEFAULT_FPS, *, crf: int = 23, preset: str = "medium",
                    threads: int = 1, x264_params: str = "") -> av.video.stream.VideoStream:
    """Add a libx264 yuv420p video stream to an output container and return it.

    ``threads=1`` is needed for byte-identical output from run to run (parallelism comes
    from encoding several files at once instead), and so is ``asm=0`` in ``x264_params``:
    with x264's SIMD routines the same frames can encode differently within one process.
    ``x264_params`` is passed as x264's own option string (``"ref=1:subme=1"``).
    """
    if width % 2 or height % 2:
        raise ValueError(f"H.264 yuv420p needs even frame sizes, got {width}x{height}")
    stream = container.add_stream("libx264", rate=rate)
    stream.width = width
    stream.height = height
    stream.pix_fmt = "yuv420p"
    options = {"crf": str(crf), "preset": preset}
    if x264_params:
        options["x264-params"] = x264_params
    stream.options = options
    stream.codec_context.thread_count = threads
    return stream


class H264Writer:
    """The open stream of :func:`write_h264`: ``write`` frames (RGB arrays or
    ``av.VideoFrame``); the stream takes its size from the first one, and each frame gets
    one tick of ``1/rate`` (a constant frame rate)."""

    def __init__(self, container: av.container.OutputContainer, rate: Fraction,
                 stream_options: dict) -> None:
        self.container, self.rate, self.stream_options = container, Fraction(rate), stream_options
        self.frames = 0
        self.stream: Optional[av.video.stream.VideoStream] = None

    def write(self, frame: Union[np.ndarray, av.VideoFrame]) -> None:
        if isinstance(frame, np.ndarray):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        if self.stream is None:
            self.stream = add_h264_stream(self.container, frame.width, frame.height, self.rate,
                                          **self.stream_options)
        frame.pts = self.frames
        frame.time_base = 1 / self.rate
        self.container.mux(self.stream.encode(frame))
        self.frames += 1

    def flush(self) -> None:
        if self.stream is not None:
            self.container.mux(self.stream.encode(None))  # the encoder's delayed frames


@contextlib.contextmanager
def write_h264(path: Union[str, Path], rate: Fraction = DEFAULT_FPS, **stream_options
               ) -> Iterator[H264Writer]:
    """``with write_h264(path, rate) as out: out.write(frame)``: an H.264 MP4 that appears
    at ``path`` only when the block ends without an error (and has frames).

    ``stream_options`` go to :func:`add_h264_stream` (``crf``, ``preset``, ...).
    """
    # format= because the ".part" name tells FFmpeg nothing.
    with atomic_path(path) as part, av.open(str(part), "w", format="mp4") as container:
        writer = H264Writer(container, rate, stream_options)
        yield writer
        if writer.frames == 0:
            raise ValueError(f"{path}: no frame to write")
        writer.flush()
