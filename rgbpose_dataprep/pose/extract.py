"""Many videos in, one annotation file out: caching, failures and assembly.

Each finished video is saved at once as ``<out>.parts/<frame_dir>.pkl``. A rerun reuses
a part when it was made from the same file (size and modification time) with the same
backend settings, so an interrupted or partly failed run resumes where it stopped. A
video that fails is reported and skipped; the others go on. The annotation file is
then assembled from the parts of the requested videos: labels and splits are applied
only at that point, so changing them costs no pose extraction.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from tqdm import tqdm

from rgbpose_plugin.data.annotations import write_annotation_file
from rgbpose_plugin.fileio import atomic_pickle

from .annotate import annotate_video
from .base import PoseBackend

__all__ = [
    "VIDEO_EXTENSIONS",
    "ExtractionResult",
    "find_videos",
    "check_labels_cover",
    "check_labelled_videos_exist",
    "parts_dir",
    "extract_annotations",
    "assemble_annotations",
]

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")
_PART_FORMAT = 2  # Bump when the part layout changes, so old parts are recomputed.


@dataclass
class ExtractionResult:
    """What :func:`extract_annotations` did; ``failed`` maps a video path to its error."""

    out: Path
    num_annotations: int = 0
    extracted: List[str] = field(default_factory=list)
    reused: List[str] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """A few lines for people: counts, then one line per failed video."""
        lines = [
            f"{self.out}: {self.num_annotations} videos annotated "
            f"({len(self.extracted)} extracted, {len(self.reused)} reused from "
            f"{parts_dir(self.out)}), {len(self.failed)} failed"
        ]
        lines += [f"  FAILED {path}: {message}" for path, message in self.failed.items()]
        if self.failed:
            lines.append("  Fix or remove these videos and rerun: finished videos are reused.")
        return "\n".join(lines)


def find_videos(paths: Iterable[Union[str, Path]], recursive: bool = False) -> List[Path]:
    """Video files named directly or found in directories (by extension, sorted).

    Raises ``FileNotFoundError`` for a missing path and ``ValueError`` when nothing is
    found or two videos share a stem (the stem becomes the unique ``frame_dir``).
    """
    videos: List[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            found = sorted(
                p for p in path.glob(pattern)
                if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
            )
            if not found:
                raise ValueError(f"{path}: no video files ({', '.join(VIDEO_EXTENSIONS)})")
            videos += found
        elif path.is_file():
            videos.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    by_stem: Dict[str, Path] = {}
    for video in videos:
        if video.stem in by_stem and by_stem[video.stem] != video:
            raise ValueError(
                f"{by_stem[video.stem]} and {video} share the name {video.stem!r}, which "
                f"must be unique (it becomes frame_dir); rename one"
            )
        by_stem[video.stem] = video
    return list(by_stem.values())


def parts_dir(out: Union[str, Path]) -> Path:
    """Where the per-video results of the annotation file ``out`` are cached."""
    return Path(f"{out}.parts")


def extract_annotations(
    videos: Sequence[Union[str, Path]],
    out: Union[str, Path],
    backend: PoseBackend,
    *,
    labels: Optional[Dict[str, int]] = None,
    splits: Optional[Dict[str, List[str]]] = None,
    max_persons: int = 2,
    min_iou: float = 0.1,
    progress: bool = True,
) -> ExtractionResult:
    """Extract skeletons for ``videos`` and write the annotation file ``out``.

    ``labels`` maps each video stem to its class index; without it every label is -1
    (fine for inference, not for training). When given, it must cover every video:
    a missing one is an error before any work starts. ``splits`` maps split names to
    stems (default: one split ``"all"``); failed videos are left out of every split.
    The file is written even when some videos fail; check ``result.failed``.
    """
    videos = [Path(v) for v in videos]
    out = Path(out)
    check_labels_cover(videos, labels)
    result = ExtractionResult(out)
    cache_key = _cache_key(backend, max_persons, min_iou)
    parts = parts_dir(out)
    parts.mkdir(parents=True, exist_ok=True)

    annotations = []
    bar = tqdm(videos, desc="videos", unit="video", disable=None if progress else True)  # None: on a tty only
    for video in bar:
        part = parts / f"{video.stem}.pkl"
        ann = _load_part(part, video, cache_key)
        if ann is not None:
            result.reused.append(video.stem)
        else:
            try:
                ann = annotate_video(
                    video, backend, max_persons=max_persons, min_iou=min_iou, progress=progress
                )
            except Exception as err:  # One bad video must not stop the others.
                result.failed[str(video)] = f"{type(err).__name__}: {err}"
                tqdm.write(f"FAILED {video}: {err}")
                bar.set_postfix(failed=len(result.failed))
                continue
            _save_part(part, video, cache_key, ann)
            result.extracted.append(video.stem)
        annotations.append(ann)
    bar.close()

    result.num_annotations = assemble_annotations(out, annotations, [v.stem for v in videos],
                                                  labels=labels, splits=splits)
    return result


def assemble_annotations(out: Union[str, Path], annotations: Sequence[Dict[str, Any]],
                         stems: Sequence[str], *, labels: Optional[Dict[str, int]] = None,
                         splits: Optional[Dict[str, List[str]]] = None) -> int:
    """Write the annotation file ``out`` from finished ``annotations``; return their number.

    Labels and splits are applied only here, so that every source of annotations (pose
    extraction, imported skeletons) labels and splits them alike: ``labels`` maps
    ``frame_dir`` to its class (None: -1), ``splits`` maps split names to stems (None: one
    split ``"all"`` of ``stems``), and stems without an annotation (failed) are left out.
    """
    annotations = [dict(ann, label=labels[ann["frame_dir"]] if labels is not None else -1)
                   for ann in annotations]
    done = {ann["frame_dir"] for ann in annotations}
    split = splits if splits is not None else {"all": list(stems)}
    split = {name: [s for s in names if s in done] for name, names in split.items()}
    write_annotation_file(out, annotations, split)
    return len(annotations)


def check_labels_cover(videos: Sequence[Union[str, Path]], labels: Optional[Dict[str, int]]):
    """Raise ``ValueError`` listing the videos that ``labels`` (when given) lacks."""
    if labels is None:
        return
    missing = [Path(v).stem for v in videos if Path(v).stem not in labels]
    if missing:
        raise ValueError(
            f"{len(missing)} videos have no label in the labels CSV: {missing[:10]}"
            + (" ..." if len(missing) > 10 else "")
        )


def _cache_key(backend: PoseBackend, max_persons: int, min_iou: float) -> Dict[str, Any]:
    return {
        "format": _PART_FORMAT,
        "backend": backend.name or type(backend).__name__,
        "settings": dict(backend.settings),
        "max_persons": max_persons,
        "min_iou": min_iou,
    }


def _source_stamp(video: Path) -> Dict[str, Any]:
    stat = video.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _load_part(part: Path, video: Path, cache_key: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The cached annotation if it is still valid for this video and these settings."""
    if not part.is_file() or not video.is_file():
        return None
    try:
        with open(part, "rb") as f:
            saved = pickle.load(f)
    except Exception:  # A damaged cache file is recomputed, not fatal.
        return None
    if saved.get("key") != cache_key or saved.get("source") != _source_stamp(video):
        return None
    return saved["annotation"]


def _save_part(part: Path, video: Path, cache_key: Dict[str, Any], ann: Dict[str, Any]):
    atomic_pickle(part, {"key": cache_key, "source": _source_stamp(video), "annotation": ann},
                  protocol=pickle.HIGHEST_PROTOCOL)


def check_labelled_videos_exist(videos: Sequence[Union[str, Path]], labelled: Iterable[str],
                                csv_path: Union[str, Path]) -> None:
    """Raise ``ValueError`` naming the rows of the labels CSV whose video (matched by file
    stem) is not among ``videos``: a typo or a missing file would otherwise silently
    shrink the dataset."""
    found = {Path(v).stem for v in videos}
    missing = sorted(stem for stem in labelled if stem not in found)
    if missing:
        raise ValueError(
            f"labels CSV {str(csv_path)!r} names {len(missing)} video(s) not found among the "
            f"input videos (matched by file stem, extensions {', '.join(VIDEO_EXTENSIONS)}): "
            f"{missing[:10]}" + (" ..." if len(missing) > 10 else "")
            + "; fix the 'video' column, add the videos, or remove the rows")
