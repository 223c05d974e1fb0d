"""Skeleton files of another tool in, the annotation file training reads out.

Every format's reader gives per-frame COCO-17 poses (:class:`~.base.Skeletons`); the
rest is shared: the checks against the video (frame count, size, normalised
coordinates, NaN, keypoints far outside the frame), person slots (tracked with
:class:`~rgbpose_dataprep.pose.tracking.PoseTracker` unless the format keeps them), and
the annotation file, labelled and split by the same code as ``tools/extract_pose.py``.

A file that cannot be imported is reported and skipped (``ImportResult.failed``); the
others go on. What can be repaired or may be intended (NaN values, keypoints outside the
frame) is imported and reported in ``ImportResult.warnings``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from tqdm import tqdm

from rgbpose_dataprep.pose.base import NUM_KEYPOINTS
from rgbpose_dataprep.pose.extract import assemble_annotations
from rgbpose_dataprep.pose.tracking import PoseTracker
from rgbpose_plugin.errors import listed
from rgbpose_plugin.fileio import probe_video as probe_fileio

from .base import SkeletonReader, Skeletons, find_files
from .coco import CocoReader
from .mmpose import MMPoseReader
from .numpy_array import NumpyReader
from .openpose import OpenPoseReader
from .rtmlib import RtmlibReader

__all__ = ["FORMATS", "OUTSIDE_MARGIN", "VideoInfo", "ImportResult", "create_reader", "find_sources",
           "probe_video", "convert_skeletons", "import_skeletons"]

logger = logging.getLogger(__name__)

FORMATS: Dict[str, Callable[..., SkeletonReader]] = {
    "coco": CocoReader, "openpose": OpenPoseReader, "mmpose": MMPoseReader,
    "rtmlib": RtmlibReader, "numpy": NumpyReader,
}
# Keypoints further outside the frame than this fraction of its size are reported: a
# little outside is normal (a hand leaving the picture), much more means wrong units.
OUTSIDE_MARGIN = 0.1


@dataclass
class VideoInfo:
    """What the container header says: ``frames`` (0 when it does not say) and size."""

    path: Path
    frames: int
    width: int
    height: int


@dataclass
class ImportResult:
    """What :func:`import_skeletons` did; ``failed`` maps a skeleton file to its error."""

    out: Path
    num_annotations: int = 0
    imported: List[str] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """A few lines for people: counts, then one line per warning and per failure."""
        lines = [f"{self.out}: {self.num_annotations} videos imported, "
                 f"{len(self.failed)} failed, {len(self.warnings)} warnings"]
        lines += [f"  WARNING {message}" for message in self.warnings]
        lines += [f"  FAILED {path}: {message}" for path, message in self.failed.items()]
        if self.failed:
            lines.append("  Fix or remove these files and rerun.")
        return "\n".join(lines)


def create_reader(name: str, frame_offset: Optional[int] = None) -> SkeletonReader:
    """The reader of ``--format name``; ``frame_offset`` for the formats with frame ids."""
    if name not in FORMATS:
        raise KeyError(f"unknown skeleton format {name!r}; choose one of {sorted(FORMATS)}")
    if frame_offset is not None and name in ("coco", "mmpose"):
        return FORMATS[name](frame_offset=frame_offset)
    if frame_offset is not None:
        raise ValueError(f"--frame-offset applies to --format coco or mmpose, not {name}")
    return FORMATS[name]()


def find_sources(inputs: Sequence[Union[str, Path]], reader: SkeletonReader,
                 recursive: bool = False) -> Dict[str, List[Path]]:
    """``{video stem: its skeleton files}`` under ``inputs``; a stem found twice is an error
    (it becomes the unique ``frame_dir``)."""
    return reader.group(find_files(inputs, reader.suffix, recursive))


def probe_video(path: Union[str, Path]) -> VideoInfo:
    """Frame count (counted by demuxing, as the data loader counts them) and size; no frame
    is decoded."""
    probe = probe_fileio(path)
    return VideoInfo(Path(path), probe.frames, probe.width, probe.height)


def convert_skeletons(stem: str, paths: List[Path], reader: SkeletonReader, *,
                      video: Optional[VideoInfo] = None, size: Optional[Tuple[int, int]] = None,
                      max_persons: int = 2, min_iou: float = 0.1,
                      warn: Callable[[str], None] = logger.warning) -> Dict[str, Any]:
    """The annotation entry (as ``annotate_video`` makes it) of one video's skeleton
    files. ``video`` is checked against; ``size`` (W, H), when given, is the size the
    keypoints were measured on (else the video's); repairs and oddities go to ``warn``;
    what makes the file unusable raises."""
    src = _name(paths)
    size = _frame_size(src, video, size, warn)
    skeletons = reader.read(paths)
    frames = _fit_frame_count(src, skeletons, video)
    _repair_nan(frames, paths, warn)
    _scale_if_normalised(src, frames, size, warn)
    if size is None:
        raise ValueError(f"{src}: the frame size (img_shape) is unknown; give --videos DIR "
                         f"(the videos) or --size WxH")
    _report_outside(frames, paths, size, warn)
    if skeletons.tracked:
        keypoint, keypoint_score = _ranked_slots(frames, max_persons)
    else:
        tracker = PoseTracker(min_iou=min_iou)
        for kps, scores in frames:
            tracker.update(kps, scores)
        keypoint, keypoint_score = tracker.result(max_persons)
    shape = (size[1], size[0])
    return {"frame_dir": stem, "label": -1, "img_shape": shape, "original_shape": shape,
            "total_frames": len(frames), "keypoint": keypoint, "keypoint_score": keypoint_score}


def _name(paths: List[Path]) -> str:
    if len(paths) == 1:
        return str(paths[0])
    return f"{paths[0]} (+{len(paths) - 1} frame files)"


def _where(paths: List[Path], frames: Sequence[int]) -> str:
    """``<file>, frame(s) 3, 7`` (one file) or ``<frame files>`` (one file per frame)."""
    if len(paths) == 1:
        return f"{paths[0]}, frame(s) {listed([str(f) for f in frames])}"
    return listed([str(paths[f]) for f in frames])


def _frame_size(src: str, video: Optional[VideoInfo], size: Optional[Tuple[int, int]],
                warn: Callable[[str], None]) -> Optional[Tuple[int, int]]:
    """The size the keypoints were measured on (``img_shape``): ``size`` when given (the
    videos may have been re-encoded smaller since; training rescales per axis), else the
    video's. A ``size`` of another aspect ratio than the video is reported."""
    if video is None or size is None:
        return size if size is not None else (video.width, video.height) if video else None
    if abs(size[0] / size[1] - video.width / video.height) > 0.01 * video.width / video.height:
        warn(f"{src}: --size {size[0]}x{size[1]} has another aspect ratio than the video "
             f"{video.path} ({video.width}x{video.height}); keypoints will be stretched")
    return tuple(size)


def _fit_frame_count(src: str, skeletons: Skeletons, video: Optional[VideoInfo]) -> list:
    """The frames, as many as the video has; more frames than the video, or (files that
    give every frame) fewer, is an error naming both numbers."""
    frames = list(skeletons.frames)
    if video is None or video.frames <= 0:
        if not frames:
            raise ValueError(f"{src}: no frames of skeletons")
        return frames
    num, expected = len(frames), video.frames
    if num > expected:
        raise ValueError(f"{src}: {num} frames of skeletons but the video {video.path} has "
                         f"{expected} frames; frame {expected} and later are beyond the "
                         f"video's length (wrong video, or --frame-offset?)")
    if num < expected and skeletons.dense:
        raise ValueError(f"{src}: {num} frames of skeletons but the video {video.path} has "
                         f"{expected} frames; export the skeletons of every frame")
    empty = (np.zeros((0, NUM_KEYPOINTS, 2), np.float32), np.zeros((0, NUM_KEYPOINTS), np.float32))
    return frames + [empty] * (expected - num)


def _repair_nan(frames: list, paths: List[Path], warn: Callable[[str], None]) -> None:
    """NaN or infinite keypoints become score 0 at (0, 0), reported by frame."""
    bad = []
    for t, (kps, scores) in enumerate(frames):
        broken = ~np.isfinite(kps).all(axis=-1) | ~np.isfinite(scores)
        if broken.any():
            bad.append(t)
            kps[broken] = 0.0
            scores[broken] = 0.0
    if bad:
        warn(f"{_where(paths, bad)}: NaN or infinite keypoints (imported with score 0)")


def _seen(frames: list) -> np.ndarray:
    """``[N, 2]`` the keypoints with a positive score, of every frame."""
    points = [kps[scores > 0] for kps, scores in frames if len(kps)]
    return np.concatenate(points) if points else np.zeros((0, 2), np.float32)


def _scale_if_normalised(src: str, frames: list, size: Optional[Tuple[int, int]],
                         warn: Callable[[str], None]) -> None:
    """Keypoints all within [0, 1] are fractions of the frame: scale them to pixels."""
    seen = _seen(frames)
    if not len(seen) or seen.min() < 0 or seen.max() > 1 or seen.max() == 0:
        return
    if size is None:
        raise ValueError(f"{src}: the keypoints are normalised (all within [0, 1]) and no "
                         f"frame size is known to scale them; give --videos DIR or --size WxH")
    scale = np.array(size, np.float32)
    for kps, _ in frames:
        kps *= scale
    warn(f"{src}: keypoints normalised (all within [0, 1]); scaled by {size[0]}x{size[1]}")


def _report_outside(frames: list, paths: List[Path], size: Tuple[int, int],
                    warn: Callable[[str], None]) -> None:
    w, h = size
    lo = np.array([-OUTSIDE_MARGIN * w, -OUTSIDE_MARGIN * h])
    hi = np.array([(1 + OUTSIDE_MARGIN) * w, (1 + OUTSIDE_MARGIN) * h])
    bad = [t for t, (kps, scores) in enumerate(frames)
           if len(kps) and ((kps < lo) | (kps > hi)).any(axis=-1)[scores > 0].any()]
    if bad:
        warn(f"{_where(paths, bad)}: keypoints outside the {w}x{h} frame by more than "
             f"{OUTSIDE_MARGIN:.0%} (wrong video or units?)")


def _ranked_slots(frames: list, max_persons: int) -> Tuple[np.ndarray, np.ndarray]:
    """Kept slots (``[M, T, ...]``) of already-tracked frames: best total score first."""
    keypoint = np.stack([kps for kps, _ in frames], axis=1).astype(np.float32)
    score = np.stack([sc for _, sc in frames], axis=1).astype(np.float32)
    order = np.argsort(-score.sum(axis=(1, 2)), kind="stable")[:max(max_persons, 1)]
    if not len(order):  # no person slot at all: one empty person, as the tracker gives
        return (np.zeros((1, len(frames), NUM_KEYPOINTS, 2), np.float32),
                np.zeros((1, len(frames), NUM_KEYPOINTS), np.float32))
    return keypoint[order], score[order]


def import_skeletons(sources: Dict[str, List[Path]], out: Union[str, Path],
                     reader: SkeletonReader, *, videos: Optional[Dict[str, Path]] = None,
                     size: Optional[Tuple[int, int]] = None,
                     labels: Optional[Dict[str, int]] = None,
                     splits: Optional[Dict[str, List[str]]] = None, max_persons: int = 2,
                     min_iou: float = 0.1, progress: bool = True) -> ImportResult:
    """Convert every video's skeleton files (``{stem: files}``) and write the annotation
    file ``out``, labelled and split as ``tools/extract_pose.py`` does. ``videos`` (stem ->
    video file, when given) are checked against; failures are listed in the result, and
    nothing is written when no file could be imported."""
    result = ImportResult(Path(out))
    annotations = []
    for stem, paths in tqdm(sources.items(), desc="skeletons", unit="video",
                            disable=None if progress else True):
        try:
            video = _video_of(stem, paths, videos)
            annotations.append(convert_skeletons(stem, paths, reader, video=video, size=size,
                                                 max_persons=max_persons, min_iou=min_iou,
                                                 warn=result.warnings.append))
        except Exception as err:  # One bad file must not stop the others.
            plain = isinstance(err, ValueError)  # our messages; others need their type
            result.failed[_name(paths)] = str(err) if plain else f"{type(err).__name__}: {err}"
            continue
        result.imported.append(stem)
    if annotations:  # Nothing imported: an older file at ``out`` is left as it was.
        result.num_annotations = assemble_annotations(out, annotations, list(sources),
                                                      labels=labels, splits=splits)
    return result


def _video_of(stem: str, paths: List[Path], videos: Optional[Dict[str, Path]]) -> Optional[VideoInfo]:
    if videos is None:
        return None
    if stem not in videos:
        raise ValueError(f"{_name(paths)}: no video named {stem!r} among --videos (matched by "
                         f"file stem); add it or remove these skeletons")
    return probe_video(videos[stem])
