"""One video in, one annotation entry (docs/design.md section 3) out."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Union

from tqdm import tqdm

from rgbpose_plugin.fileio import VideoDecodeError, VideoFrames

from .base import PoseBackend, check_poses
from .tracking import PoseTracker

__all__ = ["annotate_video"]


def annotate_video(
    path: Union[str, Path],
    backend: PoseBackend,
    *,
    max_persons: int = 2,
    min_iou: float = 0.1,
    progress: bool = False,
) -> Dict[str, Any]:
    """Run ``backend`` on every frame of ``path`` and build its annotation entry.

    Returns a dict with ``frame_dir`` (the file's stem), ``label`` (-1: the caller sets
    it), ``img_shape`` and ``original_shape`` ((H, W) of the decoded frames),
    ``total_frames``, ``keypoint`` float32 ``M x T x 17 x 2`` (pixels) and
    ``keypoint_score`` float32 ``M x T x 17``; persons are ordered as
    :class:`~rgbpose_dataprep.pose.tracking.PoseTracker` orders them.
    """
    path = Path(path)
    frames = VideoFrames(path)
    backend.reset()
    if backend.single_person:  # One slot, every frame in it: nothing to track.
        max_persons, min_iou = 1, 0.0
    tracker = PoseTracker(min_iou=min_iou)
    shape = None
    backend_name = backend.name or type(backend).__name__
    bar = tqdm(
        frames, total=frames.frame_count_hint or None, desc=path.stem, unit="frame",
        leave=False, disable=None if progress else True,  # None: only on a terminal
    )
    with bar:  # Closed on errors too, so no stale bar is left on the terminal.
        for index, frame in enumerate(bar):
            if shape is None:
                shape = tuple(int(s) for s in frame.shape[:2])
            elif frame.shape[:2] != shape:
                raise VideoDecodeError(
                    f"{path}: frame {index} is {frame.shape[1]}x{frame.shape[0]} but the "
                    f"first frame was {shape[1]}x{shape[0]}; re-encode the video at one size"
                )
            poses = backend(frame)
            where = f"{backend_name} backend on {path}, frame {index}"
            tracker.update(*check_poses(*poses, where))

    keypoint, keypoint_score = tracker.result(max_persons)
    return {
        "frame_dir": path.stem,
        "label": -1,
        "img_shape": shape,
        "original_shape": shape,
        "total_frames": tracker.num_frames,
        "keypoint": keypoint,
        "keypoint_score": keypoint_score,
    }
