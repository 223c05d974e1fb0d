"""Live input: a stream read once, its windows classified as their last frame arrives.

A live source (an RTSP / HTTP / UDP URL, a capture device, ``-`` for a pipe) has no
length to plan for and cannot be read twice, so nothing here looks ahead: windows start
every stride from frame 0 and each is handed to the model as soon as its last frame is
in. Three threads overlap::

    source ──decode thread──> frames (queue) ──pose thread──> LiveWindows ──> main thread
      (PyAV, packet by        RGB, index      pose backend per frame,  a window's   classify,
       packet; bad packets                    online tracking; keeps   frames and   echo,
       skipped and counted)                   only what windows need   poses        merge

**Bounded latency.** Complete windows wait in a short queue (:data:`QUEUED_WINDOWS`; when
it is full the reader waits, so a source faster than real time, a file piped in, loses
nothing). In live mode (the default for those sources) the stream's clock is its first
frame's arrival plus frame index / fps; when the model takes the next window, a waiting
window that ended more than ``max_latency`` s ago on that clock is *skipped* (counted, a
gap in the timeline, status "skipped: model busy") unless it is the newest. So a model
slower than real time classifies the newest windows and lags at most about
``max_latency`` plus one window's compute; without live mode nothing is skipped.
**Bounded memory**: the frames and poses of the queued and coming windows only, as in
:mod:`.reader`; the per-window report entries grow with the stream.

**A stall** (no frame for ``stall_timeout`` s) stops the run: the outputs of the windows
so far are written, then :class:`~rgbpose_plugin.errors.InferenceError` says so.
Ctrl-C ends a live run the same way (outputs written, then the interrupt goes on).

The pose thread tracks persons with :mod:`rgbpose_dataprep.pose.tracking`'s box matching,
online: a track that has not been seen for a window's length is forgotten, and ids are
never reused. Per-person mode classifies, per window, the tracks in view (the
``max_persons`` with the most keypoint score); scene mode puts those tracks into the
window's person slots.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Sequence, Tuple

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from rgbpose_dataprep.pose.base import check_poses
from rgbpose_dataprep.pose.tracking import box_iou, greedy_match, keypoint_boxes

from ...data import sample_clips
from ...errors import InferenceError
from ..demo import class_names_for, inference_device, load_for_inference
from ..skeleton import check_skeleton, open_pose_backend, skeleton_from_file
from .persons import TRAINED_MODE_NOTE
from .reader import to_rgb
from .run import (
    PreparedVideo,
    RunFacts,
    TimelineResult,
    Tracks,
    finish_timeline,
    format_window,
    window_times,
)
from .windows import (
    Window,
    WindowPlan,
    classify_window,
    covered_windows,
    default_window,
    nobody_in_view,
    test_options,
)

__all__ = ["LIVE_SCHEMES", "LiveWindows", "OnlineTracker", "WindowInput", "is_live_source",
           "open_source", "run_live_timeline"]

LIVE_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt", "rtp")
SKIPPED = "skipped: model busy"
QUEUED_WINDOWS = 4  # complete windows waiting for the model at most
_END = object()  # the decode thread's last item


def is_live_source(video: str) -> bool:
    """``-`` (standard input), a stream URL, or a capture device (``/dev/video*``)."""
    is_url = "://" in video and video.split("://", 1)[0].lower() in LIVE_SCHEMES
    return video == "-" or is_url or video.startswith("/dev/video")


def open_source(video: str, timeout_s: float) -> av.container.InputContainer:
    """The container of a live source (or a file); one clear line if it cannot be opened."""
    try:
        if video == "-":
            # An unbuffered file of its own on fd 0: a read still blocked in the decode
            # thread at exit (a stall) then holds no lock that interpreter shutdown needs.
            return av.open(os.fdopen(os.dup(sys.stdin.fileno()), "rb", buffering=0), mode="r")
        if video.startswith("/dev/video"):
            return av.open(video, format="v4l2")
        return av.open(video, timeout=(timeout_s, timeout_s))
    except (av.FFmpegError, OSError, ValueError) as err:
        hint = (" (a pipe needs a streamable container: e.g. ffmpeg ... -f mpegts - or "
                "-f matroska -)" if video == "-" else "")
        raise InferenceError(f"video {video}: cannot open ({err}){hint}") from err


@dataclass
class WindowInput:
    """What the model needs of one window: its frames ``[start, end)``, the RGB frames
    its test views sample (index relative to ``start``) and, per frame, each track's
    ``(keypoints [17, 2], scores [17])``; ``ready``: when its last frame came in."""

    index: int
    start: int
    end: int
    frames: Dict[int, np.ndarray]
    poses: List[Dict[str, Tuple[np.ndarray, np.ndarray]]]
    ready: float


class OnlineTracker:
    """Box-overlap tracking, one frame at a time; ids count up and are never reused, and
    a track unseen for ``forget_after`` frames is dropped (memory stays bounded)."""

    def __init__(self, min_iou: float, forget_after: int) -> None:
        self.min_iou, self.forget_after = min_iou, forget_after
        self.boxes: Dict[int, np.ndarray] = {}
        self.last_seen: Dict[int, int] = {}
        self.next_id = 0

    def update(self, frame: int, keypoints: np.ndarray, scores: np.ndarray
               ) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
        """The frame's persons by track id."""
        for tid in [t for t, seen in self.last_seen.items() if frame - seen > self.forget_after]:
            del self.boxes[tid], self.last_seen[tid]
        boxes = keypoint_boxes(keypoints, scores)
        ids = list(self.boxes)
        assigned: Dict[int, int] = {}
        if ids and len(boxes):
            overlap = box_iou(np.stack([self.boxes[t] for t in ids]), boxes)
            assigned = {p: ids[t] for t, p in greedy_match(overlap, self.min_iou)}
        out = {}
        for p in range(len(boxes)):
            tid = assigned.get(p)
            if tid is None:
                tid, self.next_id = self.next_id, self.next_id + 1
            self.boxes[tid], self.last_seen[tid] = boxes[p], frame
            out[str(tid)] = (keypoints[p], scores[p])
        return out


class LiveWindows:
    """Collect frames and poses as they arrive and cut them into windows.

    Window ``k`` is frames ``[k * stride, k * stride + size)``; ``offsets`` are the
    frame offsets its test views sample (the same for every full window). Until the first
    window is complete every frame is kept (a stream shorter than one window gives one
    padded window of all of them); after that only frames some later window samples.
    """

    def __init__(self, size: int, stride: int, offsets: np.ndarray, keep_rgb: bool) -> None:
        self.size, self.stride = size, stride
        self.offsets = set(int(o) for o in offsets)
        self.keep_rgb = keep_rgb
        self.frames: Dict[int, np.ndarray] = {}
        self.poses: Dict[int, Dict[str, Tuple[np.ndarray, np.ndarray]]] = {}
        self.total = 0  # frames added
        self.next_window = 0
        self.peak = 0

    def _sampled(self, frame: int) -> bool:
        """True when a window not handed out yet samples ``frame``."""
        first = max(self.next_window, -(-(frame - self.size + 1) // self.stride))
        return any(frame - k * self.stride in self.offsets
                   for k in range(first, frame // self.stride + 1))

    def add(self, rgb: Optional[np.ndarray], poses: Dict[str, Tuple[np.ndarray, np.ndarray]],
            now: float) -> Optional[WindowInput]:
        """Add the next frame; returns the window it completes, if any."""
        frame = self.total
        self.total += 1
        self.poses[frame] = poses
        if self.keep_rgb and rgb is not None and (self.next_window == 0 and frame < self.size
                                                  or self._sampled(frame)):
            self.frames[frame] = rgb
            self.peak = max(self.peak, len(self.frames))
        start = self.next_window * self.stride
        if frame == start + self.size - 1:
            return self._cut(start, frame + 1, now)
        return None

    def tail(self, now: float) -> Optional[WindowInput]:
        """At the end of the stream: the one padded window of a stream shorter than a
        window (None otherwise: the last full window covers the rest)."""
        if self.next_window == 0 and self.total:
            return self._cut(0, self.total, now)
        return None

    def _cut(self, start: int, end: int, now: float) -> WindowInput:
        wanted = self.frames if end - start < self.size else {
            f: self.frames[f] for f in (start + o for o in self.offsets) if f in self.frames}
        window = WindowInput(self.next_window, start, end,
                             {f - start: img for f, img in wanted.items()},
                             [self.poses[f] for f in range(start, end)], now)
        self.next_window += 1
        keep_from = self.next_window * self.stride
        self.frames = {f: img for f, img in self.frames.items()
                       if f >= keep_from and self._sampled(f)}
        self.poses = {f: p for f, p in self.poses.items() if f >= keep_from}
        return window


def window_skeleton(window: WindowInput, tracks: List[str], shape: Tuple[int, int],
                    num_joints: int) -> Dict[str, Any]:
    """The window as a one-video annotation whose person slots are ``tracks`` (zeros
    where a track is not in view)."""
    length = window.end - window.start
    keypoint = np.zeros((max(len(tracks), 1), length, num_joints, 2), np.float32)
    score = np.zeros(keypoint.shape[:3], np.float32)
    for t, frame in ((t, f) for t in range(len(tracks)) for f in range(length)):
        person = window.poses[frame].get(tracks[t])
        if person is not None:
            keypoint[t, frame], score[t, frame] = person
    return {"frame_dir": "live", "label": -1, "img_shape": shape, "original_shape": shape,
            "total_frames": length, "keypoint": keypoint, "keypoint_score": score}


def tracks_in_view(window: WindowInput, max_persons: int) -> List[str]:
    """The ``max_persons`` tracks of the window with the most keypoint score, in the
    order of their ids (a skeleton file's slot order: the file's windows are the same)."""
    total: Dict[str, float] = {}
    for persons in window.poses:
        for tid, (_, sc) in persons.items():
            total[tid] = total.get(tid, 0.0) + float(sc.sum())
    ranked = sorted(total, key=lambda t: (-total[t], int(t)))[:max_persons]
    return sorted(ranked, key=int)


def sampled_offsets(options, size: int) -> np.ndarray:
    """The frame offsets the test views of a full window sample (none: pose-only)."""
    if "rgb" not in options.streams:
        return np.zeros(0, np.int64)
    return np.unique(sample_clips(size, options.num_frames, options.num_views, test_mode=True,
                                  seed=options.test_seed))


@dataclass
class StreamStats:
    """What the reader threads saw (the ``live`` part of ``timeline.json``)."""

    frames: int = 0
    decode_errors: int = 0
    first_error: Optional[str] = None
    skipped: List[int] = field(default_factory=list)
    latencies: List[float] = field(default_factory=list)
    stopped_by: str = "end of stream"
    started: float = field(default_factory=time.monotonic)
    last_frame: float = field(default_factory=time.monotonic)

    def report(self, fps: Fraction, peak: int) -> Dict[str, Any]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        lat = self.latencies
        return {"frames_read": self.frames, "decode_errors": self.decode_errors,
                "first_error": self.first_error, "windows_skipped": len(self.skipped),
                "skipped_windows": self.skipped, "stopped_by": self.stopped_by,
                "x_real_time": round(self.frames / float(fps) / elapsed, 3),
                "latency_s": {"mean": round(float(np.mean(lat)), 3) if lat else None,
                              "max": round(float(np.max(lat)), 3) if lat else None},
                "peak_buffered_frames": peak}


class Stream:
    """The decode and pose threads of a live run, and the hand-over to the model.

    :meth:`windows` yields each :class:`WindowInput` to classify, in order, skipping
    those more than ``max_latency`` s late (their indices go to :attr:`stats`.skipped;
    ``max_latency`` inf: none). A thread's error is raised in the caller.
    """

    def __init__(self, container: av.container.InputContainer, pose: Callable[[np.ndarray], Any],
                 windows: LiveWindows, tracker: Optional[OnlineTracker], fps: Fraction,
                 max_latency: float, stall_timeout: float, name: str) -> None:
        self.container, self.pose, self.cut = container, pose, windows
        self.tracker, self.max_latency = tracker, max_latency
        self.stall_timeout, self.name = stall_timeout, name
        self.stats = StreamStats()
        self.fps = fps
        self.shape: Optional[Tuple[int, int]] = None
        self._frames: queue.Queue[Any] = queue.Queue(maxsize=8)
        self._queue: Deque[WindowInput] = deque()  # complete, not yet classified
        self._first_frame: Optional[float] = None  # the stream clock's start
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._done = False
        self._blocked = False  # the decode thread waits for the pose thread
        self._error: Optional[BaseException] = None
        self._threads = [threading.Thread(target=self._guard, args=(f,), daemon=True, name=n)
                         for f, n in ((self._decode, "decode"), (self._poses, "pose"))]

    def _guard(self, body: Callable[[], None]) -> None:
        try:
            body()
        except BaseException as err:  # handed to the main thread, which raises it
            with self._cond:
                self._error = self._error or err
                self._done = True
                self._cond.notify_all()
            self._stop.set()

    def _decode(self) -> None:
        stream = self.container.streams.video[0]
        stream.thread_type = "AUTO"
        reformatter = VideoReformatter()
        for packet in self.container.demux(stream):
            if self._stop.is_set():
                break
            try:
                decoded = packet.decode()
            except av.FFmpegError as err:  # a damaged packet: go on at the next frame
                self.stats.decode_errors += 1
                self.stats.first_error = self.stats.first_error or str(err)
                continue
            for frame in decoded:
                self._put(to_rgb(frame, reformatter))
        self._put(_END)

    def _put(self, item: Any) -> None:
        """Queue ``item`` for the pose thread; the time waited here (the pose thread or
        the model is behind) is not waiting for the source, so it never counts as a stall."""
        self._blocked = True
        while not self._stop.is_set():
            try:
                self._frames.put(item, timeout=0.1)
                break
            except queue.Full:
                continue
        self.stats.last_frame = time.monotonic()
        self._blocked = False

    def _poses(self) -> None:
        while not self._stop.is_set():
            try:
                rgb = self._frames.get(timeout=0.1)
            except queue.Empty:
                continue
            if rgb is _END:
                self._offer(self.cut.tail(time.monotonic()))
                break
            self._add(rgb)
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def _add(self, rgb: np.ndarray) -> None:
        index = self.cut.total
        if self.shape is None:
            self.shape = tuple(int(s) for s in rgb.shape[:2])
        elif rgb.shape[:2] != self.shape:
            raise InferenceError(f"video {self.name}: frame {index} is {rgb.shape[1]}x"
                                 f"{rgb.shape[0]}, the first was {self.shape[1]}x{self.shape[0]}")
        if self._first_frame is None:
            self._first_frame = time.monotonic()
        persons = self.pose(index, rgb)
        if self.tracker is not None:
            kps, sc = check_poses(*persons, f"{self.name}, frame {index}")
            persons = self.tracker.update(index, kps, sc)
        self.stats.frames = self.cut.total + 1
        self._offer(self.cut.add(rgb, persons, time.monotonic()))

    def _offer(self, window: Optional[WindowInput]) -> None:
        if window is None:
            return
        with self._cond:
            while len(self._queue) >= QUEUED_WINDOWS and not self._stop.is_set():
                self._cond.wait(0.1)
            self._queue.append(window)
            self._cond.notify_all()

    def _late(self, window: WindowInput, now: float) -> bool:
        """True when ``window`` ended more than ``max_latency`` s ago on the stream clock."""
        ended = self._first_frame + window.end / float(self.fps)
        return now - ended > self.max_latency

    def windows(self) -> Iterator[WindowInput]:
        for thread in self._threads:
            thread.start()
        try:
            while True:
                window = self._next()
                if window is None:
                    return
                yield window
        finally:
            self.close()

    def _next(self) -> Optional[WindowInput]:
        """The waiting window (None at the end); raises a thread's error or a stall."""
        with self._cond:
            while not self._queue and not self._done:
                self._cond.wait(0.1)
                idle = time.monotonic() - self.stats.last_frame
                if (not self._queue and not self._done and not self._blocked
                        and idle > self.stall_timeout):
                    self.stats.stopped_by = f"stall: no frame for {idle:.1f} s"
                    return None
            if self._error is not None:
                raise self._error
            if not self._queue:
                return None
            now = time.monotonic()
            while len(self._queue) > 1 and self._late(self._queue[0], now):
                self.stats.skipped.append(self._queue.popleft().index)
            self._cond.notify_all()
            return self._queue.popleft()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout=1.0)  # a thread blocked in a read stays: it is a daemon
        self.container.close()


def classify_live_window(model, cfg, options, window: WindowInput, tracks: List[str],
                         shape: Tuple[int, int], names: List[str], device: str, source: str):
    """The prediction of ``window`` for the persons ``tracks`` (None: nobody in view)."""
    annotation = window_skeleton(window, tracks, shape, int(cfg.RGBPOSE.KEYPOINTS.NUM))
    if nobody_in_view(annotation):
        return None
    local = Window(window.index, 0, window.end - window.start, 0, window.end - window.start)
    return classify_window(model, cfg, options, annotation, local, window.frames, names,
                           device, source)


def live_plan(fps: Fraction, size: int, stride: int, starts: List[int], total: int
              ) -> WindowPlan:
    """The plan of the windows a live run handed out (skipped ones included), covers as
    :func:`~.windows.plan_windows` sets them; the last window covers to the stream's end."""
    ends = [min(s + size, total) for s in starts]
    return WindowPlan(total, fps, size, stride, covered_windows(starts, ends, size, total),
                      total < size)


def make_pose_source(skeleton: Optional[Dict[str, Any]], backend: str,
                     backend_options: Optional[Dict[str, Any]]):
    """``(pose(index, rgb) -> persons, tracker needed, closer)``: poses from an annotation's
    person slots (track ids = slot numbers) or from a pose backend run on each frame."""
    if skeleton is not None:
        kp, sc = np.asarray(skeleton["keypoint"]), np.asarray(skeleton["keypoint_score"])

        def from_file(index: int, rgb: np.ndarray):
            if index >= kp.shape[1]:
                raise InferenceError(f"the skeleton has {kp.shape[1]} frames, the stream more")
            return {str(m): (kp[m, index], sc[m, index]) for m in range(kp.shape[0])
                    if sc[m, index].any()}
        return from_file, False, lambda: None
    pose_backend = open_pose_backend(backend, backend_options)
    pose_backend.reset()
    return (lambda index, rgb: pose_backend(rgb)), True, pose_backend.close


def source_name(video: str) -> str:
    return "stdin" if video == "-" else Path(video).name or video


def run_live_timeline(checkpoint: Optional[str], video: str, out_dir: str, *,
                      skeleton: Optional[str] = None, window: Optional[float] = None,
                      stride: Optional[float] = None, min_score: float = 0.5,
                      min_duration: float = 0.0, cfg_file: Optional[str] = None,
                      opts: Sequence = (), labels: Optional[str] = None,
                      views: Optional[int] = None, device: Optional[str] = None, topk: int = 5,
                      model_file: Optional[str] = None,
                      echo: Optional[Callable[[str], None]] = None,
                      backend: str = "mediapipe",
                      backend_options: Optional[Dict[str, Any]] = None, max_persons: int = 2,
                      per_person: bool = False, live: bool = True,
                      max_latency: Optional[float] = None, stall_timeout: float = 10.0
                      ) -> TimelineResult:
    """:func:`~.run.run_timeline` for a source read once, front to back (module docstring):
    the same windows, labels, merge rule and outputs but ``timeline.mp4``; ``live``: skip
    windows more than ``max_latency`` s late (None: one window's length). Stops at the
    stream's end, on a stall (outputs written, then :class:`InferenceError`) or Ctrl-C
    (outputs written, then the interrupt)."""
    started = time.perf_counter()
    model, cfg, stored, checkpoint = load_for_inference(checkpoint, model_file, cfg_file, opts)
    names, label_source = class_names_for(labels, stored, cfg)
    annotation, source = None, f"{backend} (extracted as the stream is read)"
    if skeleton:
        annotation = check_skeleton(skeleton_from_file(skeleton, Path(video)), skeleton,
                                    int(cfg.RGBPOSE.KEYPOINTS.NUM))
        source = skeleton
    # Keypoints are in the skeleton's image size; extracted ones in the frames'.
    skeleton_shape = tuple(annotation["img_shape"]) if annotation else None
    container = open_source(video, stall_timeout)
    fps = _rate(container, video)
    options = test_options(cfg, views)
    window_s, stride_s = default_window(options.pose_num_frames, fps, window, stride)
    size, step = max(1, round(window_s * float(fps))), max(1, round(stride_s * float(fps)))
    pose, track, close_pose = make_pose_source(annotation, backend, backend_options)
    cut = LiveWindows(size, step, sampled_offsets(options, size), "rgb" in options.streams)
    tracker = OnlineTracker(0.1, size) if track else None
    latency = (window_s if max_latency is None else max_latency) if live else float("inf")
    stream = Stream(container, pose, cut, tracker, fps, latency, stall_timeout, video)
    device = inference_device(model, device)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tracks = Tracks({"scene": {}} if not per_person else {})
    notes = [TRAINED_MODE_NOTE] if per_person else []
    for note in notes if echo else ():
        echo(f"note: {note}")
    starts: List[int] = []
    interrupted = None
    try:
        for w in stream.windows():
            _classify(model, cfg, options, w, stream, tracks, starts,
                      (names, device, source, skeleton_shape),
                      (min_score, topk, max_persons, per_person), echo)
    except KeyboardInterrupt as err:
        stream.stats.stopped_by, interrupted = "interrupted (Ctrl-C)", err
    finally:
        stream.close()
        close_pose()
    stats = stream.stats
    total = stats.frames
    plan = live_plan(fps, size, step, starts, total)
    _fix_covers(plan, tracks)
    notes += _live_notes(plan, stats, size, live)
    for note in notes[1 if per_person else 0:] if echo else ():
        echo(f"note: {note}")
    v = PreparedVideo(Path(source_name(video)), source, {}, options, plan, window_s, stride_s,
                      notes)
    run = RunFacts(video, str(Path(checkpoint).resolve()), str(device), label_source, started,
                   {"windows": round(time.perf_counter() - started, 3)})
    report, segments, outputs = finish_timeline(
        v, tracks, names, cfg, run, out, None, (min_score, min_duration, window, stride), 0,
        {"live": {"mode": live, "max_latency_s": latency if live else None,
                  "stall_timeout_s": stall_timeout,
                  **stats.report(fps, cut.peak)}})
    result = TimelineResult(plan, tracks.classified(), segments, outputs, report, cut.peak,
                            report["timings_s"], tracks.predictions)
    if interrupted is not None:
        raise interrupted
    if stats.stopped_by.startswith("stall"):
        raise InferenceError(f"video {video}: the stream stalled (no frame for "
                             f"{stall_timeout:g} s after frame {total}); the timeline of the "
                             f"{len(starts)} window(s) before is in {out}")
    return result


def _rate(container: av.container.InputContainer, video: str) -> Fraction:
    if not container.streams.video:
        container.close()
        raise InferenceError(f"video {video}: no video stream")
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        container.close()
        raise InferenceError(f"video {video}: the stream does not say its frame rate")
    return Fraction(rate)


def _classify(model, cfg, options, w: WindowInput, stream: Stream, tracks: Tracks,
              starts: List[int], where: Tuple, rule: Tuple,
              echo: Optional[Callable[[str], None]]) -> None:
    """Classify ``w`` for every track (after recording the windows skipped before it)."""
    names, device, source, shape = where
    min_score, topk, max_persons, per_person = rule
    stride = stream.cut.stride
    while len(starts) < w.index:  # skipped while the model was busy
        _record(tracks, len(starts), len(starts) * stride, None, False, SKIPPED,
                (min_score, topk), stream, echo)
        starts.append(len(starts) * stride)
    starts.append(w.start)
    in_view = tracks_in_view(w, max_persons)
    groups = {t: [t] for t in in_view} if per_person else {"scene": in_view}
    for track in list(tracks.entries) if per_person else []:
        groups.setdefault(track, [])  # seen before, not in view now
    for track, persons in groups.items():
        prediction = classify_live_window(model, cfg, options, w, persons,
                                          shape or stream.shape, names, device, source)
        _record(tracks, w.index, w.start, prediction, prediction is None, None,
                (min_score, topk), stream, echo, track, w.end)
    stream.stats.latencies.append(time.monotonic() - w.ready)


def _record(tracks: Tracks, index: int, start: int, prediction, nobody: bool,
            gap: Optional[str], rule: Tuple, stream: Stream,
            echo: Optional[Callable[[str], None]], track: Optional[str] = None,
            end: Optional[int] = None) -> None:
    """Append one window's entry and score to ``track`` (None: every track so far), after
    back-filling a track first seen now: not in view before, or skipped."""
    min_score, topk = rule
    size, stride = stream.cut.size, stream.cut.stride
    plan = WindowPlan(0, stream.fps, size, stride, (), False)
    end = start + size if end is None else end
    targets = [track] if track is not None else (
        list(tracks.entries) if tracks.per_person else ["scene"])
    skipped = set(stream.stats.skipped)
    for t in targets:
        entries = tracks.entries.setdefault(t, [])
        tracks.annotations.setdefault(t, {})
        while len(entries) < index:
            i = len(entries)
            tracks.record(t, plan, Window(i, i * stride, i * stride + size, 0, 0), None,
                          i not in skipped, SKIPPED if i in skipped else None, min_score, topk)
        entry = tracks.record(t, plan, Window(index, start, end, 0, 0), prediction, nobody,
                              gap, min_score, topk)
        if echo:
            echo((f"track {t} " if tracks.per_person else "") + format_window(entry))


def _fix_covers(plan: WindowPlan, tracks: Tracks) -> None:
    """Give every track's scores and entries the plan's covers (known only at the end);
    a track seen last before the end gets not-in-view windows up to it."""
    for track, scores in tracks.scores.items():
        while len(scores) < len(plan.windows):  # no prediction: no label, whatever the rule
            tracks.record(track, plan, plan.windows[len(scores)], None, True, None, 1.0, 1)
        tracks.scores[track] = [replace(s, cover_start=w.cover_start, cover_end=w.cover_end)
                                for s, w in zip(scores, plan.windows)]
        for entry, w in zip(tracks.entries[track], plan.windows):
            entry.update(window_times(plan, w))


def _live_notes(plan: WindowPlan, stats: StreamStats, size: int, live: bool) -> List[str]:
    notes = []
    if plan.padded:
        notes.append(f"the stream ({stats.frames} frames) was shorter than one window "
                     f"({size} frames): one window, padded by repeating frames")
    if stats.skipped:
        notes.append(f"{len(stats.skipped)} of {len(plan.windows)} window(s) skipped: they "
                     f"were more than the latency allowed behind the stream when the model "
                     f"was free (the model is slower than real time)")
    if stats.decode_errors:
        notes.append(f"{stats.decode_errors} packet(s) could not be decoded and were skipped "
                     f"(first: {stats.first_error})")
    if stats.stopped_by != "end of stream":
        notes.append(f"stopped: {stats.stopped_by}")
    notes.append("timeline.mp4 is not written for a stream read once (" +
                 ("live" if live else "read in order") + ")")
    return notes
