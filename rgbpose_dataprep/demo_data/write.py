"""Write a whole demo dataset: videos, the annotation pickle, the label names.

Layout (the pyskl / mmaction2 format, docs/design.md section 3)::

    out_dir/annotations.pkl     {"split": {"train"|"val"|"test": [frame_dir, ...]},
                                 "annotations": [dict, ...]}
    out_dir/videos/<frame_dir>.mp4   480x270 H.264 (keypoints stay at 960x540)
    out_dir/labels.txt          one class name per line, line i = label i

Each video is generated from its own random generator, seeded by (seed, motion, index),
so videos can be made in any order or in parallel and the result is the same. The two
classes of an appearance pair share the motion name, hence the generator: video k of
``drink_red_cup`` and video k of ``drink_blue_cup`` are the same scene and skeleton with
a different cup, and they always land in the same split.
"""

from __future__ import annotations

import os
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from tqdm import tqdm

from rgbpose_plugin.data.annotations import write_annotation_file
from rgbpose_plugin.errors import DataPrepError
from rgbpose_plugin.fileio import write_h264

from .annotate import annotate
from .catalog import ActionClass, select_classes
from .render import render_frame
from .scene import FRAME_H, FRAME_W, Scene, sample_scene

FPS = 30
# Videos are stored at half the scene's size while the keypoints stay in scene pixels
# (img_shape 540x960), as NTU's skeletons stay at 1920x1080 when its videos are compressed
# to 960x540: the loaders rescale keypoints to the decoded size. Decoding a quarter of
# the pixels makes the RGB stages of the demo about 3x faster (they wait on decoding),
# and the persons' crops still have more pixels than the 64-72 px the models see.
VIDEO_DOWNSCALE = 2
# On these flat-coloured drawings, one reference frame and the fastest sub-pixel search
# halve the file size and cut encoding time by a third at the same PSNR (about 38.7 dB).
# asm=0: with x264's SIMD routines, the same frames written twice in one process could
# give different files (a few videos in ten; the frames handed over were identical), so
# two generations of the demo data differed; x264's C code gives the same bytes every time
# (encoding takes about 0.2 s a video instead of 0.08 s).
X264_PARAMS = "ref=1:subme=1:asm=0"
FrameRange = Union[int, Tuple[int, int]]
SPLIT_FRACTIONS = {"val": 0.2, "test": 0.2}  # The rest is "train".
ANNOTATION_KEYS = ("frame_dir", "label", "img_shape", "original_shape", "total_frames",
                   "keypoint", "keypoint_score")


def _rng(seed: int, *keys: Union[int, str]) -> np.random.Generator:
    """A generator keyed by ``seed`` and names/numbers (stable across runs and machines)."""
    ints = [k if isinstance(k, int) else zlib.crc32(k.encode()) for k in keys]
    return np.random.default_rng(np.random.SeedSequence([seed, *ints]))


def _frame_range(num_frames: FrameRange) -> Tuple[int, int]:
    low, high = (num_frames, num_frames) if isinstance(num_frames, int) else num_frames
    if not 8 <= low <= high:
        raise DataPrepError(f"num_frames must be >= 8 and low <= high, got {num_frames}")
    return int(low), int(high)


def generate_sample(cls: ActionClass, label: int, index: int, *, seed: int = 0,
                    num_frames: FrameRange = (40, 56)) -> Tuple[Scene, Dict]:
    """The scene and the annotation dict of video ``index`` of class ``cls`` (no I/O)."""
    low, high = _frame_range(num_frames)
    rng = _rng(seed, cls.motion, index)
    t = int(rng.integers(low, high + 1))
    scene = sample_scene(rng, cls, t)
    keypoint, score = annotate(scene, _rng(seed, cls.motion, index, "annotation"))
    annotation = {
        "frame_dir": f"{cls.name}_{index:03d}",
        "label": label,
        "img_shape": (FRAME_H, FRAME_W),
        "original_shape": (FRAME_H, FRAME_W),
        "total_frames": t,
        "keypoint": keypoint,
        "keypoint_score": score,
    }
    return scene, annotation


def write_video(path: Path, scene: Scene, *, crf: int = 23, preset: str = "veryfast") -> None:
    """Render ``scene`` into an H.264 MP4 at ``path`` (atomically), VIDEO_DOWNSCALE times
    smaller than the scene (a box filter: the thin edges stay anti-aliased)."""
    with write_h264(path, Fraction(FPS), crf=crf, preset=preset, threads=1,
                    x264_params=X264_PARAMS) as out:
        for i in range(scene.num_frames):
            out.write(np.asarray(render_frame(scene, i).reduce(VIDEO_DOWNSCALE)))


@dataclass
class _Job:
    """One video to make (picklable, for worker processes)."""

    cls: ActionClass
    label: int
    index: int
    seed: int
    num_frames: FrameRange
    video_dir: Path
    crf: int
    preset: str


def _make_one(job: _Job) -> Dict:
    scene, annotation = generate_sample(job.cls, job.label, job.index, seed=job.seed,
                                        num_frames=job.num_frames)
    write_video(job.video_dir / f"{annotation['frame_dir']}.mp4", scene, crf=job.crf,
                preset=job.preset)
    return annotation


def make_splits(classes: Sequence[ActionClass], videos_per_class: int,
                seed: int) -> Dict[str, List[str]]:
    """About 60/20/20 train/val/test per class; both classes of a pair split alike.

    With three or more videos per class every split gets at least one of each class.
    """
    splits: Dict[str, List[str]] = {"train": [], "val": [], "test": []}
    n = videos_per_class
    sizes = {name: (max(1, round(f * n)) if n >= 3 else 0) for name, f in
             SPLIT_FRACTIONS.items()}
    for cls in classes:
        order = _rng(seed, cls.motion, "split").permutation(n)
        test = set(order[:sizes["test"]].tolist())
        val = set(order[sizes["test"]:sizes["test"] + sizes["val"]].tolist())
        for i in range(n):
            split = "test" if i in test else "val" if i in val else "train"
            splits[split].append(f"{cls.name}_{i:03d}")
    return splits


def make_demo_dataset(out_dir: Union[str, Path], *, seed: int = 0, videos_per_class: int = 20,
                      num_frames: FrameRange = (40, 56),
                      classes: Optional[Sequence[str]] = None, workers: Optional[int] = None,
                      crf: int = 23, preset: str = "veryfast",
                      progress: bool = False) -> Path:
    """Generate the demo dataset in ``out_dir``; return the path of annotations.pkl.

    ``num_frames`` is a fixed count or an inclusive (low, high) range drawn per video;
    ``classes`` picks a subset of :data:`CLASSES` by name (labels follow that order);
    ``workers`` processes render in parallel (default: all CPU cores). The same
    arguments always give the same annotation and the same video files.
    """
    chosen = select_classes(classes)
    _frame_range(num_frames)
    if videos_per_class < 1:
        raise DataPrepError(f"videos_per_class must be >= 1, got {videos_per_class}")
    out_dir = Path(out_dir)
    video_dir = out_dir / "videos"
    video_dir.mkdir(parents=True, exist_ok=True)
    jobs = [_Job(cls, label, i, seed, num_frames, video_dir, crf, preset)
            for label, cls in enumerate(chosen) for i in range(videos_per_class)]
    workers = min(len(jobs), workers or os.cpu_count() or 1)
    annotations = _run(jobs, workers, progress)
    ann_file = out_dir / "annotations.pkl"
    write_annotation_file(ann_file, [_canonical(a) for a in annotations],
                          make_splits(chosen, videos_per_class, seed))
    (out_dir / "labels.txt").write_text("".join(c.name + "\n" for c in chosen))
    return ann_file


def _canonical(annotation: Dict) -> Dict:
    """The same annotation built from fresh objects in a fixed way.

    Pickle output depends on which objects are shared (it writes a shared one once and
    refers back to it), and results coming back from worker processes share less than
    ones made here (dtypes, tuples). Rebuilding makes the file's bytes independent of
    ``workers``.
    """
    out = {key: annotation[key] for key in ANNOTATION_KEYS}
    for key in ("img_shape", "original_shape"):
        out[key] = (int(annotation[key][0]), int(annotation[key][1]))
    for key in ("keypoint", "keypoint_score"):  # Unpickled arrays carry their own dtype.
        out[key] = np.empty(annotation[key].shape, np.float32)
        out[key][...] = annotation[key]
    return out


def _run(jobs: List[_Job], workers: int, progress: bool) -> List[Dict]:
    """Make every video, in order, here or in a process pool."""
    bar = tqdm(total=len(jobs), unit="video", disable=None if progress else True)  # None: on a tty only
    results = []
    if workers <= 1:
        for job in jobs:
            results.append(_make_one(job))
            bar.update(1)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for annotation in pool.map(_make_one, jobs):
                results.append(annotation)
                bar.update(1)
    bar.close()
    return results
