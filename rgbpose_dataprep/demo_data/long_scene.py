"""Long demo scenes with ground truth: a test bed for per-person action timelines.

A long scene is one background and camera with one or two actors (two stand apart, left
and right, so that each has their own region) who each do a sequence of the demo's
classes separated by idle gaps, on their own schedules. Every action segment is exactly
a short demo clip of that class: the same motion function with the same range of lengths
(40-56 frames at 30 fps by default, the action's active window inside it, see
:mod:`.motions`) and, for the appearance pairs, the class's object held in the acting hand
for the segment. The gaps are the idle fidgeting every clip starts from; short fades in
the gaps join them to the segments, so a segment's frames are not altered at all.

Files, for ``name`` in ``out_dir`` (:func:`make_long_scene`)::

    <name>.mp4      H.264, as the demo videos (480x270; keypoints measured at 960x540)
    <name>.gt.json  {"video", "fps", "total_frames", "img_shape", "video_shape",
                     "classes", "actors": [{"id", "side", "segments": [{"label", "name",
                     "start_frame", "end_frame" (exclusive), "start_s", "end_s"}]}]}
    <name>.gt.csv   actor,start_s,end_s,start_frame,end_frame,label,name (one row a segment)
    <name>.pkl      the skeleton: one pyskl annotation (frame_dir = name, label -1), person
                    m = actor m, with the demo's detector-like noise (:mod:`.annotate`)

Idle gaps are simply not in ``segments``. With two actors, the second one's first segment
starts inside the first one's, with another class: every two-actor scene has a time when
the two do different actions at once. Frames are rendered and encoded one at a time, so
memory does not grow with the duration (the keypoints, a few MB per 10 minutes, are kept).

The scene is drawn from generators keyed by ``("long_scene", seed, actors)``, never by the
keys of the training videos (:mod:`.write`), so long scenes are not used in training.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image
from tqdm import tqdm

from rgbpose_plugin.data.annotations import write_annotation_file
from rgbpose_plugin.errors import DataPrepError
from rgbpose_plugin.fileio import atomic_write_text, write_h264

from .annotate import annotate
from .body import Body, Pose, forward_kinematics, place_on_ground
from .catalog import ActionClass, select_classes
from .motions import MOTIONS, _smoothstep, idle_pose
from .render import render_frame
from .scene import FRAME_H, FRAME_W, Person, Scene, camera_shake, make_background, random_outfit
from .write import FPS, VIDEO_DOWNSCALE, X264_PARAMS, _rng

# Lengths of the demo's training clips (tools/make_demo_data.py --min/--max-frames).
MIN_ACTION_S, MAX_ACTION_S = 40 / FPS, 56 / FPS
MIN_GAP_S, MAX_GAP_S = 0.5, 3.0
FADE = 8  # Frames of a gap, next to a segment, that blend the segment's pose into idle.
SIDES_OF = {1: ("centre",), 2: ("left", "right")}
CSV_HEADER = ("actor", "start_s", "end_s", "start_frame", "end_frame", "label", "name")


@dataclass(frozen=True)
class Segment:
    """One action of one actor: frames [start, end), the class, the acting hand."""

    label: int
    cls: ActionClass
    start: int
    end: int
    hand: str  # "r" / "l": the side that acts and holds the class's object.


@dataclass(frozen=True)
class Timing:
    """Action and gap lengths in frames (inclusive ranges)."""

    total: int
    action: Tuple[int, int]
    gap: Tuple[int, int]


def timing_in_frames(duration_s: float, fps: int, action_s: Tuple[float, float],
                     gap_s: Tuple[float, float], actors: int) -> Timing:
    """Check the requested lengths and turn them into frames; one-line errors."""
    if actors not in SIDES_OF:
        raise DataPrepError(f"actors must be 1 or 2, got {actors}")
    if not (isinstance(fps, int) and fps >= 1):
        raise DataPrepError(f"fps must be a positive integer, got {fps!r}")
    action = (round(action_s[0] * fps), round(action_s[1] * fps))
    gap = (round(gap_s[0] * fps), round(gap_s[1] * fps))
    if not 8 <= action[0] <= action[1]:
        raise DataPrepError(f"actions must last >= 8 frames and min <= max, got "
                            f"{action_s[0]}-{action_s[1]} s ({action[0]}-{action[1]} frames)")
    if not 1 <= gap[0] <= gap[1]:
        raise DataPrepError(f"idle gaps must last >= 1 frame and min <= max, got "
                            f"{gap_s[0]}-{gap_s[1]} s ({gap[0]}-{gap[1]} frames)")
    total = round(duration_s * fps)
    # Room for the first segment of each actor (the second starts inside the first's).
    needed = gap[1] + action[1] + (action[1] // 2 if actors == 2 else 0) + 1
    if total < needed:
        raise DataPrepError(f"duration_s {duration_s} is too short for {actors} actor(s) "
                            f"with these action and gap lengths: need >= {needed / fps:.2f} s")
    return Timing(total, action, gap)


def _segment(rng: np.random.Generator, classes: Sequence[ActionClass], start: int,
             timing: Timing, avoid: Optional[int] = None) -> Segment:
    """A random class (not ``avoid``) and length, starting at ``start``."""
    labels = [i for i in range(len(classes)) if i != avoid]
    label = labels[int(rng.integers(len(labels)))]
    length = int(rng.integers(timing.action[0], timing.action[1] + 1))
    hand = "r" if rng.uniform() < 0.6 else "l"  # As the short clips' actors (scene.py).
    return Segment(label, classes[label], start, start + length, hand)


def schedule(rng: np.random.Generator, classes: Sequence[ActionClass], timing: Timing,
             first: Optional[Segment] = None) -> List[Segment]:
    """One actor's segments: idle gap, action, idle gap, ... until the scene ends.

    With ``first`` (the other actor's first segment), this actor's first segment starts
    in the first half of it with another class: the two then act differently at once.
    """
    if first is None:
        start, avoid = int(rng.integers(timing.gap[0], timing.gap[1] + 1)), None
    else:
        start = first.start + int(rng.integers(0, (first.end - first.start) // 2 + 1))
        avoid = first.label
    segments: List[Segment] = []
    while True:
        seg = _segment(rng, classes, start, timing, avoid)
        if seg.end > timing.total:
            return segments
        segments.append(seg)
        avoid = None
        start = seg.end + int(rng.integers(timing.gap[0], timing.gap[1] + 1))


def actor_pose(idle: Pose, segments: Sequence[Segment], motion_rngs: Sequence[np.random.Generator],
               body: Body) -> Pose:
    """The idle pose with each segment's motion in place, joined by fades in the gaps."""
    pose = {key: value.copy() for key, value in idle.items()}
    for seg, rng in zip(segments, motion_rngs):
        motion = MOTIONS[seg.cls.motion](rng, seg.end - seg.start, body, seg.hand)
        for key in pose:
            pose[key][seg.start:seg.end] = motion[key]
    total = len(idle["lean"])
    bounds = [0] + [b for seg in segments for b in (seg.start, seg.end)] + [total]
    for i, seg in enumerate(segments):
        before = (seg.start - bounds[2 * i]) // (1 if i == 0 else 2)
        after = (bounds[2 * i + 3] - seg.end) // (1 if i == len(segments) - 1 else 2)
        _fade(pose, idle, seg.start - 1, -1, min(FADE, before))
        _fade(pose, idle, seg.end, 1, min(FADE, after))
    return pose


def _fade(pose: Pose, idle: Pose, first: int, step: int, frames: int) -> None:
    """Blend ``frames`` idle frames from ``first`` (going by ``step``) from the adjacent
    segment frame's offset to idle, so the joint has no jump."""
    if frames <= 0:
        return
    edge = first - step  # The segment's frame next to the gap.
    idx = first + step * np.arange(frames)
    weight = 1.0 - _smoothstep(np.arange(1, frames + 1) / (frames + 1))
    for key in pose:
        pose[key][idx] = idle[key][idx] + weight * (pose[key][edge] - idle[key][edge])


@dataclass
class LongScene:
    """Everything to draw and annotate a long scene; actors in id order (left first)."""

    scene: Scene  # Persons in actor order; ``held`` is set per frame by :meth:`frame`.
    segments: List[List[Segment]]
    active: np.ndarray  # (actors, T) index of the segment at each frame, -1 when idle.

    def frame(self, index: int) -> Image.Image:
        """Frame ``index`` as a PIL image, each actor holding their segment's object."""
        persons = []
        for person, segs, act in zip(self.scene.persons, self.segments, self.active):
            seg = segs[act[index]] if act[index] >= 0 else None
            if seg is not None and seg.cls.held is not None:
                person = replace(person, held=seg.cls.held, held_colour=seg.cls.colour,
                                 hand=seg.hand)
            persons.append(person)
        return render_frame(replace(self.scene, persons=persons), index)


def sample_long_scene(seed: int, classes: Sequence[ActionClass], actors: int,
                      timing: Timing) -> LongScene:
    """Background, camera, actors and their schedules (no I/O)."""
    rng = _rng(seed, "long_scene", actors, "layout")
    background = make_background(rng)
    shake = camera_shake(rng, timing.total)
    ground = rng.uniform(0.9, 0.96) * FRAME_H
    xs = ([rng.uniform(0.35, 0.65)] if actors == 1
          else [rng.uniform(0.22, 0.3), rng.uniform(0.7, 0.78)])
    persons, segments = [], []
    for a, x in enumerate(xs):
        height = rng.uniform(170, 240)
        body = Body.sample(height, rng)
        plan = schedule(_rng(seed, "long_scene", actors, "schedule", a), classes, timing,
                        segments[0][0] if a == 1 else None)
        motion_rngs = [_rng(seed, "long_scene", actors, "motion", a, j) for j in range(len(plan))]
        pose = actor_pose(idle_pose(rng, timing.total), plan, motion_rngs, body)
        # Smaller = farther away: stands a little higher, as the short clips' bystanders.
        keypoints = place_on_ground(forward_kinematics(pose, body), pose, body, x * FRAME_W,
                                    ground - (240 - height) * 0.4)
        persons.append(Person(body, keypoints, random_outfit(rng), bool(rng.uniform() < 0.5),
                              "r", acting=True))
        segments.append(plan)
    active = np.full((actors, timing.total), -1, np.int32)
    for a, plan in enumerate(segments):
        for j, seg in enumerate(plan):
            active[a, seg.start:seg.end] = j
    return LongScene(Scene(background, shake, persons, []), segments, active)


def skeleton(long: LongScene, seed: int, name: str) -> Dict:
    """The pyskl annotation: person m is actor m, each with the short clips' noise."""
    kps, scores = [], []
    for a, person in enumerate(long.scene.persons):
        one = replace(long.scene, persons=[person])
        kp, score = annotate(one, _rng(seed, "long_scene", len(long.segments), "annotation", a))
        kps.append(kp[0])
        scores.append(score[0])
    return {"frame_dir": name, "label": -1, "img_shape": (FRAME_H, FRAME_W),
            "original_shape": (FRAME_H, FRAME_W), "total_frames": long.scene.num_frames,
            "keypoint": np.stack(kps).astype(np.float32),
            "keypoint_score": np.stack(scores).astype(np.float32)}


def ground_truth(long: LongScene, classes: Sequence[ActionClass], name: str,
                 fps: int) -> Dict:
    """The gt.json content (segments in frames and seconds; end exclusive)."""
    def seg_dict(seg: Segment) -> Dict:
        return {"label": seg.label, "name": seg.cls.name, "start_frame": seg.start,
                "end_frame": seg.end, "start_s": round(seg.start / fps, 4),
                "end_s": round(seg.end / fps, 4)}
    sides = SIDES_OF[len(long.segments)]
    return {
        "video": f"{name}.mp4", "fps": fps, "total_frames": long.scene.num_frames,
        "img_shape": [FRAME_H, FRAME_W],
        "video_shape": [FRAME_H // VIDEO_DOWNSCALE, FRAME_W // VIDEO_DOWNSCALE],
        "classes": [c.name for c in classes],
        "actors": [{"id": a, "side": sides[a], "segments": [seg_dict(s) for s in segs]}
                   for a, segs in enumerate(long.segments)],
    }


def _csv_text(gt: Dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for actor in gt["actors"]:
        for s in actor["segments"]:
            writer.writerow([actor["id"], s["start_s"], s["end_s"], s["start_frame"],
                             s["end_frame"], s["label"], s["name"]])
    return out.getvalue()


def _write_video(path: Path, long: LongScene, fps: int, crf: int, preset: str,
                 progress: bool) -> None:
    """Render and encode frame by frame, as :func:`.write.write_video` does a short clip."""
    bar = tqdm(total=long.scene.num_frames, unit="frame", desc=path.name,
               disable=None if progress else True)
    with write_h264(path, Fraction(fps), crf=crf, preset=preset, threads=1,
                    x264_params=X264_PARAMS) as out:
        for i in range(long.scene.num_frames):
            out.write(np.asarray(long.frame(i).reduce(VIDEO_DOWNSCALE)))
            bar.update(1)
    bar.close()


def make_long_scene(out_dir: Union[str, Path], *, seed: int = 0,
                    classes: Optional[Sequence[str]] = None, actors: int = 1,
                    duration_s: float = 60.0, fps: int = FPS,
                    min_action_s: float = MIN_ACTION_S, max_action_s: float = MAX_ACTION_S,
                    min_gap_s: float = MIN_GAP_S, max_gap_s: float = MAX_GAP_S,
                    name: Optional[str] = None, crf: int = 23, preset: str = "veryfast",
                    progress: bool = False) -> Path:
    """Write ``<name>.mp4``, ``.pkl``, ``.gt.csv`` and ``.gt.json`` into ``out_dir``, in
    that order (each atomically: a finished gt.json means a finished scene); return the
    video's path.

    ``classes`` are demo class names (labels follow their order, as in the dataset's
    labels.txt; default all); ``actors`` 1 or 2. The motions are defined per frame, so the
    actions look as in the demo's clips at its 30 fps. ``name`` defaults to
    ``long_<seed>_<actors>p``. The same arguments always give the same files.
    """
    chosen = select_classes(classes)
    timing = timing_in_frames(duration_s, fps, (min_action_s, max_action_s),
                              (min_gap_s, max_gap_s), actors)
    if actors == 2 and len(chosen) < 2:
        raise DataPrepError("two actors need at least two classes (they act differently at "
                            f"once), got {[c.name for c in chosen]}")
    name = name or f"long_{seed}_{actors}p"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    long = sample_long_scene(seed, chosen, actors, timing)
    gt = ground_truth(long, chosen, name, fps)
    ann = skeleton(long, seed, name)
    video = out_dir / f"{name}.mp4"
    _write_video(video, long, fps, crf, preset, progress)
    write_annotation_file(out_dir / f"{name}.pkl", [ann], {"all": [name]})
    atomic_write_text(str(out_dir / f"{name}.gt.csv"), _csv_text(gt))
    atomic_write_text(str(out_dir / f"{name}.gt.json"), json.dumps(gt, indent=1) + "\n")
    return video
