"""Multi-person pose with rtmlib: a YOLOX person detector and an RTMPose model, both
ONNX files run by onnxruntime, without mmcv.

rtmlib's public ``YOLOX`` and ``RTMPose`` classes do the image pre-processing, run the
sessions and decode RTMPose's SimCC output; this module picks the model files, filters
the person boxes (score >= ``det_score_thr``, area >= ``det_area_thr``, as the mmpose
backend does) and returns COCO-17 arrays. Both models' input sizes are read from the ONNX
files, so any exported YOLOX (with its NMS, outputs ``dets [1, N, 5]`` and
``labels [1, N]``) and any COCO-17 RTMPose (outputs ``simcc_x``, ``simcc_y``) fit.

Model files: ``det_model`` / ``pose_model`` are local ``.onnx`` (or rtmlib's ``.zip``)
files or URLs; by default the URLs of rtmlib's ``Body`` solution for ``mode``
(``lightweight``, ``balanced``, ``performance``). A URL is fetched once into
``<torch hub dir>/checkpoints/rtmlib/<URL hash>/`` by :mod:`.model_files` (shared with the
mediapipe backend), its SHA-256 kept beside it and checked whenever the file is used
again (a cached copy that fails the check is fetched again); ``det_sha256`` /
``pose_sha256`` pin the expected digest of a URL's file. The default URLs have no pinned
digest (they were never downloaded while this was written), so their first download is
trusted. Machines without internet pass local files.

Install: ``pip install "rtmlib>=0.0.16"`` (``make install`` does; its requirements add
opencv-python beside the opencv-contrib-python that mediapipe brings: both own ``cv2/`` and work
side by side when their versions agree); it needs onnxruntime (``onnxruntime-gpu`` for CUDA).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import zipfile
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from rgbpose_plugin.fileio import file_sha256

from .base import NUM_KEYPOINTS, FramePoses, PoseBackend, empty_poses
from .mmpose_backend import filter_person_boxes
from .model_files import fetch_model

__all__ = ["RTMLIB_MODELS", "RTMLibPoseBackend", "fetch_model"]

INSTALL_HINT = "the 'rtmlib' pose backend needs rtmlib: pip install 'rtmlib>=0.0.16'"

_ONNX_SDK = "https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/onnx_sdk/"
# mode -> (detector URL, pose model URL): the models of rtmlib's Body solution (YOLOX
# trained on Human-Art, RTMPose trained on body7, COCO-17 keypoints).
RTMLIB_MODELS = {
    "lightweight": (_ONNX_SDK + "yolox_tiny_8xb8-300e_humanart-6f3252f9.zip",
                    _ONNX_SDK + "rtmpose-s_simcc-body7_pt-body7_420e-256x192-acd4a1ef_20230504.zip"),
    "balanced": (_ONNX_SDK + "yolox_m_8xb8-300e_humanart-c2c7a14a.zip",
                 _ONNX_SDK + "rtmpose-m_simcc-body7_pt-body7_420e-256x192-e48f03d0_20230504.zip"),
    "performance": (_ONNX_SDK + "yolox_x_8xb8-300e_humanart-a39d44ed.zip",
                    _ONNX_SDK + "rtmpose-x_simcc-body7_pt-body7_700e-384x288-71d7b7e9_20230629.zip"),
}


def _import_rtmlib():
    """rtmlib's YOLOX and RTMPose classes, or an ImportError saying what to install."""
    try:
        from rtmlib import YOLOX, RTMPose
    except ImportError as err:
        raise ImportError(f"{INSTALL_HINT} ({err})") from err
    return YOLOX, RTMPose


def _onnx_file(path: Path) -> Path:
    """``path`` itself for an ONNX file; for rtmlib's zip (an mmdeploy SDK folder), the
    ``.onnx`` inside it, extracted once beside the zip."""
    if path.suffix.lower() != ".zip":
        return path
    target = path.with_suffix(".onnx")
    if target.is_file() and target.stat().st_mtime >= path.stat().st_mtime:
        return target
    with zipfile.ZipFile(path) as archive:
        members = sorted((m for m in archive.namelist() if m.endswith(".onnx")),
                         key=lambda m: not m.endswith("end2end.onnx"))
        if not members:
            raise ValueError(f"rtmlib backend: {path} holds no .onnx file")
        with archive.open(members[0]) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)
    return target


def resolve_model(model: str, what: str, sha256: Optional[str] = None,
                  cache_dir: Optional[Path] = None) -> Path:
    """A local ONNX file for ``model``: a local ``.onnx``/``.zip`` file, or a URL fetched
    with :func:`fetch_model`."""
    if "://" in str(model):
        return _onnx_file(fetch_model(str(model), cache_dir=cache_dir, sha256=sha256))
    path = Path(model)
    if not path.is_file():
        raise FileNotFoundError(f"rtmlib backend: {what} model {str(model)!r} is neither a file nor a URL")
    return _onnx_file(path)


def _input_hw(session, fallback: Tuple[int, int]) -> Tuple[int, int]:
    """(height, width) of a session's ``[1, 3, H, W]`` input; ``fallback`` if dynamic."""
    shape = session.get_inputs()[0].shape
    if len(shape) == 4 and all(isinstance(s, int) and s > 0 for s in shape[2:]):
        return int(shape[2]), int(shape[3])
    return fallback


def _check_device(device: str) -> str:
    if device == "cpu":
        return device
    if device == "cuda" or device.startswith("cuda:"):
        import onnxruntime

        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            raise RuntimeError(
                f"rtmlib backend: device {device!r} needs onnxruntime's CUDA provider: "
                f"pip install onnxruntime-gpu (in place of onnxruntime)")
        return device
    raise ValueError(f"rtmlib backend: device must be cpu, cuda or cuda:N, not {device!r}")


class RTMLibPoseBackend(PoseBackend):
    """Top-down multi-person pose with rtmlib: YOLOX person boxes, then RTMPose on each.

    Frames are given to rtmlib as BGR, its (OpenCV) convention.
    """

    name = "rtmlib"

    def __init__(
        self,
        det_model: Optional[str] = None,
        pose_model: Optional[str] = None,
        mode: Optional[str] = None,
        device: str = "cpu",
        det_score_thr: Optional[float] = None,
        det_area_thr: Optional[float] = None,
        det_nms_thr: float = 0.45,
        det_person_label: int = 0,
        det_sha256: Optional[str] = None,
        pose_sha256: Optional[str] = None,
    ) -> None:
        super().__init__()
        mode = mode or "balanced"
        if mode not in RTMLIB_MODELS:
            raise ValueError(f"rtmlib backend: mode must be one of {sorted(RTMLIB_MODELS)}, not {mode!r}")
        YOLOX, RTMPose = _import_rtmlib()
        device = _check_device(device)
        det_path = resolve_model(det_model or RTMLIB_MODELS[mode][0], "detector", det_sha256)
        pose_path = resolve_model(pose_model or RTMLIB_MODELS[mode][1], "pose", pose_sha256)
        self.settings = dict(
            det_model=str(det_model or RTMLIB_MODELS[mode][0]),
            pose_model=str(pose_model or RTMLIB_MODELS[mode][1]),
            det_sha256=file_sha256(det_path), pose_sha256=file_sha256(pose_path),
            det_score_thr=0.7 if det_score_thr is None else float(det_score_thr),
            det_area_thr=1600.0 if det_area_thr is None else float(det_area_thr),
            det_nms_thr=det_nms_thr, det_person_label=det_person_label,
        )
        with contextlib.redirect_stdout(io.StringIO()):  # rtmlib prints "load <file>"
            self.detector = YOLOX(str(det_path), nms_thr=det_nms_thr,
                                  score_thr=self.settings["det_score_thr"],
                                  backend="onnxruntime", device=device)
            self.pose_model = RTMPose(str(pose_path), backend="onnxruntime", device=device)
        # YOLOX takes (height, width), RTMPose (width, height).
        self.detector.model_input_size = _input_hw(self.detector.session, (640, 640))
        pose_h, pose_w = _input_hw(self.pose_model.session, (256, 192))
        self.pose_model.model_input_size = (pose_w, pose_h)
        self._check_outputs(det_path, pose_path)

    def _check_outputs(self, det_path: Path, pose_path: Path) -> None:
        det_out = self.detector.session.get_outputs()
        if len(det_out) < 2 or det_out[0].shape[-1] != 5:
            raise ValueError(
                f"rtmlib backend: detector {det_path} must be a YOLOX exported with its NMS "
                f"(outputs dets [1, N, 5] and labels [1, N]), got "
                f"{[(o.name, o.shape) for o in det_out]}")
        pose_out = self.pose_model.session.get_outputs()
        joints = pose_out[0].shape[1] if len(pose_out) == 2 and len(pose_out[0].shape) == 3 else None
        if joints != NUM_KEYPOINTS:
            raise ValueError(
                f"rtmlib backend: pose model {pose_path} gives {joints} keypoints per person "
                f"(outputs {[(o.name, o.shape) for o in pose_out]}); a COCO-17 RTMPose "
                f"(simcc_x, simcc_y) is required")

    def detect(self, frame_bgr: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Person boxes ``[K, 4]`` (x1, y1, x2, y2 in frame pixels) and scores ``[K]``."""
        image, ratio = self.detector.preprocess(frame_bgr)
        dets, labels = self.detector.inference(image)[:2]
        dets = np.asarray(dets, np.float32).reshape(-1, 5)
        return filter_person_boxes(
            dets[:, :4] / ratio, dets[:, 4], np.asarray(labels).reshape(-1),
            person_label=self.settings["det_person_label"],
            score_thr=self.settings["det_score_thr"], area_thr=self.settings["det_area_thr"],
        )

    def __call__(self, frame_rgb: np.ndarray) -> FramePoses:
        frame_bgr = np.ascontiguousarray(frame_rgb[..., ::-1])
        boxes, _ = self.detect(frame_bgr)
        if not len(boxes):
            return empty_poses()  # RTMPose would pose the whole image when given no box.
        keypoints, scores = self.pose_model(frame_bgr, bboxes=boxes.tolist())
        keypoints = np.asarray(keypoints, np.float32).reshape(len(boxes), NUM_KEYPOINTS, 2)
        scores = np.asarray(scores, np.float32).reshape(len(boxes), NUM_KEYPOINTS)
        return keypoints, np.clip(scores, 0.0, 1.0)

    def close(self) -> None:
        self.detector = self.pose_model = None
