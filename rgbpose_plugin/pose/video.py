"""Stream the frames of a video as RGB arrays with PyAV, one at a time.

Frames are decoded in stream order and never all held in memory, so long or large
videos cost one frame of memory. Frames come out as stored in the file: rotation
metadata is not applied, so the keypoints match what the training data loader decodes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Union

import av
import numpy as np

__all__ = ["VideoDecodeError", "VideoFrames"]


class VideoDecodeError(RuntimeError):
    """A video could not be opened or decoded; the message names the file."""


class VideoFrames:
    """Iterate over the ``H x W x 3`` uint8 RGB frames of ``path``.

    ``frame_count_hint`` is the container's frame count (0 when it does not say); the
    number of frames actually decoded may differ.
    """

    def __init__(self, path: Union[str, Path]) -> None:
        self.path = Path(path)
        self.frame_count_hint = 0
        with self._open() as container:
            self.frame_count_hint = int(container.streams.video[0].frames or 0)

    def _open(self):
        if not self.path.is_file():
            raise VideoDecodeError(f"{self.path}: no such video file")
        try:
            container = av.open(str(self.path))
        except av.FFmpegError as err:
            raise VideoDecodeError(f"{self.path}: cannot open as a video ({err})") from err
        if not container.streams.video:
            container.close()
            raise VideoDecodeError(f"{self.path}: the file has no video stream")
        return container

    def __iter__(self) -> Iterator[np.ndarray]:
        decoded = 0
        with self._open() as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # Frame threading: faster, same frames.
            try:
                for frame in container.decode(stream):
                    decoded += 1
                    yield frame.to_ndarray(format="rgb24")
            except av.FFmpegError as err:
                raise VideoDecodeError(
                    f"{self.path}: decoding failed after {decoded} frames ({err})"
                ) from err
        if decoded == 0:
            raise VideoDecodeError(f"{self.path}: no frame could be decoded")
