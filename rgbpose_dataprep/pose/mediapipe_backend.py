"""Pose with MediaPipe (BlazePose): offline, CPU only, up to ``num_poses`` persons a frame.

MediaPipe has two pose APIs, and the backend uses the one the installed mediapipe has:

* **Tasks** ``PoseLandmarker`` (all current mediapipe releases; the only one in
  mediapipe >= 0.10.30 and 1.x): finds up to ``num_poses`` persons (``--max-persons`` on
  the command line). Its model is a ``.task`` bundle that the wheel does not ship:
  ``task_model`` (``--mediapipe-model``) is a local file or a URL, else
  ``$RGBPOSE_MEDIAPIPE_MODEL``, else Google's published ``pose_landmarker_{lite,full,heavy}``
  bundle for ``model_complexity`` 0, 1 (the default) or 2 (:data:`TASK_MODEL_URLS`). A
  URL is fetched on first use into ``<torch hub dir>/checkpoints/mediapipe/`` and
  hash-checked at each use (:mod:`.model_files`; ``task_sha256`` pins the digest).
* **legacy** ``solutions.pose`` (mediapipe <= 0.10.21, whose wheel ships the
  ``pose_landmark_full.tflite`` weights): one person per frame.

``api="auto"`` (the default) takes the Tasks API where it imports and its model can be
had, and the legacy one otherwise (where installed); the choice and its reason are
logged in one line (logger ``rgbpose_dataprep.pose.mediapipe_backend``) and kept in
:attr:`MediaPipePoseBackend.choice`. ``api="tasks"`` / ``"legacy"`` force one.

The 33 landmarks of each person are mapped to COCO-17 and their visibility becomes the
keypoint score; persons keep their slots across frames through the shared tracking.

Install: ``pip install "rgbpose-plugin[mediapipe]"`` (a current mediapipe, Tasks API).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any, List, Optional

import numpy as np

from rgbpose_plugin.fileio import file_sha256

from .base import FramePoses, PoseBackend, empty_poses
from .model_files import fetch_model
from .native_log import NativeLogFilter

__all__ = ["MEDIAPIPE_TO_COCO17", "MediaPipePoseBackend", "TASK_MODEL_ENV", "TASK_MODEL_URLS",
           "landmarks_to_coco17", "resolve_task_model"]

logger = logging.getLogger(__name__)

# Index in MediaPipe's 33 landmarks of each COCO-17 joint (nose, eyes, ears, shoulders,
# elbows, wrists, hips, knees, ankles; left before right as in COCO).
MEDIAPIPE_TO_COCO17 = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]

# Legacy API: weight file each model complexity needs, relative to the mediapipe package.
_MODEL_FILES = {
    0: "modules/pose_landmark/pose_landmark_lite.tflite",
    1: "modules/pose_landmark/pose_landmark_full.tflite",
    2: "modules/pose_landmark/pose_landmark_heavy.tflite",
}

# Tasks API: Google's published PoseLandmarker bundles, per model complexity.
_TASK_ROOT = "https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
TASK_MODEL_URLS = {
    complexity: f"{_TASK_ROOT}pose_landmarker_{size}/float16/1/pose_landmarker_{size}.task"
    for complexity, size in ((0, "lite"), (1, "full"), (2, "heavy"))
}
TASK_MODEL_ENV = "RGBPOSE_MEDIAPIPE_MODEL"
_LOCAL_HINT = f"--mediapipe-model PATH or ${TASK_MODEL_ENV}=PATH"

# Tasks API in video mode: frames are given 1/30 s apart (as the legacy API assumes).
_FRAME_MS = 33

_NATIVE_LOGS = NativeLogFilter()  # one per process: fd 2 is the process's

_INSTALL_HINT = (
    "the 'mediapipe' pose backend needs mediapipe: pip install 'rgbpose-plugin[mediapipe]' "
    "(see docs/data_preparation.md)"
)


@contextlib.contextmanager
def _native_stderr_silenced():
    """Point file descriptor 2 at /dev/null for a moment.

    MediaPipe's native code writes straight to the process's stderr (protobuf notes at
    import, TFLite/LiteRT and graph-start lines when a model loads or a graph runs its
    first frame). Silencing just those moments keeps the progress bars readable;
    Python-level errors still raise normally.
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


def _import_api(module: str):
    """``(module, None)``, or ``(None, reason)`` when this mediapipe lacks it."""
    try:
        with warnings.catch_warnings(), _native_stderr_silenced():
            warnings.simplefilter("ignore", DeprecationWarning)
            return importlib.import_module(module), None
    except Exception as err:  # noqa: BLE001 - any failure means: not usable here
        return None, f"{type(err).__name__}: {err}"


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


def resolve_task_model(model: Optional[str] = None, sha256: Optional[str] = None,
                       model_complexity: int = 1, cache_dir: Optional[Path] = None):
    """``(source, local path)`` of the PoseLandmarker ``.task`` bundle: ``model`` (a file
    or URL), else ``$RGBPOSE_MEDIAPIPE_MODEL``, else :data:`TASK_MODEL_URLS` for
    ``model_complexity``; a URL is fetched once into the cache and hash-checked."""
    if model_complexity not in TASK_MODEL_URLS:
        raise ValueError(f"model_complexity must be 0, 1 or 2, got {model_complexity!r}")
    source = str(model or os.environ.get(TASK_MODEL_ENV) or TASK_MODEL_URLS[model_complexity])
    if "://" in source:
        return source, fetch_model(source, cache_dir=cache_dir, sha256=sha256,
                                   backend="mediapipe", local_hint=_LOCAL_HINT)
    path = Path(source).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"mediapipe backend: the .task model {source!r} is neither a "
                                f"file nor a URL")
    digest = file_sha256(path) if sha256 else None
    if digest and digest != sha256.lower():
        raise ValueError(f"mediapipe backend: {path} has SHA-256 {digest}, expected {sha256}")
    return source, path


class _TasksPose:
    """The Tasks ``PoseLandmarker`` behind a ``process(frame) -> [persons x [33, 3]]``."""

    def __init__(self, vision, tasks, model_path: Path, num_poses: int, video: bool,
                 min_detection_confidence: float, min_tracking_confidence: float) -> None:
        self._vision, self._image = vision, None
        self._options = vision.PoseLandmarkerOptions(
            base_options=tasks.BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_poses=num_poses,
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_tracking_confidence,
            min_tracking_confidence=min_tracking_confidence,
            output_segmentation_masks=False,
        )
        self._video = video
        self._landmarker = self._create()
        self._clock = 0  # ms of the next frame (video mode: strictly increasing)

    def _create(self):
        with _native_stderr_silenced():  # model-load lines of TFLite/LiteRT
            return self._vision.PoseLandmarker.create_from_options(self._options)

    def process(self, frame_rgb: np.ndarray) -> List[np.ndarray]:
        import mediapipe

        image = mediapipe.Image(image_format=mediapipe.ImageFormat.SRGB, data=frame_rgb)
        if self._video:
            result = self._landmarker.detect_for_video(image, self._clock)
            self._clock += _FRAME_MS
        else:
            result = self._landmarker.detect(image)
        return [np.array([(lm.x, lm.y, 0.0 if lm.visibility is None else lm.visibility)
                          for lm in person], dtype=np.float32)
                for person in result.pose_landmarks]

    def reset(self) -> None:
        if self._video and self._clock:  # a new landmarker forgets the tracked persons
            self._landmarker.close()
            self._landmarker = self._create()
            self._clock = 0

    def close(self) -> None:
        self._landmarker.close()


class _LegacyPose:
    """The legacy ``solutions.pose.Pose`` behind the same interface as :class:`_TasksPose`."""

    def __init__(self, pose_module, **settings: Any) -> None:
        with warnings.catch_warnings(), _native_stderr_silenced():
            # mediapipe 0.10.21 calls protobuf APIs that protobuf 6 marks deprecated
            # and protobuf 7 removed.
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                self._pose = pose_module.Pose(**settings)
            except AttributeError as err:
                raise RuntimeError(
                    f"mediapipe failed to build its legacy pose graph ({err}); mediapipe "
                    f"0.10.21 needs protobuf < 7: pip install 'protobuf<7'"
                ) from err

    def process(self, frame_rgb: np.ndarray) -> List[np.ndarray]:
        result = self._pose.process(frame_rgb)
        if result.pose_landmarks is None:
            return []
        return [np.array([(lm.x, lm.y, lm.visibility) for lm in result.pose_landmarks.landmark],
                         dtype=np.float32)]

    def reset(self) -> None:
        self._pose.reset()

    def close(self) -> None:
        self._pose.close()


class MediaPipePoseBackend(PoseBackend):
    """MediaPipe pose, Tasks ``PoseLandmarker`` or legacy ``solutions.pose`` (see the
    module's docstring for which).

    In video mode (the default) MediaPipe tracks persons from frame to frame and smooths
    the landmarks; :meth:`reset` starts afresh for each video. ``static_image_mode=True``
    detects in every frame independently (slower). ``num_poses`` is the most persons a
    frame gives (Tasks API; the legacy API finds one). ``smooth_landmarks`` applies to
    the legacy API only (the Tasks API always smooths in video mode).
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
        num_poses: int = 1,
        api: str = "auto",
        task_model: Optional[str] = None,
        task_sha256: Optional[str] = None,
    ) -> None:
        super().__init__()
        if device != "cpu":
            raise ValueError(f"the mediapipe pose backend runs on the CPU only, not {device!r}")
        if api not in ("auto", "tasks", "legacy"):
            raise ValueError(f"mediapipe backend: api must be auto, tasks or legacy, not {api!r}")
        if model_complexity not in _MODEL_FILES:
            raise ValueError(f"model_complexity must be 0, 1 or 2, got {model_complexity!r}")
        if int(num_poses) < 1:
            raise ValueError(f"mediapipe backend: num_poses must be >= 1, got {num_poses!r}")
        mediapipe = _import_mediapipe()
        common = dict(min_detection_confidence=min_detection_confidence,
                      min_tracking_confidence=min_tracking_confidence,
                      static_image_mode=static_image_mode,
                      mediapipe_version=getattr(mediapipe, "__version__", "?"))
        legacy_settings = dict(model_complexity=model_complexity,
                               smooth_landmarks=smooth_landmarks, **common)
        _NATIVE_LOGS.start()  # until close(): drop the graph threads' info/warning lines
        try:
            self._pose = self._choose(mediapipe, api, int(num_poses), task_model, task_sha256,
                                      common, legacy_settings)
        except BaseException:
            _NATIVE_LOGS.stop()
            raise
        self.single_person = self.settings["num_poses"] == 1
        self._started = False  # Whether the model has run since the last reset.
        logger.info(self.choice)

    def _choose(self, mediapipe, api, num_poses, task_model, task_sha256, common, legacy_settings):
        """Build the Tasks or legacy model; set ``settings`` and ``choice``."""
        version = common["mediapipe_version"]
        solutions, legacy_error = (None, "asked for the Tasks API") if api == "tasks" else \
            _import_api("mediapipe.python.solutions.pose")
        vision, tasks_error = (None, "asked for the legacy API") if api == "legacy" else \
            _import_api("mediapipe.tasks.python.vision")
        if vision is not None and not hasattr(vision, "PoseLandmarker"):
            vision, tasks_error = None, "no PoseLandmarker in mediapipe.tasks.python.vision"
        # Forced, named by the user or without a legacy API to fall back on: the Tasks
        # API's errors are raised as they are.
        strict = api == "tasks" or bool(task_model or os.environ.get(TASK_MODEL_ENV)) \
            or solutions is None
        if vision is not None:
            try:
                source, path = resolve_task_model(task_model, task_sha256,
                                                  legacy_settings["model_complexity"])
            except (OSError, ValueError) as err:
                if strict:
                    raise
                vision, tasks_error = None, f"{type(err).__name__}: {err}"
        if vision is not None:
            try:
                pose = _TasksPose(vision, importlib.import_module("mediapipe.tasks.python"), path,
                                  num_poses, not common["static_image_mode"],
                                  common["min_detection_confidence"],
                                  common["min_tracking_confidence"])
            except Exception as err:  # noqa: BLE001 - auto falls back to legacy below
                tasks_error = f"{type(err).__name__}: {err}".splitlines()[0]
                if strict:
                    raise RuntimeError(f"mediapipe {version}: the Tasks PoseLandmarker failed "
                                       f"on {source} ({tasks_error})") from err
            else:
                self.settings = dict(api="tasks", task_model=source, task_sha256=file_sha256(path),
                                     num_poses=num_poses, **common)
                self.choice = (f"mediapipe {version}: Tasks PoseLandmarker, up to {num_poses} "
                               f"person(s) a frame, model {source}")
                return pose
        if api == "tasks":
            raise ImportError(f"mediapipe {version} has no usable Tasks PoseLandmarker "
                              f"({tasks_error}); {_INSTALL_HINT}")
        if solutions is None and api == "legacy":
            raise ImportError(f"mediapipe {version} has no legacy solutions.pose ({legacy_error}); "
                              f"mediapipe <= 0.10.21 has it, current releases only the Tasks API")
        if solutions is None:
            raise ImportError(
                f"mediapipe {version}: the Tasks PoseLandmarker is unusable ({tasks_error}) "
                f"and there is no legacy solutions.pose ({legacy_error}); {_INSTALL_HINT}")
        self._check_weights_shipped(mediapipe, legacy_settings["model_complexity"])
        pose = _LegacyPose(solutions, **{k: v for k, v in legacy_settings.items()
                                         if k != "mediapipe_version"})
        self.settings = dict(api="legacy", num_poses=1, **legacy_settings)
        self.choice = (f"mediapipe {version}: legacy solutions.pose, 1 person a frame (Tasks "
                       f"PoseLandmarker not used: {tasks_error})")
        return pose

    @staticmethod
    def _check_weights_shipped(mediapipe, model_complexity: int) -> None:
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
            persons = self._pose.process(frame_rgb)
        else:
            with _native_stderr_silenced():  # Graph-start warnings come with frame 1.
                persons = self._pose.process(frame_rgb)
            self._started = True
        if not persons:
            return empty_poses()
        height, width = frame_rgb.shape[:2]
        poses = [landmarks_to_coco17(xyv, width, height) for xyv in persons]
        return (np.concatenate([k for k, _ in poses]), np.concatenate([s for _, s in poses]))

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
