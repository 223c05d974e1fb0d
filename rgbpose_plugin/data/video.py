"""Decode only the frames a sample needs, with PyAV.

A clip needs a few frames spread over the video, but with long GOPs (libx264 defaults put
one keyframe in a short clip) every frame up to the last needed one must be decoded.
Three things keep this cheap and exact:

* packets are demuxed first (cheap) and ranked by presentation time, so each packet's
  frame index is known before it is decoded;
* a packet whose frame is not needed is sent with ``skip_frame = "NONREF"``: if its frame
  is a non-reference frame (no other frame is predicted from it, e.g. the plain B-frames
  of libx264) the decoder drops it; reference frames are decoded as usual, so every kept
  frame is bit-identical to a full decode;
* decoding stops once the last needed frame is out, and only needed frames are
  converted to RGB.

Frames are returned in the stored orientation (as decord and PyAV give them); a rotation
tag is not applied. Frame indices count frames in presentation order from 0.
"""

from __future__ import annotations

import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import av
import numpy as np
import torch
from av.video.reformatter import VideoReformatter
from torch import Tensor

from ..errors import VideoError
from ..fileio import VideoDecodeError, open_video

__all__ = ["decode_frames", "DecodedFrames"]

logger = logging.getLogger(__name__)
_WARNED_SHORT: set = set()  # Videos already reported as shorter than their annotation.


class DecodedFrames:
    """Unique decoded frames and how requested indices map onto them.

    Attributes:
        images: one ``(H, W, 3)`` uint8 RGB array per distinct (clamped) index, ascending:
            the rows of one ``(U, H, W, 3)`` array, or separate arrays (``stack=False``).
        inverse: for each requested index, its position in ``images``.
        num_frames: frames the video actually has.
        rotation: the stream's display rotation tag in degrees (not applied).
    """

    def __init__(self, images: Union[np.ndarray, List[np.ndarray]], inverse: np.ndarray,
                 num_frames: int, rotation: int = 0) -> None:
        self.images = images
        self.inverse = inverse
        self.num_frames = num_frames
        self.rotation = rotation

    @property
    def frames(self) -> Tensor:
        """``(U, H, W, 3)`` uint8 (no copy when decoded with ``stack=True``)."""
        if isinstance(self.images, np.ndarray):
            return torch.from_numpy(self.images)
        return torch.from_numpy(np.stack(self.images))

    @property
    def size(self) -> Tuple[int, int]:
        """Decoded (height, width)."""
        return int(self.images[0].shape[0]), int(self.images[0].shape[1])


def _where(path: str, frame_dir: str) -> str:
    return f"sample {frame_dir!r}, video {path}" if frame_dir else f"video {path}"


def _open(path: str, frame_dir: str) -> av.container.InputContainer:
    try:
        return open_video(path)
    except VideoDecodeError as err:
        raise VideoError(f"{_where(path, frame_dir)}: {err.reason}", frame_dir=frame_dir,
                         path=path) from err


def _configure_threads(stream, threads: int) -> None:
    """0: FFmpeg's default (slice threads, automatic count); 1: none; N: frame+slice."""
    if threads == 1:
        stream.codec_context.thread_count = 1
    elif threads > 1:
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = threads


def _demux(container, stream, where: str) -> List[av.Packet]:
    """All frame-carrying packets; a read error ends the list (truncated file)."""
    packets = []
    try:
        for packet in container.demux(stream):
            if packet.size and not packet.is_discard:
                packets.append(packet)
    except Exception as err:  # noqa: BLE001 - a damaged tail: keep what was readable
        logger.warning("%s: read error after %d packets, using those: %s: %s", where,
                       len(packets), type(err).__name__, err)
    return packets


def _presentation_index(packets: Sequence[av.Packet]) -> Optional[Dict[int, int]]:
    """pts -> frame index in presentation order, or None when pts are missing/ambiguous."""
    pts = [p.pts for p in packets]
    if any(v is None for v in pts) or len(set(pts)) != len(pts):
        return None
    return {v: i for i, v in enumerate(sorted(pts))}


def _clamp(indices: np.ndarray, available: int, expected: Optional[int], where: str
           ) -> np.ndarray:
    short = available < (expected if expected is not None else 0) or indices.max() >= available
    if short and where not in _WARNED_SHORT:
        _WARNED_SHORT.add(where)
        logger.warning("%s: has %d frames, fewer than the %s; indices past the end use "
                       "the last frame", where, available,
                       f"annotation's total_frames ({expected})" if expected is not None
                       else "requested ones")
    return np.minimum(indices, available - 1)


class _Collector:
    """Keeps the RGB image of each needed frame as the decoder emits it.

    With ``stack`` the images are written into one array allocated once per call (a
    per-frame array plus a final stack costs more than the colour conversion itself);
    without, each image is the converted frame's own buffer, with no copy at all (for
    callers that want a list of frames). One reformatter keeps swscale's context.
    """

    def __init__(self, wanted: np.ndarray, order: Optional[Dict[int, int]],
                 stack: bool = True) -> None:
        self.slot = {int(i): k for k, i in enumerate(wanted)}  # frame index -> row
        self.order = order
        self.stack = stack
        self.filled = np.zeros(len(wanted), dtype=bool)
        self.size: Optional[Tuple[int, int]] = None
        # One array, allocated at the first frame (its size), or one entry per frame.
        self.images: Union[None, np.ndarray, List[Optional[np.ndarray]]] = (
            None if stack else [None] * len(wanted))
        self.emitted = 0
        self.rotation = 0
        self._reformatter = VideoReformatter()

    def add(self, frames) -> None:
        for frame in frames:
            if self.emitted == 0:
                self.rotation = int(getattr(frame, "rotation", 0) or 0)
            # Without usable pts, frames come out in presentation order: count them.
            index = self.order.get(frame.pts, -1) if self.order is not None else self.emitted
            self.emitted += 1
            row = self.slot.get(index)
            if row is not None and not self.filled[row]:
                self._store(row, frame)

    def _store(self, row: int, frame) -> None:
        # threads=1: PyAV's default (0, automatic) starts a swscale thread pool for every
        # new context, i.e. every decode_frames call (one reformatter each), which costs
        # more than converting a clip's few frames (~2 ms of a 7 ms demo sample); loaders
        # parallelise across workers instead.
        rgb = self._reformatter.reformat(frame, format="rgb24", threads=1)
        h, w = rgb.height, rgb.width
        if self.size is None:
            self.size = (h, w)
            if self.stack:
                self.images = np.empty((len(self.filled), h, w, 3), dtype=np.uint8)
        elif self.size != (h, w):
            raise VideoError(f"frame size changes mid-stream ({self.size} -> {(h, w)})")
        plane = rgb.planes[0]  # rows may be padded to line_size
        image = np.frombuffer(plane, np.uint8).reshape(h, plane.line_size)[:, : w * 3]
        image = image.reshape(h, w, 3)  # a view: it keeps the converted frame alive
        if not self.stack and plane.line_size != w * 3:
            image = image.copy()  # padded rows: copy, so every image is one contiguous block
        self.images[row] = image
        self.filled[row] = True

    @property
    def need(self):
        return self.slot

    @property
    def done(self) -> bool:
        return bool(self.filled.all())


def _decode(stream, packets: Sequence[av.Packet], wanted: np.ndarray, where: str,
            stack: bool) -> _Collector:
    """Decode packets until every wanted index is out; convert only those to RGB."""
    order = _presentation_index(packets)
    out = _Collector(wanted, order, stack)
    codec = stream.codec_context
    try:
        for packet in packets:
            if order is not None:  # Let the decoder drop unneeded non-reference frames.
                codec.skip_frame = "DEFAULT" if order[packet.pts] in out.need else "NONREF"
            out.add(codec.decode(packet))
            if out.done:
                return out
        codec.skip_frame = "DEFAULT"
        out.add(codec.decode(None))  # flush the frames still held for reordering
    except Exception as err:  # av.error.* on damaged data
        raise VideoError(f"{where}: decoding failed (corrupt file?): {type(err).__name__}: "
                         f"{err}") from err
    return out


def decode_frames(path: str, indices: Sequence[int], *, threads: int = 0,
                  expected_frames: Optional[int] = None, frame_dir: str = "",
                  stack: bool = True) -> DecodedFrames:
    """Decode the frames at ``indices`` (presentation order, from 0) of the video at ``path``.

    ``stack``: the distinct frames come as the rows of one array (what a tensor of the
    clip wants); otherwise as separate arrays, without the copy into one array.

    Indices past the end of a video shorter than ``expected_frames`` are clamped to its
    last frame (logged once per video). Raises :class:`VideoError` (naming the sample and
    file) for a missing, unreadable, corrupt or empty video.
    """
    where = _where(path, frame_dir)
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    if indices.size == 0 or indices.min() < 0:
        raise ValueError(f"{where}: frame indices must be non-negative, got {indices}")
    with _open(path, frame_dir) as container:
        stream = container.streams.video[0]
        _configure_threads(stream, threads)
        packets = _demux(container, stream, where)
        if not packets:
            raise VideoError(f"{where}: no video frames", frame_dir=frame_dir, path=path)
        indices = _clamp(indices, len(packets), expected_frames, where)
        wanted, inverse = np.unique(indices, return_inverse=True)
        try:
            decoded = _decode(stream, packets, wanted, where, stack)
        except VideoError as err:
            raise VideoError(str(err), frame_dir=frame_dir, path=path) from err.__cause__
    missing = [int(i) for i, ok in zip(wanted, decoded.filled) if not ok]
    if missing:
        raise VideoError(f"{where}: frames {missing[:10]} could not be decoded (the file has "
                         f"{len(packets)} packets; corrupt stream?)", frame_dir=frame_dir,
                         path=path)
    return DecodedFrames(decoded.images, inverse.reshape(-1), len(packets), decoded.rotation)
