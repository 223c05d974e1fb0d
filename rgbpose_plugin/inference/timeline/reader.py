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

**A corrupt stretch** (a damaged download, a bad sector) does not stop the run. The
stream is decoded packet by packet, and a packet the decoder rejects is skipped: the
decoder goes on at the next frame it can decode. Its frames are *missing*
(:attr:`FrameBuffer.gaps`, runs of frame indices) and are absent from the windows' frame
dicts; the caller decides what a window with missing frames is worth (``run.py``: not
classified, a gap). Frames the decoder does return after an error may carry artefacts
(FFmpeg conceals what it can); they cannot be told apart and are used as they are.

Frame indices stay those of :func:`probe_video` (demux order, the data loader's count):
until the first error a frame's index is how many came before it, as always; from the
first error on, the frames left out would shift that count, so each frame's index is
looked up by its timestamp among the packets' (one more demux pass, only then). A
stretch the demuxer itself cannot read loses its packets in both passes alike, so the
count and the plan still agree; frames the decoder never returns at the end of the
stream are missing too.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ...errors import InferenceError
from ...fileio import VideoDecodeError, open_video
from ...fileio import probe_video as probe_fileio

__all__ = ["FrameBuffer", "probe_video", "to_rgb"]


def probe_video(path: Path) -> Tuple[int, Fraction, Tuple[int, int]]:
    """``(frames, fps, (height, width))`` of ``path`` (:func:`rgbpose_plugin.fileio.probe_video`:
    frames counted by demuxing, as the data loader counts them); a video that cannot be read
    or has no frames raises :class:`InferenceError` naming it."""
    try:
        probe = probe_fileio(path)
    except VideoDecodeError as err:
        raise InferenceError(f"video {path}: {err.reason}") from err
    if probe.frames == 0:
        raise InferenceError(f"video {path}: no video frames")
    return probe.frames, probe.rate, (probe.height, probe.width)


def to_rgb(frame: av.VideoFrame, reformatter: VideoReformatter) -> np.ndarray:
    """The frame as ``(H, W, 3)`` uint8, converted as :mod:`rgbpose_plugin.data.video` does
    (one swscale context per reader, one thread), so frames match the test pipeline's."""
    rgb = reformatter.reformat(frame, format="rgb24", threads=1)
    h, w = rgb.height, rgb.width
    plane = rgb.planes[0]  # rows may be padded to line_size
    image = np.frombuffer(plane, np.uint8).reshape(h, plane.line_size)[:, : w * 3]
    return np.ascontiguousarray(image.reshape(h, w, 3))


class FrameBuffer:
    """Hand out, window after window, the decoded RGB frames each window samples.

    Args:
        path: the video.
        needs: per window, in order, the absolute frame indices it samples.
        threads: decoder threads (0: FFmpeg's choice; the frames are the same).

    A window's dict lacks the frames that could not be decoded (:attr:`gaps`).
    """

    def __init__(self, path: Path, needs: Sequence[np.ndarray], threads: int = 0) -> None:
        self.path = Path(path)
        self.needs = [np.unique(np.asarray(n, dtype=np.int64)) for n in needs]
        self.threads = threads
        self.peak = 0  # most frames held at once
        self.decoded = 0  # frames out of the decoder so far
        self.errors = 0  # packets the decoder rejected
        self.first_error: Optional[str] = None
        self.gaps: List[Tuple[int, int]] = []  # runs [start, end) of undecodable frames
        self._next = 0  # the index the next frame would have without a gap
        self._pts_index: Optional[Dict[int, int]] = None  # built at the first error
        # The last window that samples each frame: it is released after that window.
        self._last_use: Dict[int, int] = {}
        for window, frames in enumerate(self.needs):
            for index in frames.tolist():
                self._last_use[index] = window
        self._held: Dict[int, np.ndarray] = {}
        self._reformatter = VideoReformatter()

    def _frames(self) -> Iterator[av.VideoFrame]:
        """Every frame the decoder returns; a packet it rejects is counted and skipped."""
        try:
            with open_video(self.path) as container:
                stream = container.streams.video[0]
                if self.threads != 1:
                    stream.thread_type = "AUTO"  # frame threading: faster, same frames
                if self.threads > 1:
                    stream.codec_context.thread_count = self.threads
                for packet in container.demux(stream):
                    try:
                        frames = packet.decode()
                    except av.FFmpegError as err:  # corrupt data: go on at the next frame
                        self._decode_error(str(err))
                        continue
                    yield from frames
        except VideoDecodeError as err:
            raise InferenceError(f"video {self.path}: {err.reason}") from err
        except av.FFmpegError as err:
            raise InferenceError(f"video {self.path}: reading failed after {self.decoded} "
                                 f"frames ({err})") from err

    def _decode_error(self, message: str) -> None:
        """Count the error; from the first one on, frames are placed by their timestamps."""
        self.errors += 1
        if self._pts_index is None:
            self.first_error = message
            self._pts_index = self._packet_order()

    def _packet_order(self) -> Dict[int, int]:
        """Timestamp -> frame index of every frame :func:`probe_video` counts (a demux pass)."""
        with open_video(self.path) as container:
            stream = container.streams.video[0]
            stamps = sorted(p.pts for p in container.demux(stream)
                            if p.size and not p.is_discard and p.pts is not None)
        return {pts: i for i, pts in enumerate(stamps)}

    def _index(self, frame: av.VideoFrame) -> Optional[int]:
        """The frame's index (None: out of order after an error, dropped); a jump past
        the expected index marks the frames in between undecodable."""
        index = self._next
        if self._pts_index is not None and frame.pts in self._pts_index:
            index = self._pts_index[frame.pts]
        if index < self._next:
            return None
        self._mark_missing(self._next, index)
        self._next = index + 1
        return index

    def _mark_missing(self, start: int, end: int) -> None:
        """Add frames ``[start, end)`` to :attr:`gaps` (joined to the last run if adjacent)."""
        if end <= start:
            return
        if self.gaps and self.gaps[-1][1] == start:
            self.gaps[-1] = (self.gaps[-1][0], end)
        else:
            self.gaps.append((start, end))

    @property
    def reached(self) -> int:
        """Frames accounted for so far, decoded or lost: the reader stops after the last
        frame a window samples, so at the end this is that frame + 1, not the probe's count."""
        return self._next

    def gaps_in(self, start: int, end: int) -> List[Tuple[int, int]]:
        """The undecodable runs (clipped) within frames ``[start, end)``."""
        return [(max(a, start), min(b, end)) for a, b in self.gaps if a < end and b > start]

    def windows(self) -> Iterator[Dict[int, np.ndarray]]:
        """For each window in order: ``{frame index: (H, W, 3) uint8}`` of its frames
        (without the undecodable ones)."""
        next_window = 0  # the first window not handed out yet
        for frame in self._frames():
            self.decoded += 1
            index = self._index(frame)
            if index is None:
                continue
            if index in self._last_use:
                self._held[index] = to_rgb(frame, self._reformatter)
                self.peak = max(self.peak, len(self._held))
            # Hand out every leading window whose last sampled frame is now decoded (or lost).
            while next_window < len(self.needs) and self._last_needed(next_window) <= index:
                yield self._hand_out(next_window)
                next_window += 1
            if next_window == len(self.needs):
                return
        yield from self._after_the_end(next_window)

    def _after_the_end(self, next_window: int) -> Iterator[Dict[int, np.ndarray]]:
        """The windows still due when the decoder has no more frames: an error if none
        was rejected (the probe's count was wrong), else with their lost frames missing."""
        if next_window == len(self.needs):
            return
        if self._pts_index is None:
            raise InferenceError(f"video {self.path}: ended after {self.decoded} frames, but "
                                 f"window {next_window} samples frame "
                                 f"{self._last_needed(next_window)}")
        total = max(len(self._pts_index), self._last_needed(len(self.needs) - 1) + 1)
        self._mark_missing(self._next, total)
        self._next = max(self._next, total)
        for window in range(next_window, len(self.needs)):
            yield self._hand_out(window)

    def _last_needed(self, window: int) -> int:
        frames = self.needs[window]
        return int(frames[-1]) if frames.size else -1

    def _hand_out(self, window: int) -> Dict[int, np.ndarray]:
        """The window's frames; those no later window samples leave the buffer."""
        frames = self.needs[window].tolist()
        out = {i: self._held[i] for i in frames if i in self._held}
        for i in frames:
            if self._last_use[i] == window:
                self._held.pop(i, None)
        return out
