"""What every skeleton reader shares: the frames it returns, how it finds its files, and
the message for a file of another format.

A reader turns the files of one video into :class:`Skeletons`: per frame the people
seen, as COCO-17 keypoints and scores (the shape the pose backends give), so that the
checks, tracking and the annotation file (:mod:`.convert`) are the same for every
format. A reader only parses; it never decides what is plausible.
"""

from __future__ import annotations

import abc
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Sequence, Tuple, Union

import numpy as np

from rgbpose_dataprep.pose.base import NUM_KEYPOINTS, FramePoses, empty_poses

__all__ = ["NUM_KEYPOINTS", "Skeletons", "SkeletonReader", "SkeletonFormatError", "load_json",
           "guess_json_format", "not_format", "poses_from_xyc"]


class SkeletonFormatError(ValueError):
    """A file that is not what ``--format`` says, or a malformed one; the message names
    the file and the first field that does not fit."""


@dataclass
class Skeletons:
    """The skeletons of one video.

    ``frames[t]`` is ``(keypoints [P, 17, 2], scores [P, 17])`` (P may differ per frame).
    ``tracked``: person ``p`` is the same person in every frame (its slot is kept, no
    tracking). ``dense``: the files give every frame, so their count must equal the
    video's; otherwise (frame indices, e.g. COCO ``image_id``) frames after the last one
    given are empty.
    """

    frames: List[FramePoses] = field(default_factory=list)
    tracked: bool = False
    dense: bool = True


def poses_from_xyc(values: Sequence[float], num_joints: int, where: str) -> np.ndarray:
    """``[num_joints, 3]`` (x, y, confidence) from a flat ``x0, y0, c0, x1, ...`` list."""
    flat = np.asarray(values, np.float32).reshape(-1)
    if flat.size != 3 * num_joints:
        raise SkeletonFormatError(f"{where}: expected {3 * num_joints} numbers (x, y, score "
                                  f"for {num_joints} joints), found {flat.size}")
    return flat.reshape(num_joints, 3)


def sparse_frames(by_frame: Dict[int, List[Tuple[np.ndarray, np.ndarray]]]) -> List[FramePoses]:
    """Per-frame poses from ``{frame index: [(kps [17, 2], scores [17]), ...]}``; frames
    that no entry names are empty."""
    if not by_frame:
        return []
    frames = [empty_poses() for _ in range(max(by_frame) + 1)]
    for index, people in by_frame.items():
        if people:
            frames[index] = (np.stack([k for k, _ in people]).astype(np.float32),
                             np.stack([s for _, s in people]).astype(np.float32))
    return frames


def load_json(path: Path) -> Any:
    """The parsed JSON of ``path``; a parse error names the file."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise SkeletonFormatError(f"{path} is not valid JSON: {err}") from err


# A field that only one format has -> that format's --format name.
_JSON_MARKERS = (("people", "openpose"), ("pose_keypoints_2d", "openpose"),
                 ("instance_info", "mmpose"), ("instances", "mmpose"),
                 ("frame_id", "mmpose"), ("image_id", "coco"), ("keypoints", "coco"))


def guess_json_format(data: Any) -> str:
    """The ``--format`` a parsed JSON looks like ("" when none fits): for the hint of
    :func:`not_format`."""
    sample = data[0] if isinstance(data, list) and data else data
    if not isinstance(sample, dict):
        return ""
    for key, name in _JSON_MARKERS:
        if key in sample:
            return name
    return ""


def not_format(path: Path, what: str, problem: str, data: Any, this: str) -> SkeletonFormatError:
    """``"<path> is not <what>: <problem>"`` plus a hint at the format it looks like."""
    guess = guess_json_format(data)
    hint = f": is it --format {guess}?" if guess and guess != this else ""
    return SkeletonFormatError(f"{path} is not {what}: {problem}{hint}")


def found_keys(entry: Any) -> str:
    """``(found 'a', 'b')`` for a message, or the type when ``entry`` is no dict."""
    if isinstance(entry, dict):
        return "(found " + ", ".join(repr(k) for k in list(entry)[:5]) + ")"
    return f"(found a {type(entry).__name__})"


class SkeletonReader(abc.ABC):
    """One skeleton format: which files belong to which video, and how to read them.

    Subclasses set ``name`` (the ``--format`` value) and ``suffix`` (the file ending
    searched in folders), and implement :meth:`read`. One file per video is the default
    (the video's stem is the file's); formats with one file per frame override
    :meth:`group`.
    """

    name: str = ""
    suffix: str = ".json"

    def group(self, files: Iterable[Path]) -> Dict[str, List[Path]]:
        """``{video stem: its files in frame order}``."""
        sources: Dict[str, List[Path]] = {}
        for path in sorted(files):
            if path.stem in sources:
                raise SkeletonFormatError(
                    f"{sources[path.stem][0]} and {path} are both skeletons of {path.stem!r}, "
                    f"which must be unique (it becomes frame_dir); rename or remove one")
            sources[path.stem] = [path]
        return sources

    @abc.abstractmethod
    def read(self, paths: List[Path]) -> Skeletons:
        """The skeletons in ``paths`` (one video's files, from :meth:`group`)."""


def find_files(inputs: Iterable[Union[str, Path]], suffix: str, recursive: bool) -> List[Path]:
    """The files named in ``inputs`` and those ending in ``suffix`` in its folders."""
    files: List[Path] = []
    for path in map(Path, inputs):
        if path.is_dir():
            found = sorted(p for p in path.glob("**/*" if recursive else "*")
                           if p.is_file() and p.name.lower().endswith(suffix))
            if not found:
                raise FileNotFoundError(f"{path}: no {suffix} files; check the folder and "
                                        f"--format")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    return files
