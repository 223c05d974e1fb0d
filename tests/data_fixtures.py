"""Synthetic videos, skeletons and annotation files for the data-pipeline tests."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import av
import numpy as np

# A standing COCO-17 figure in a unit box (x right, y down): nose, eyes, ears,
# shoulders, elbows, wrists, hips, knees, ankles.
_UNIT_SKELETON = np.array([
    [0.50, 0.08], [0.46, 0.05], [0.54, 0.05], [0.42, 0.07], [0.58, 0.07],
    [0.35, 0.22], [0.65, 0.22], [0.28, 0.40], [0.72, 0.40], [0.25, 0.55], [0.75, 0.55],
    [0.40, 0.55], [0.60, 0.55], [0.40, 0.77], [0.60, 0.77], [0.40, 0.98], [0.60, 0.98],
], dtype=np.float32)


def skeleton_track(num_frames: int, box: Tuple[float, float, float, float],
                   drift: Tuple[float, float] = (0.0, 0.0), seed: int = 0) -> np.ndarray:
    """``(T, 17, 2)`` keypoints of a figure filling ``box`` (x0, y0, x1, y1), drifting by
    ``drift`` pixels per frame, with a little jitter."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = box
    base = _UNIT_SKELETON * np.array([x1 - x0, y1 - y0], np.float32) + np.array([x0, y0])
    steps = np.arange(num_frames, dtype=np.float32)[:, None, None] * np.array(drift)
    jitter = rng.normal(0, 1.0, (num_frames, 17, 2))
    return (base[None] + steps + jitter).astype(np.float32)


def make_annotation(frame_dir: str, num_frames: int, img_shape: Tuple[int, int],
                    num_persons: int = 2, label: int = 0, seed: int = 0) -> Dict:
    """A pyskl/mmaction2-style annotation with ``num_persons`` plausible skeletons."""
    h, w = img_shape
    tracks, scores = [], []
    rng = np.random.default_rng(seed)
    for p in range(num_persons):
        cx = w * (0.3 + 0.4 * p / max(num_persons - 1, 1))
        box = (cx - 0.12 * w, 0.2 * h, cx + 0.12 * w, 0.9 * h)
        tracks.append(skeleton_track(num_frames, box, (0.5, 0.0), seed + p))
        scores.append(rng.uniform(0.3, 1.0, (num_frames, 17)).astype(np.float32))
    return {
        "frame_dir": frame_dir, "label": label, "img_shape": (h, w), "original_shape": (h, w),
        "total_frames": num_frames, "keypoint": np.stack(tracks),
        "keypoint_score": np.stack(scores),
    }


def write_annotation_file(path: Path, annotations: Sequence[Dict],
                          splits: Optional[Dict[str, List[str]]] = None) -> Path:
    """Pickle ``{"split": ..., "annotations": ...}``; default split ``all`` lists every id."""
    splits = splits or {"all": [a["frame_dir"] for a in annotations]}
    with open(path, "wb") as f:
        pickle.dump({"split": splits, "annotations": list(annotations)}, f)
    return path


def make_video(path: Path, width: int = 320, height: int = 180, num_frames: int = 40,
               fps: int = 30) -> Path:
    """An H.264 clip (libx264 defaults: B-frames, one keyframe) whose frames differ."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    background = np.stack([60 + 120 * xx / width, 80 + 100 * yy / height,
                           140 - 60 * xx / width], -1)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(num_frames):
            img = background.copy()
            cx = width * (0.2 + 0.6 * i / max(num_frames - 1, 1))
            cy = height * (0.5 + 0.2 * np.sin(i / 5))
            inside = ((xx - cx) / (0.08 * width)) ** 2 + ((yy - cy) / (0.25 * height)) ** 2 < 1
            img[inside] = (220, 40 + 4 * (i % 50), 60)
            frame = av.VideoFrame.from_ndarray(img.clip(0, 255).astype(np.uint8), "rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def all_frames(path: Path) -> List[np.ndarray]:
    """Every frame of ``path`` as RGB, by a plain full decode (the test oracle)."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def make_dotted_video(path: Path, keypoint: np.ndarray, width: int, height: int,
                      fps: int = 30) -> Path:
    """A dark clip with a white dot (radius 3) on every joint of ``keypoint`` (T, V, 2,
    video pixels): the frames show where the skeleton is."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for joints in keypoint:
            img = np.full((height, width, 3), 30, np.uint8)
            for x, y in joints:
                img[(xx - x) ** 2 + (yy - y) ** 2 <= 9] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, "rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
