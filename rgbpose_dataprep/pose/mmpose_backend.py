"""Multi-person pose with an mmdet person detector and an mmpose top-down model.

This is the reference recipe (pyskl's custom-video script): person boxes from a
COCO-trained detector (Faster R-CNN R50-FPN), kept when their score is >= 0.7 and their
area >= 1600 px, then a top-down COCO-17 model (HRNet-w32, 256x192) on each box. You give
the config files and checkpoints; mmdet >= 3 and mmpose >= 1 public APIs
(``init_detector``/``inference_detector``, ``init_model``/``inference_topdown``) do the
work. They are imported only when this backend is built.

The pure steps (box filtering, turning mmpose's results into arrays) are functions of
their own so they can be tested without the OpenMMLab stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence, Tuple

import numpy as np

from .base import NUM_KEYPOINTS, FramePoses, PoseBackend, empty_poses

__all__ = ["MMPoseBackend", "filter_person_boxes", "pose_samples_to_arrays"]

INSTALL_HINT = (
    "the 'mmpose' pose backend needs mmpose>=1.3, mmdet>=3 and mmcv>=2 with its compiled "
    "ops: pip install 'rgbpose-plugin[pose]' (or pip install -e '.[pose]'), and install "
    "mmcv as OpenMMLab documents for your torch/CUDA (e.g. mim install mmcv)"
)


def _import_openmmlab():
    """mmdet's and mmpose's inference functions, or an ImportError naming the extra."""
    try:
        from mmdet.apis import inference_detector, init_detector
        from mmpose.apis import inference_topdown, init_model
    except ImportError as err:
        raise ImportError(f"{INSTALL_HINT} ({err})") from err
    try:
        # mmpose's demo adapts the detector's test pipeline for in-memory images.
        from mmpose.utils import adapt_mmdet_pipeline
    except ImportError:
        adapt_mmdet_pipeline = None
    return init_detector, inference_detector, init_model, inference_topdown, adapt_mmdet_pipeline


def _to_numpy(x: Any) -> np.ndarray:
    """A torch tensor (any device) or array-like as a numpy array."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def filter_person_boxes(
    bboxes: Any,
    scores: Any,
    labels: Any,
    *,
    person_label: int = 0,
    score_thr: float = 0.7,
    area_thr: float = 1600.0,
) -> Tuple[np.ndarray, np.ndarray]:
    """Keep detections of class ``person_label`` with score >= ``score_thr`` and box
    area >= ``area_thr`` (px^2). Boxes are ``[N, 4]`` x1, y1, x2, y2.

    Returns ``(boxes [K, 4], scores [K])``, float32, highest score first.
    """
    bboxes = _to_numpy(bboxes).astype(np.float32).reshape(-1, 4)
    scores = _to_numpy(scores).astype(np.float32).reshape(-1)
    labels = _to_numpy(labels).reshape(-1)
    if not len(bboxes) == len(scores) == len(labels):
        raise ValueError(
            f"detector output mismatch: {len(bboxes)} boxes, {len(scores)} scores, "
            f"{len(labels)} labels"
        )
    areas = (bboxes[:, 2] - bboxes[:, 0]) * (bboxes[:, 3] - bboxes[:, 1])
    keep = (labels == person_label) & (scores >= score_thr) & (areas >= area_thr)
    order = np.argsort(-scores[keep], kind="stable")
    return bboxes[keep][order], scores[keep][order]


def pose_samples_to_arrays(samples: Sequence[Any]) -> FramePoses:
    """mmpose ``inference_topdown`` results (one ``PoseDataSample`` per box, each with
    ``pred_instances.keypoints [1, K, 2]`` and ``.keypoint_scores [1, K]``) as
    ``keypoints [P, 17, 2]`` and ``scores [P, 17]``."""
    if not samples:
        return empty_poses()
    keypoints, scores = [], []
    for sample in samples:
        inst = sample.pred_instances
        kps = _to_numpy(inst.keypoints).astype(np.float32).reshape(-1, 2)
        sc = _to_numpy(inst.keypoint_scores).astype(np.float32).reshape(-1)
        if kps.shape[0] != NUM_KEYPOINTS or sc.shape[0] != NUM_KEYPOINTS:
            raise ValueError(
                f"the pose model gives {kps.shape[0]} keypoints per person; a COCO-17 model "
                f"(e.g. HRNet-w32 COCO 256x192) is required"
            )
        keypoints.append(kps)
        scores.append(np.clip(sc, 0.0, 1.0))
    return np.stack(keypoints), np.stack(scores)


class MMPoseBackend(PoseBackend):
    """Top-down multi-person pose: mmdet person boxes, then mmpose keypoints per box.

    ``det_checkpoint`` / ``pose_checkpoint`` are local files or URLs (URLs need network
    access at build time). Frames are given to OpenMMLab as BGR, its convention.
    """

    name = "mmpose"

    def __init__(
        self,
        det_config: str,
        det_checkpoint: str,
        pose_config: str,
        pose_checkpoint: str,
        device: str = "cpu",
        det_score_thr: float = 0.7,
        det_area_thr: float = 1600.0,
        det_person_label: int = 0,
    ) -> None:
        super().__init__()
        for what, path in (("detector config", det_config), ("pose config", pose_config)):
            if not path or not Path(path).is_file():
                raise FileNotFoundError(f"mmpose backend: {what} {path!r} is not a file")
        for what, path in (("detector", det_checkpoint), ("pose", pose_checkpoint)):
            if not path or ("://" not in str(path) and not Path(path).is_file()):
                raise FileNotFoundError(
                    f"mmpose backend: {what} checkpoint {path!r} is neither a file nor a URL"
                )
        init_detector, self._detect, init_model, self._pose, adapt = _import_openmmlab()
        self.settings = dict(
            det_config=str(det_config), det_checkpoint=str(det_checkpoint),
            pose_config=str(pose_config), pose_checkpoint=str(pose_checkpoint),
            det_score_thr=det_score_thr, det_area_thr=det_area_thr,
            det_person_label=det_person_label,
        )
        self.detector = init_detector(str(det_config), str(det_checkpoint), device=device)
        if adapt is not None:
            self.detector.cfg = adapt(self.detector.cfg)
        self._check_person_class(det_person_label)
        self.pose_model = init_model(str(pose_config), str(pose_checkpoint), device=device)

    def _check_person_class(self, label: int) -> None:
        classes = (getattr(self.detector, "dataset_meta", None) or {}).get("classes")
        if classes is not None and (label >= len(classes) or classes[label] != "person"):
            found = classes[label] if label < len(classes) else "nothing"
            raise ValueError(
                f"mmpose backend: detector class {label} is {found!r}, not 'person'; use a "
                f"COCO-trained detector or set det_person_label"
            )

    def __call__(self, frame_rgb: np.ndarray) -> FramePoses:
        frame_bgr = np.ascontiguousarray(frame_rgb[..., ::-1])
        det = self._detect(self.detector, frame_bgr).pred_instances
        boxes, _ = filter_person_boxes(
            det.bboxes, det.scores, det.labels,
            person_label=self.settings["det_person_label"],
            score_thr=self.settings["det_score_thr"],
            area_thr=self.settings["det_area_thr"],
        )
        if not len(boxes):
            # inference_topdown would pose the whole image when given no box.
            return empty_poses()
        samples = self._pose(self.pose_model, frame_bgr, boxes, bbox_format="xyxy")
        return pose_samples_to_arrays(samples)
