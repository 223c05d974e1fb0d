"""Single-person pose with MediaPipe Pose: offline, CPU only, ~25 ms a 1080p frame.

It uses MediaPipe's legacy ``solutions.pose`` API because the mediapipe wheel ships
that API's weights (``pose_landmark_full.tflite``, model complexity 1), while the newer
Tasks API ``PoseLandmarker`` needs a ``.task`` bundle that must be downloaded. Complexity
0 and 2 also need a download, so they only work where mediapipe can fetch them.

MediaPipe finds at most one person per frame, so its annotations have one person slot
(if its detection jumps to someone else, that person's frames fill the same slot). Its 33
landmarks are mapped to COCO-17 and its per-landmark visibility becomes the keypoint score.

Install: ``pip install --no-deps mediapipe==0.10.21`` plus
``pip install opencv-contrib-python-headless flatbuffers attrs "protobuf<7"``
(mediapipe's own dependency list would pull jax, a GUI OpenCV and numpy < 2).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from .base import FramePoses, PoseBackend, empty_poses
from .native_log import NativeLogFilter

__all__ = ["MEDIAPIPE_TO_COCO17", "MediaPipePoseBackend", "landmarks_to_coco17"]

# Index in MediaPipe's 33 landmarks of each COCO-17 joint (nose, eyes, ears, shoulders,
# elbows, wrists, hips, knees, ankles; left before right as in COCO).
MEDIAPIPE_TO_COCO17 = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]

# Weight file each model complexity needs, relative to the mediapipe package.
_MODEL_FILES = {
    0: "modules/pose_landmark/pose_landmark_lite.tflite",
    1: "modules/pose_landmark/pose_landmark_full.tflite",
    2: "modules/pose_landmark/pose_landmark_heavy.tflite",
}

_NATIVE_LOGS = NativeLogFilter()  # one per process: fd 2 is the process's

_INSTALL_HINT = (
    "the 'mediapipe' pose backend needs mediapipe: pip install --no-deps mediapipe==0.10.21 "
    "opencv-contrib-python-headless flatbuffers attrs 'protobuf<7' "
    "(see docs/data_preparation.md)"
)


@contextlib.contextmanager
def _native_stderr_silenced():
    """Point file descriptor 2 at /dev/null for a moment.

    MediaPipe's native code writes straight to the process's stderr: a harmless
    "'MessageFactory' object has no attribute 'GetPrototype'" line at import (with
    protobuf >= 5), then TFLite and graph-start warnings when a graph runs its first
    frame. Silencing just those moments keeps the progress bars readable; Python-level
    errors still raise normally.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _import_mediapipe():
    try:
        with _native_stderr_silenced():
            import mediapipe
    except ImportError as err:
        raise ImportError(f"{_INSTALL_HINT} ({err})") from err
    return mediapipe


def landmarks_to_coco17(xyv: np.ndarray, width: int, height: int) -> FramePoses:
    """Convert 33 MediaPipe landmarks ``[33, 3]`` (x, y normalised; visibility) to one
    COCO-17 person: keypoints ``[1, 17, 2]`` in pixels, scores ``[1, 17]``."""
    xyv = np.asarray(xyv, dtype=np.float32)
    if xyv.shape != (33, 3):
        raise ValueError(f"expected 33 MediaPipe landmarks as [33, 3], got {xyv.shape}")
    picked = xyv[MEDIAPIPE_TO_COCO17]
    keypoints = picked[:, :2] * np.array([width, height], dtype=np.float32)
    scores = np.clip(picked[:, 2], 0.0, 1.0)
    return keypoints[None], scores[None]


class MediaPipePoseBackend(PoseBackend):
    """MediaPipe Pose (``solutions.pose``), one person per frame.

    In video mode (the default) MediaPipe tracks the person from frame to frame and
    smooths the landmarks; :meth:`reset` starts afresh for each video.
    ``static_image_mode=True`` detects in every frame independently (slower).
    """

    name = "mediapipe"
    single_person = True

    def __init__(
        self,
        model_complexity: int = 1,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        smooth_landmarks: bool = True,
        static_image_mode: bool = False,
        device: str = "cpu",
    ) -> None:
        super().__init__()
        if device != "cpu":
            raise ValueError(f"the mediapipe pose backend runs on the CPU only, not {device!r}")
        mediapipe = _import_mediapipe()
        self._check_weights_shipped(mediapipe, model_complexity)
        self.settings = dict(
            model_complexity=model_complexity,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
            smooth_landmarks=smooth_landmarks,
            static_image_mode=static_image_mode,
            mediapipe_version=getattr(mediapipe, "__version__", "?"),
        )
        self._started = False  # Whether the graph has run since the last reset.
        _NATIVE_LOGS.start()  # until close(): drop the graph threads' info/warning lines
        try:
            self._pose = self._build_graph(mediapipe)
        except BaseException:
            _NATIVE_LOGS.stop()
            raise

    def _build_graph(self, mediapipe):
        with warnings.catch_warnings(), _native_stderr_silenced():
            # mediapipe 0.10.21 calls protobuf APIs that protobuf 6 marks deprecated
            # and protobuf 7 removed.
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                return mediapipe.solutions.pose.Pose(
                    **{k: v for k, v in self.settings.items() if k != "mediapipe_version"})
            except AttributeError as err:
                raise RuntimeError(
                    f"mediapipe failed to build its pose graph ({err}); mediapipe 0.10.21 "
                    f"needs protobuf < 7: pip install 'protobuf<7'"
                ) from err

    @staticmethod
    def _check_weights_shipped(mediapipe, model_complexity: int) -> None:
        if model_complexity not in _MODEL_FILES:
            raise ValueError(f"model_complexity must be 0, 1 or 2, got {model_complexity!r}")
        weights = Path(mediapipe.__file__).parent / _MODEL_FILES[model_complexity]
        if not weights.is_file():
            # MediaPipe would try to download it; say so instead of failing deep inside.
            raise FileNotFoundError(
                f"mediapipe model_complexity={model_complexity} needs {weights}, which this "
                f"mediapipe install lacks and would have to download; use model_complexity=1 "
                f"(shipped in the wheel) or fetch the file"
            )

    def __call__(self, frame_rgb: np.ndarray) -> FramePoses:
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
            raise ValueError(
                f"mediapipe backend expects an H x W x 3 uint8 RGB frame, "
                f"got {frame_rgb.shape} {frame_rgb.dtype}"
            )
        frame_rgb = np.ascontiguousarray(frame_rgb)
        if self._started:
            result = self._pose.process(frame_rgb)
        else:
            with _native_stderr_silenced():  # Graph-start warnings come with frame 1.
                result = self._pose.process(frame_rgb)
            self._started = True
        if result.pose_landmarks is None:
            return empty_poses()
        xyv = np.array(
            [(lm.x, lm.y, lm.visibility) for lm in result.pose_landmarks.landmark],
            dtype=np.float32,
        )
        height, width = frame_rgb.shape[:2]
        return landmarks_to_coco17(xyv, width, height)

    def reset(self) -> None:
        with _native_stderr_silenced():  # Restarting the graph logs the start warnings.
            self._pose.reset()
        self._started = False

    def close(self) -> None:
        try:
            with _native_stderr_silenced():  # Closing an unused graph logs the start warnings.
                self._pose.close()
        finally:
            _NATIVE_LOGS.stop()
