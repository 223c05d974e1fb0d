"""The pose-backend interface and the factory that builds backends by name.

A backend turns one RGB frame into the people it sees, as COCO-17 keypoints in pixels
plus one score per keypoint. Everything else (decoding, keeping persons in a stable
order, caching, the annotation file) is shared code that only sees this interface, so a
new backend is one class with a ``__call__``.

Backends are looked up lazily: ``create_pose_backend("mmpose")`` imports mmpose only
then, never when the plugin or this package is imported.
"""

from __future__ import annotations

import abc
import importlib
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from rgbpose_plugin.keypoints import COCO17_NAMES

__all__ = [
    "COCO17_NAMES",
    "NUM_KEYPOINTS",
    "FramePoses",
    "PoseBackend",
    "empty_poses",
    "check_poses",
    "register_pose_backend",
    "create_pose_backend",
    "available_pose_backends",
    "MMPOSE_OPTIONS",
    "RTMLIB_OPTIONS",
    "MEDIAPIPE_OPTIONS",
    "backend_options",
]

NUM_KEYPOINTS = len(COCO17_NAMES)

# (keypoints float32 [P, 17, 2] as x, y pixels; scores float32 [P, 17] in [0, 1]).
FramePoses = Tuple[np.ndarray, np.ndarray]


class PoseBackend(abc.ABC):
    """Per-frame 2D pose estimator producing COCO-17 keypoints.

    Subclasses set ``name`` and fill ``settings`` (a plain dict of what changes the
    output: model files, thresholds); both go into the per-video cache so that a rerun
    with other settings recomputes instead of reusing stale results.
    """

    name: str = ""
    # True for backends that report at most one person per frame (mediapipe): their
    # annotation has exactly one person slot, whoever the backend follows in a frame.
    single_person: bool = False

    def __init__(self) -> None:
        self.settings: Dict[str, Any] = {}

    @abc.abstractmethod
    def __call__(self, frame_rgb: np.ndarray) -> FramePoses:
        """Poses of the people in one ``H x W x 3`` uint8 RGB frame (see ``FramePoses``)."""

    def reset(self) -> None:
        """Forget what was carried over between frames; called before each new video."""
        return None  # Stateless backends need nothing.

    def close(self) -> None:
        """Release models and native resources."""
        return None

    def __enter__(self) -> PoseBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def empty_poses() -> FramePoses:
    """The poses of a frame where nobody was found."""
    return (np.zeros((0, NUM_KEYPOINTS, 2), np.float32), np.zeros((0, NUM_KEYPOINTS), np.float32))


def check_poses(keypoints: np.ndarray, scores: np.ndarray, source: str) -> FramePoses:
    """Validate a backend's output and return it as float32 arrays.

    ``source`` names the backend (and frame) in the error message.
    """
    keypoints = np.asarray(keypoints, dtype=np.float32)
    scores = np.asarray(scores, dtype=np.float32)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_KEYPOINTS, 2):
        raise ValueError(f"{source}: keypoints must be [P, 17, 2], got {keypoints.shape}")
    if scores.shape != keypoints.shape[:2]:
        raise ValueError(
            f"{source}: scores must be [P, 17] matching keypoints {keypoints.shape}, "
            f"got {scores.shape}"
        )
    return keypoints, scores


# name -> "module:attribute" (imported on first use) or a factory callable.
_BACKENDS: Dict[str, Union[str, Callable[..., PoseBackend]]] = {
    "mediapipe": "rgbpose_dataprep.pose.mediapipe_backend:MediaPipePoseBackend",
    "mmpose": "rgbpose_dataprep.pose.mmpose_backend:MMPoseBackend",
    "rtmlib": "rgbpose_dataprep.pose.rtmlib_backend:RTMLibPoseBackend",
}

# Built-in backend -> (the package it imports, how to install it), for error messages.
_BACKEND_PACKAGES = {
    "mediapipe": ("mediapipe", "pip install 'rgbpose-plugin[mediapipe]' (see docs/data_preparation.md)"),
    "mmpose": ("mmpose", "pip install 'rgbpose-plugin[pose]' and mmcv"),
    "rtmlib": ("rtmlib", "pip install \"rtmlib>=0.0.16\""),
}


def register_pose_backend(
    name: str, factory: Optional[Callable[..., PoseBackend]] = None
) -> Callable:
    """Register ``factory(**kwargs) -> PoseBackend`` under ``name``.

    Usable as a decorator (``@register_pose_backend("mine")``) or a call. A name that is
    already taken is an error, so a typo cannot silently replace a built-in backend.
    """

    def deco(obj: Callable[..., PoseBackend]) -> Callable[..., PoseBackend]:
        if name in _BACKENDS:
            raise KeyError(f"pose backend {name!r} is already registered")
        _BACKENDS[name] = obj
        return obj

    return deco if factory is None else deco(factory)


def available_pose_backends() -> List[str]:
    """Names accepted by :func:`create_pose_backend`."""
    return sorted(_BACKENDS)


def create_pose_backend(name: str, **kwargs: Any) -> PoseBackend:
    """Build the backend registered as ``name`` with its keyword arguments."""
    if name not in _BACKENDS:
        raise KeyError(f"unknown pose backend {name!r}; choose one of {available_pose_backends()}"
                       f"{_install_status()}")
    factory = _BACKENDS[name]
    if isinstance(factory, str):
        module_name, attr = factory.split(":")
        factory = getattr(importlib.import_module(module_name), attr)
    return factory(**kwargs)


def _install_status() -> str:
    """'' or ' (installed: ...; to install: name: how, ...)' for the built-in backends."""
    import importlib.util

    installed, missing = [], []
    for name, (package, how) in sorted(_BACKEND_PACKAGES.items()):
        try:
            found = importlib.util.find_spec(package) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            installed.append(name)
        else:
            missing.append(f"{name}: {how}")
    if not missing:
        return ""
    return f" (installed: {', '.join(installed) or 'none'}; to install: {'; '.join(missing)})"


# The mmpose backend's model files and thresholds, as a command line names them.
MMPOSE_OPTIONS = ("det_config", "det_checkpoint", "pose_config", "pose_checkpoint",
                  "det_score_thr", "det_area_thr")
# The rtmlib backend's: model files (paths or URLs) or a model set, and the thresholds.
RTMLIB_OPTIONS = ("det_model", "pose_model", "rtmlib_mode", "det_score_thr", "det_area_thr")
# The mediapipe backend's, as a command line names them -> the backend's keyword.
MEDIAPIPE_OPTIONS = {"max_persons": "num_poses", "mediapipe_model": "task_model",
                     "mediapipe_api": "api"}


def backend_options(name: str, device: str, settings: Mapping[str, Any]) -> Dict[str, Any]:
    """The keyword arguments of ``create_pose_backend(name, ...)``: ``device``, and for
    mmpose the :data:`MMPOSE_OPTIONS` entries of ``settings`` (e.g. ``vars(args)`` of a
    command line), for rtmlib those of :data:`RTMLIB_OPTIONS` that are set
    (``rtmlib_mode`` becomes ``mode``), for mediapipe those of :data:`MEDIAPIPE_OPTIONS`
    that are set (``max_persons`` becomes ``num_poses``)."""
    options: Dict[str, Any] = {"device": device}
    if name == "mmpose":
        options.update({key: settings.get(key) for key in MMPOSE_OPTIONS})
    elif name == "rtmlib":
        for key in RTMLIB_OPTIONS:
            if settings.get(key) is not None:
                options["mode" if key == "rtmlib_mode" else key] = settings[key]
    elif name == "mediapipe":
        for key, keyword in MEDIAPIPE_OPTIONS.items():
            if settings.get(key) is not None:
                options[keyword] = settings[key]
    return options
