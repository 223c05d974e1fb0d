""":func:`run_timeline`: a long video, window by window, to a labelled time line."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from itertools import repeat
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from ...data import DataOptions
from ...errors import InferenceError
from ..demo import (
    FUSION_NOTE,
    class_names_for,
    get_skeleton,
    inference_device,
    load_for_inference,
)
from ..predictor import Prediction
from ..skeleton import check_skeleton
from .annotated import label_of_entry, write_timeline_video
from .persons import TRAINED_MODE, TRAINED_MODE_NOTE, person_annotation, track_ids
from .plot import save_timeline_png
from .reader import FrameBuffer, probe_video
from .segments import (
    Segment,
    WindowScore,
    label_window,
    merge_gaps,
    merge_segments,
    write_segments_csv,
)
from .windows import (
    Window,
    WindowPlan,
    classify_window,
    default_window,
    nobody_in_view,
    plan_windows,
    test_options,
    window_annotation,
    window_frames_needed,
)

__all__ = ["TimelineResult", "run_timeline", "format_window", "format_timeline"]

WINDOW_RULE = "window = max(2 s, DATA.POSE_NUM_FRAMES / fps), stride = window / 2"
MERGE_RULE = ("a window's label is its fused top class if its probability >= min_score (else "
              "none: uncertain; none either when its skeleton has nobody); consecutive windows "
              "with the same label merge; segments shorter than min_duration s are dropped; "
              "score = mean fused probability of the class over the segment's windows; a "
              "window covers half-way to its neighbours' centres, the first from 0 s, the "
              "last to the end")
GAP_RULE = ("a window any of whose sampled RGB frames cannot be decoded (a corrupt stretch of "
            "the file) is not classified: status 'undecodable frames N-M', no label, listed "
            "under 'gaps'; the run goes on at the next decodable frame")


@dataclass
class TimelineResult:
    """What :func:`run_timeline` produced: the plan, one prediction per window (without
    its heatmaps; per-person mode: every track's, track after track), the segments, the
    files and the JSON report (``report["windows"]``: each window's entry; per-person
    mode: a dict track -> entries). ``track_predictions``: per track, per window, the
    prediction (None: the person was not in view; scene mode: the one track "scene")."""

    plan: WindowPlan
    predictions: List[Prediction]
    segments: List[Segment]
    outputs: Dict[str, str]
    report: Dict[str, Any]
    peak_frames: int = 0
    timings: Dict[str, float] = field(default_factory=dict)
    track_predictions: Dict[str, List[Optional[Prediction]]] = field(default_factory=dict)


def _skeleton(raw: Dict[str, Any], where: str, video: Path, num_joints: int, frames: int
              ) -> Dict[str, Any]:
    """The validated annotation; its frame count must be the video's (``where``: its source)."""
    annotated = int(raw.get("total_frames", -1))
    if annotated != frames:
        raise InferenceError(f"{where}: the skeleton of {raw.get('frame_dir')!r} has {annotated} "
                             f"frames but the video {video} has {frames}")
    return check_skeleton(raw, where, num_joints)


def _check_orientation(annotation: Dict[str, Any], size: Tuple[int, int], video: Path) -> None:
    """The data loader's check, once per video: keypoints measured on upright frames."""
    (old_h, old_w), (new_h, new_w) = annotation["img_shape"], size
    if old_h != old_w and new_h != new_w and (old_h > old_w) != (new_h > new_w):
        raise InferenceError(f"video {video}: the skeleton's img_shape (H, W) = {(old_h, old_w)} "
                             f"and the frames' {(new_h, new_w)} differ in orientation")


def _frames_per_window(video: Path, needs: Sequence[np.ndarray], threads: int
                       ) -> Tuple[Iterator[Dict[int, np.ndarray]], Optional[FrameBuffer]]:
    """The frames of each window from a bounded reader (none for a pose-only model)."""
    if not any(n.size for n in needs):
        return repeat({}), None
    reader = FrameBuffer(video, needs, threads)
    return reader.windows(), reader


def window_times(plan: WindowPlan, window: Window) -> Dict[str, Any]:
    """Where a window is, in frames and seconds (the first keys of its JSON entry)."""
    s = plan.seconds
    return {"index": window.index, "start_frame": window.start, "end_frame": window.end,
            "start_s": round(s(window.start), 3), "end_s": round(s(window.end), 3),
            "cover_start_frame": window.cover_start, "cover_end_frame": window.cover_end,
            "cover_start_s": round(s(window.cover_start), 3),
            "cover_end_s": round(s(window.cover_end), 3)}


def window_entry(plan: WindowPlan, window: Window, prediction: Optional[Prediction],
                  status: str, label: Optional[int], topk: int) -> Dict[str, Any]:
    """One window in ``timeline.json`` (no prediction: a track's person was not in view,
    so the window was not classified for it)."""
    entry = {**window_times(plan, window), "status": status, "label": label,
             "name": None, "score": None, "top": {}}
    if prediction is not None:
        entry["top"] = {stream: prediction.top(stream, topk) for stream in prediction.streams}
    if label is not None:
        entry["name"] = prediction.class_names[label]
        entry["score"] = float(prediction.probs["fused"][label])
    return entry


def format_window(entry: Dict[str, Any]) -> str:
    """The line printed for a window: ``[12.0-14.0 s] clap 0.91``."""
    head = f"[{entry['start_s']:.1f}-{entry['end_s']:.1f} s]"
    if entry["status"] == "ok":
        return f"{head} {entry['name']} {entry['score']:.2f}"
    if entry["status"] == "uncertain":
        best = entry["top"]["fused"][0]
        return f"{head} uncertain (best: {best['name']} {best['probability']:.2f})"
    return f"{head} {entry['status']}"


@dataclass
class PreparedVideo:
    """A video made ready for the windows: its skeleton, data options and plan."""

    path: Path
    skeleton: str  # where it came from
    annotation: Dict[str, Any]
    options: DataOptions
    plan: WindowPlan
    window_s: float
    stride_s: float
    notes: List[str]


def _prepare(video: Path, probe: Tuple[int, Fraction, Tuple[int, int]],
             skeleton: Tuple[Dict[str, Any], str, bool], cfg, views: Optional[int],
             window: Optional[float], stride: Optional[float]) -> PreparedVideo:
    """Check the skeleton ``(annotation, source, from a file)`` against the video
    (``probe``: its frames, fps and size) and plan the windows."""
    total, fps, size = probe
    raw, source, from_file = skeleton
    where = f"skeleton file {source}" if from_file else f"the skeleton extracted by {source}"
    annotation = _skeleton(raw, where, video, int(cfg.RGBPOSE.KEYPOINTS.NUM), total)
    _check_orientation(annotation, size, video)
    options = test_options(cfg, views)
    window_s, stride_s = default_window(options.pose_num_frames, fps, window, stride)
    plan = plan_windows(total, fps, window_s, stride_s)
    notes = []
    if plan.padded:
        notes.append(f"the video ({total} frames, {plan.seconds(total):.2f} s) is shorter than "
                     f"one window ({plan.window_frames} frames, {window_s:.2f} s): one window, "
                     f"padded by repeating frames")
    return PreparedVideo(video, source, annotation, options, plan, window_s, stride_s, notes)


@dataclass
class Tracks:
    """Per track (scene mode: the one track "scene"), per window so far: the prediction
    (None: not classified, nobody in view), the JSON entry and the merge rule's score."""

    annotations: Dict[str, Dict[str, Any]]
    predictions: Dict[str, List[Optional[Prediction]]] = field(default_factory=dict)
    entries: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)
    scores: Dict[str, List[WindowScore]] = field(default_factory=dict)

    @property
    def per_person(self) -> bool:
        return "scene" not in self.annotations

    def record(self, track: str, plan: WindowPlan, w: Window, prediction: Optional[Prediction],
               nobody: bool, gap: Optional[str], min_score: float, topk: int
               ) -> Dict[str, Any]:
        """Add window ``w`` of ``track`` (its prediction, None where not classified) with
        its label by the merge rule; returns its JSON entry."""
        if prediction is not None:
            # Without its heatmaps: kept for every window, they would grow with the video.
            prediction = replace(prediction, heatmaps=None)
        score = WindowScore(w.cover_start, w.cover_end,
                            prediction.probs if prediction else {}, nobody, gap)
        label, status = label_window(score, min_score)
        entry = window_entry(plan, w, prediction, status, label, topk)
        self.predictions.setdefault(track, []).append(prediction)
        self.entries.setdefault(track, []).append(entry)
        self.scores.setdefault(track, []).append(score)
        return entry

    def classified(self) -> List[Prediction]:
        """Every prediction made, track after track."""
        return [p for t in self.annotations for p in self.predictions.get(t, []) if p]


def _track_annotations(annotation: Dict[str, Any], per_person: bool
                       ) -> Dict[str, Dict[str, Any]]:
    """The annotation each track is classified on: every person's (scene mode), or one
    person slot's per track (per-person mode)."""
    if not per_person:
        return {"scene": annotation}
    return {t: person_annotation(annotation, t) for t in track_ids(annotation)}


def _classify_track(model, cfg, v: PreparedVideo, tracks: Tracks, track: str, w: Window,
                    frames: Dict[int, np.ndarray], names: List[str], device: str,
                    min_score: float, topk: int, gap: Optional[str] = None) -> Dict[str, Any]:
    """Classify window ``w`` for ``track`` and record it; returns its JSON entry.

    Per person, a window where the person is not in view is not classified at all (an
    empty crop says nothing); scene mode classifies it, as before, and drops its label.
    A window with undecodable frames (``gap``: why) is not classified either: the test
    views would sample other frames than the test stage's.
    """
    annotation = tracks.annotations[track]
    nobody = nobody_in_view(window_annotation(annotation, w))
    prediction = None
    if not gap and not (nobody and tracks.per_person):
        prediction = classify_window(model, cfg, v.options, annotation, w, frames, names,
                                     device, v.skeleton)
    return tracks.record(track, v.plan, w, prediction, nobody, gap, min_score, topk)


def _gap(reader: Optional[FrameBuffer], need: np.ndarray, frames: Dict[int, np.ndarray],
         w: Window) -> Optional[str]:
    """``"undecodable frames N-M"`` when a frame ``w`` samples was not decoded, else None."""
    if reader is None or all(int(i) in frames for i in need):
        return None
    runs = reader.gaps_in(w.start, w.end)
    return "undecodable frames " + ", ".join(f"{a}-{b - 1}" for a, b in runs)


def _decode_report(reader: Optional[FrameBuffer], total: int) -> Dict[str, Any]:
    """The ``decode`` part of ``timeline.json``: probed vs decoded frames and the gaps
    (``frames_reached``: decoded + undecodable, up to the last frame a window samples)."""
    if reader is None:
        return {"frames_probed": total, "frames_reached": 0, "frames_decoded": 0,
                "decode_errors": 0, "undecodable_frames": [], "first_error": None}
    return {"frames_probed": total, "frames_reached": reader.reached,
            "frames_decoded": reader.decoded, "decode_errors": reader.errors,
            "undecodable_frames": [list(g) for g in reader.gaps],
            "first_error": reader.first_error}


def _classify_windows(model, cfg, v: PreparedVideo, tracks: Tracks, names: List[str], device: str,
                      min_score: float, topk: int, progress: bool,
                      echo: Optional[Callable[[str], None]]) -> Tuple[int, Dict[str, Any]]:
    """Classify every window for every track into ``tracks``, each echoed as it is done;
    returns the peak of buffered frames and the decode report. A window's frames are
    decoded once, for all tracks."""
    needs = [window_frames_needed(v.options, w) for w in v.plan.windows]
    frames, reader = _frames_per_window(v.path, needs, v.options.decode_threads)
    bar = tqdm(total=len(v.plan.windows), unit="window", leave=False,
               disable=None if progress else True)  # None: only on a terminal
    with bar:
        for w, window_frames in zip(v.plan.windows, frames):
            gap = _gap(reader, needs[w.index], window_frames, w)
            for track in tracks.annotations:
                entry = _classify_track(model, cfg, v, tracks, track, w, window_frames, names,
                                        device, min_score, topk, gap)
                line = (f"track {track} " if tracks.per_person else "") + format_window(entry)
                if echo and not bar.disable:
                    bar.write(line)  # above the progress bar
                elif echo:
                    echo(line)
            bar.update()
    return (reader.peak if reader else 0), _decode_report(reader, v.plan.total_frames)


def run_timeline(checkpoint: Optional[str], video: str, out_dir: str, *,
                 skeleton: Optional[str] = None, window: Optional[float] = None,
                 stride: Optional[float] = None, min_score: float = 0.5,
                 min_duration: float = 0.0, cfg_file: Optional[str] = None, opts: Sequence = (),
                 labels: Optional[str] = None, views: Optional[int] = None,
                 device: Optional[str] = None, topk: int = 5, model_file: Optional[str] = None,
                 progress: bool = False, echo: Optional[Callable[[str], None]] = None,
                 backend: str = "mediapipe", backend_options: Optional[Dict[str, Any]] = None,
                 max_persons: int = 2, per_person: bool = False, write_video: bool = True,
                 video_size: int = 640) -> TimelineResult:
    """Classify ``video`` window by window and write ``segments.csv``, ``timeline.json``,
    ``timeline.png`` (and, with ``write_video``, ``timeline.mp4`` at most ``video_size``
    px on its longer side) to ``out_dir``.

    Scene mode classifies everybody together; ``per_person`` classifies each person slot
    of the skeleton (a track, :mod:`.persons`) on its own, with segments per track.
    Without ``skeleton`` (an annotation file) the whole video's skeleton is extracted first
    by pose backend ``backend`` (one more pass over the video, a frame at a time) and
    saved as ``skeleton.pkl``. ``window`` / ``stride`` in seconds (None: the defaults of
    :data:`WINDOW_RULE`). ``echo`` gets one line per window (and track) as it is
    classified, and the notes; with ``progress`` a progress bar shows on a terminal.

    Raises :class:`~rgbpose_plugin.errors.InferenceError` naming the file for a missing
    video or skeleton, or a skeleton without the video or of another length.
    """
    started = time.perf_counter()
    video_path, out = Path(video), Path(out_dir)
    if not video_path.is_file():
        raise InferenceError(f"video {video} does not exist")
    model, cfg, stored, checkpoint = load_for_inference(checkpoint, model_file, cfg_file, opts)
    names, label_source = class_names_for(labels, stored, cfg)
    if skeleton and not Path(skeleton).is_file():
        raise InferenceError(f"skeleton file {skeleton} does not exist")
    probe = probe_video(video_path)  # before the extraction: a bad video fails at once
    out.mkdir(parents=True, exist_ok=True)
    raw, source, saved = get_skeleton(video_path, skeleton, out, backend, backend_options,
                                       max_persons, progress)
    v = _prepare(video_path, probe, (raw, source, bool(skeleton)), cfg, views, window, stride)
    if per_person:
        v.notes.append(TRAINED_MODE_NOTE)
    for note in v.notes if echo else ():
        echo(f"note: {note}")
    device = inference_device(model, device)
    tracks = Tracks(_track_annotations(v.annotation, per_person))
    peak, decode = _classify_windows(model, cfg, v, tracks, names, device, min_score, topk,
                                     progress, echo)
    gaps = merge_gaps(next(iter(tracks.scores.values()), []), v.plan.fps)
    late = [_gap_note(decode, gaps)] if gaps else []
    if decode["decode_errors"] and write_video:  # annotated.py stops at the first error
        write_video = False
        late.append("timeline.mp4 not written: the video has undecodable frames")
    v.notes += late
    for note in late if echo else ():
        echo(f"note: {note}")
    run = RunFacts(str(video_path.resolve()), str(Path(checkpoint).resolve()), str(device),
                   label_source, started, {"windows": round(time.perf_counter() - started, 3)})
    report, segments, outputs = finish_timeline(
        v, tracks, names, cfg, run, out, saved, (min_score, min_duration, window, stride),
        video_size if write_video else 0, {"decode": decode, "peak_buffered_frames": peak})
    predictions = tracks.classified()
    return TimelineResult(v.plan, predictions, segments, outputs, report, peak,
                          report["timings_s"], tracks.predictions)


@dataclass
class RunFacts:
    """Where a timeline run's inputs came from, and when it started (for the report)."""

    video: str
    checkpoint: str
    device: str
    labels: str
    started: float
    timings: Dict[str, float]


def finish_timeline(v: PreparedVideo, tracks: Tracks, names: List[str], cfg, run: RunFacts,
                    out: Path, saved: Optional[str], rule: Tuple, video_size: int,
                    extra: Dict[str, Any]) -> Tuple[Dict[str, Any], List[Segment], Dict[str, str]]:
    """Merge every track's windows into segments, write the outputs and ``timeline.json``;
    returns ``(report, segments, outputs)``. ``rule``: ``(min_score, min_duration, window,
    stride)`` as asked (None: default); ``extra``: more report keys (the reader's)."""
    min_score, min_duration, window, stride = rule
    gaps = merge_gaps(next(iter(tracks.scores.values()), []), v.plan.fps)
    segments = [s for t in tracks.annotations for s in merge_segments(
        tracks.scores[t], v.plan.fps, names, min_score, min_duration, track=t)]
    outputs = write_outputs(v, tracks, segments, out, saved, cfg.MODEL.MODEL_NAME, video_size)
    run.timings["total"] = round(time.perf_counter() - run.started, 3)
    predictions = tracks.classified()
    report = {
        "video": run.video, "checkpoint": run.checkpoint,
        "model": cfg.MODEL.MODEL_NAME, "streams": predictions[0].streams if predictions else [],
        "views": v.options.num_views, "device": run.device, "skeleton": v.skeleton,
        "labels": run.labels, **plan_report(v, window, stride, tracks),
        "rule": {"min_score": min_score, "min_duration_s": min_duration, "text": MERGE_RULE},
        "fusion": FUSION_NOTE, "class_names": list(names),
        "windows": tracks.entries if tracks.per_person else tracks.entries["scene"],
        "segments": [asdict(s) for s in segments], "gaps": gaps, "gap_rule": GAP_RULE,
        **extra, "outputs": outputs, "timings_s": run.timings,
    }
    Path(outputs["json"]).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report, segments, outputs


def _gap_note(decode: Dict[str, Any], gaps: List[Dict[str, Any]]) -> str:
    """The note printed and saved when part of the video could not be decoded."""
    lost = sum(b - a for a, b in decode["undecodable_frames"])
    windows = sum(len(g["windows"]) for g in gaps)
    spans = ", ".join(f"{g['start_s']:.2f}-{g['end_s']:.2f} s" for g in gaps)
    return (f"{lost} frame(s) could not be decoded ({decode['decode_errors']} decode "
            f"error(s)): {windows} window(s) not classified, gap(s) at {spans}")


def write_outputs(v: PreparedVideo, tracks: Tracks, segments: List[Segment], out: Path,
                   saved: Optional[str], model_name: str, video_size: int) -> Dict[str, str]:
    """Write ``segments.csv``, ``timeline.png`` and (``video_size`` > 0) ``timeline.mp4``;
    returns every output's path (``timeline.json``'s too, written last by the caller)."""
    outputs = {"csv": str(out / "segments.csv"), "json": str(out / "timeline.json"),
               "picture": str(out / "timeline.png")}
    if saved:
        outputs["skeleton"] = saved
    write_segments_csv(Path(outputs["csv"]), segments)
    mode = "per person" if tracks.per_person else "scene"
    save_timeline_png(Path(outputs["picture"]), segments,
                      tracks.entries if tracks.per_person else tracks.entries["scene"],
                      v.plan.seconds(v.plan.total_frames),
                      f"{v.path.name}: {len(segments)} segments ({mode}), window "
                      f"{v.window_s:.2f} s, stride {v.stride_s:.2f} s [{model_name}]",
                      tracks=list(tracks.annotations) if tracks.per_person else None)
    if video_size:
        outputs["video"] = str(out / "timeline.mp4")
        labels = {t: [label_of_entry(e) for e in entries]
                  for t, entries in tracks.entries.items()}
        write_timeline_video(v.path, v.annotation, v.plan, labels, Path(outputs["video"]),
                             video_size)
    return outputs


def plan_report(v: PreparedVideo, window: Optional[float], stride: Optional[float],
                 tracks: Tracks) -> Dict[str, Any]:
    """The video, mode and window plan part of ``timeline.json``."""
    plan = v.plan
    return {"mode": "per-person" if tracks.per_person else "scene",
            "trained_mode": TRAINED_MODE, "tracks": list(tracks.annotations),
            "fps": float(plan.fps), "total_frames": plan.total_frames,
            "duration_s": round(plan.seconds(plan.total_frames), 3),
            "window": {"seconds": v.window_s, "frames": plan.window_frames,
                       "default": window is None},
            "stride": {"seconds": v.stride_s, "frames": plan.stride_frames,
                       "default": stride is None},
            "window_rule": WINDOW_RULE, "padded": plan.padded, "notes": v.notes}


def format_timeline(result: TimelineResult) -> str:
    """What ``tools/demo_net.py`` prints after the windows: the segments and the files."""
    per_person = result.report["mode"] == "per-person"
    lines = [f"{len(result.segments)} segment(s) from {len(result.plan.windows)} window(s)"
             + (f", {len(result.report['tracks'])} track(s):" if per_person else ":")]
    lines += [f"  {'track ' + s.track + ' ' if per_person else ''}{s.start_s:8.2f} - "
              f"{s.end_s:8.2f} s  {s.name:<32} {s.score:.2f}" for s in result.segments]
    lines += [f"note: {n}" for n in result.report["notes"]]
    lines.append("Wrote " + ", ".join(result.outputs.values()))
    return "\n".join(lines)
