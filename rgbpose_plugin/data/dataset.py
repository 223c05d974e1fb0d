"""The map-style multimodal dataset: one item per video (training: per repeated index).

Item contract (the model takes the list of pathway tensors in this order)::

    {"inputs": [rgb, pose] | [rgb] | [pose],
     "label": int,
     "index": int,            # video index within the split (not the repeated index)
     "meta": {"frame_dir", "video", "total_frames", "img_shape", "flip",
              "rgb_inds", "pose_inds", "skipped"}}

* train/val: ``rgb`` float32 ``(3, T, H, W)`` normalised, ``pose`` float32 ``(K, T', h, w)``;
* test: every view of the video at once: ``(V, 3, T, H, W)`` and ``(V, K, T', h, w)``,
  ``V`` = ``DataOptions.num_views``; each needed frame is decoded once for all views.

With ``heatmaps_on_device`` the pose tensor is left out of ``inputs`` and the item carries
``"pose_keypoint"`` float32 ``(M, T', V_j, 2)`` in heatmap pixels, ``"pose_score"``
``(M, T', V_j)`` (test: a leading view axis) and ``"heatmap_spec"``; :mod:`.batching`
pads persons with score 0 when it collates items, and draws the maps where the batch is.

Bad samples: with ``on_error="raise"`` a :class:`SampleError` names the sample and file;
with ``"skip"`` the failure is logged, counted (``meta["skipped"]`` of the item served
instead, summed per batch by :func:`~.batching.collate`) and the next video is used.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..errors import SampleBug, SampleError, VideoError, listed
from ..fileio import join, missing_local_files
from .annotations import load_split
from .heatmaps import HeatmapSpec, heatmap_size
from .options import SPLITS, DataOptions
from .sampling import sample_modalities, train_rng
from .transforms import Compose, frames, geometry, normalize_frames
from .video import DecodedFrames, decode_frames

__all__ = ["RGBPoseDataset"]

logger = logging.getLogger(__name__)


class RGBPoseDataset(Dataset):
    """RGB frames and/or skeleton heatmaps for each annotated video of a split.

    Args:
        annotations: validated annotations (see :func:`~.annotations.load_split`).
        options: pipeline settings (:class:`~.options.DataOptions`).
        split: ``"train"`` (random draws and augmentation), ``"val"`` (the reference's
            seeded 1-clip draw) or ``"test"`` (``options.num_views`` seeded clips).
        source: where the annotations came from, for messages.
    """

    def __init__(self, annotations: List[Dict[str, Any]], options: DataOptions,
                 split: str = "train", source: str = "<annotations>") -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if not annotations:
            raise ValueError(f"{source}: no annotations for split {split!r}")
        self.annotations = annotations
        self.options = options
        self.split = split
        self.source = source
        self.train = split == "train"
        self.num_views = options.num_views if split == "test" else 1
        self.repeat = options.repeat if self.train else 1
        self.epoch = 0
        o = options
        flip = o.layout.flip_order() if (self.train and o.random_flip) else None
        self.transform = Compose(geometry(
            self.train, resize_scale=o.resize_scale, train_size=o.train_size,
            test_size=o.test_size, area_range=o.crop_area, aspect_range=o.crop_aspect,
            flip_order=flip, compact_padding=o.compact_padding,
            compact_threshold=o.compact_threshold))
        self.mean = torch.tensor(o.mean, dtype=torch.float32)
        self.std = torch.tensor(o.std, dtype=torch.float32)

    # --- construction from a file / config ------------------------------------------------
    @classmethod
    def from_file(cls, ann_file: str, split_name: str, options: DataOptions,
                  split: str = "train", num_classes: Optional[int] = None
                  ) -> RGBPoseDataset:
        """Load split ``split_name`` of ``ann_file`` (validated) and build the dataset."""
        annotations, _ = load_split(ann_file, split_name, options.layout.num_joints,
                                    num_classes, options.on_error)
        return cls(annotations, options, split, source=ann_file)

    @classmethod
    def from_cfg(cls, cfg, split: str, mode: str = "rgbpose") -> RGBPoseDataset:
        """The dataset of ``split`` (train/val/test) as the config describes it."""
        options = DataOptions.from_cfg(cfg, split, mode)
        if not cfg.DATA.ANN_FILE:
            raise ValueError("DATA.ANN_FILE is empty: set it to the annotation pickle")
        names = {"train": cfg.DATA.TRAIN_SPLIT, "val": cfg.DATA.VAL_SPLIT,
                 "test": cfg.DATA.TEST_SPLIT}
        dataset = cls.from_file(cfg.DATA.ANN_FILE, names[split], options, split,
                                int(cfg.MODEL.NUM_CLASSES))
        dataset.check_videos()
        return dataset

    def check_videos(self) -> None:
        """Every video this split reads exists (one stat each, not a decode: docs/design.md
        gives the time for NTU's 114,480), so a wrong path fails now, naming all missing
        files at once, and not in a loader worker hours later. With ``on_error="skip"``
        the videos not found are logged and left out of the split."""
        if "rgb" not in self.options.streams:
            return
        paths = {self.video_path(ann): ann for ann in self.annotations}
        missing = missing_local_files(list(paths))
        if not missing:
            return
        o = self.options
        names = listed([f"{paths[p]['frame_dir']!r} -> {p}" for p in missing])
        if o.video_prefix and "://" not in o.video_prefix and not os.path.isdir(o.video_prefix):
            names += f" (there is no folder {o.video_prefix!r})"
        what = (f"{self.source}: {len(missing)} of {len(paths)} video(s) of the {self.split} "
                f"split not found (DATA.PATH_PREFIX {o.video_prefix!r} + frame_dir + "
                f"DATA.VIDEO_EXT {o.video_ext!r}, or the annotation's 'filename'): {names}")
        if o.on_error == "raise" or len(missing) == len(paths):
            raise VideoError(f"{what}. Fix DATA.PATH_PREFIX / DATA.VIDEO_EXT, or set "
                             f"DATA.ON_ERROR skip to leave these videos out", path=missing[0])
        logger.warning("%s; left out (DATA.ON_ERROR=skip)", what)
        gone = set(missing)
        self.annotations = [ann for ann in self.annotations if self.video_path(ann) not in gone]

    # --- Dataset protocol ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.annotations) * self.repeat

    def set_epoch(self, epoch: int) -> None:
        """Select the training draws of ``epoch`` (call before each epoch's iterator; with
        ``persistent_workers`` the workers keep the epoch they started with)."""
        self.epoch = int(epoch)

    def video_path(self, ann: Dict[str, Any]) -> str:
        """``<video_prefix>/<frame_dir><video_ext>`` (or the annotation's ``filename``)."""
        name = ann.get("filename") or f"{ann['frame_dir']}{self.options.video_ext}"
        return join(self.options.video_prefix, name)

    def __getitem__(self, index: int) -> Dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        skipped: List[str] = []
        attempts = 1 if self.options.on_error == "raise" else self.options.max_skips + 1
        for attempt in range(attempts):
            position = (index + attempt) % len(self)
            try:
                item = self._load(position)
            except SampleError as err:
                if self.options.on_error == "raise":
                    raise
                skipped.append(str(err))
                logger.warning("skipping a bad sample (DATA.ON_ERROR=skip): %s", err)
                continue
            except Exception as err:  # a bug, not bad data: never skipped
                ann = self.annotations[position % len(self.annotations)]
                raise SampleBug(
                    f"{self.source}: sample {position} (frame_dir {ann.get('frame_dir')!r}, "
                    f"split {self.split}): unexpected {type(err).__name__}: {err}") from err
            item["meta"]["skipped"] = skipped
            return item
        raise SampleError(f"{self.source}: {attempts} samples in a row from index {index} "
                          f"failed; the last: {skipped[-1]}")

    # --- one sample ------------------------------------------------------------------------
    def _load(self, position: int) -> Dict[str, Any]:
        """Sample clips, decode, transform and draw one item (no error handling)."""
        video_index = position % len(self.annotations)
        ann = self.annotations[video_index]
        rng = train_rng(self.options.seed, self.epoch, position) if self.train else None
        lengths = {"rgb": self.options.num_frames, "pose": self.options.pose_num_frames}
        # RGB first: the reference's draw order in training.
        clips = sample_modalities(int(ann["total_frames"]),
                                  {s: lengths[s] for s in self.options.streams},
                                  self.num_views, test_mode=not self.train, rng=rng,
                                  seed=self.options.test_seed)
        keypoint, score, pose_rows = _sampled_skeleton(ann, clips.get("pose"))
        sample: Dict[str, Any] = {"img_shape": tuple(int(s) for s in ann["img_shape"]),
                                  "rng": rng, "imgs": None, "flip": False,
                                  "keypoint": keypoint, "keypoint_score": score}
        video, rgb_rows = "", None
        if "rgb" in clips:
            video = self.video_path(ann)
            decoded = self.decode(ann, video, clips["rgb"])
            sample.update(_with_frames(sample, decoded))
            rgb_rows = decoded.inverse.reshape(clips["rgb"].shape)
        sample = self.transform(sample)
        item: Dict[str, Any] = {"inputs": [], "label": int(ann["label"]), "index": video_index,
                                "meta": {"frame_dir": ann["frame_dir"], "video": video,
                                         "total_frames": int(ann["total_frames"]),
                                         "img_shape": sample["img_shape"],
                                         "flip": bool(sample["flip"]),
                                         "rgb_inds": clips.get("rgb"),
                                         "pose_inds": clips.get("pose")}}
        if rgb_rows is not None:
            item["inputs"].append(self._rgb(sample, rgb_rows))
        if pose_rows is not None:
            pose = self._pose(sample, pose_rows)
            if torch.is_tensor(pose):
                item["inputs"].append(pose)
            else:  # keypoints for heatmaps drawn on the trainer's device
                item.update(pose)
        return item

    def decode(self, ann: Dict[str, Any], path: str, inds: np.ndarray) -> DecodedFrames:
        """Decode the RGB frames at ``inds``; the annotation's orientation must match.

        The one step a subclass replaces to take frames from elsewhere (frames already in
        memory: :class:`rgbpose_plugin.inference.timeline.windows.WindowDataset`); sampling,
        transforms and heatmaps stay the dataset's own."""
        decoded = decode_frames(path, inds.reshape(-1), threads=self.options.decode_threads,
                                expected_frames=int(ann["total_frames"]),
                                frame_dir=str(ann["frame_dir"]))
        (old_h, old_w), (new_h, new_w) = ann["img_shape"], decoded.size
        if old_h != old_w and new_h != new_w and (old_h > old_w) != (new_h > new_w):
            raise SampleError(
                f"sample {ann['frame_dir']!r}, video {path}: the annotation's img_shape "
                f"(H, W) = {(old_h, old_w)} is {'portrait' if old_h > old_w else 'landscape'} "
                f"but the frames decode as {(new_h, new_w)} (rotation tag: "
                f"{decoded.rotation} deg); keypoints must be measured on the frames as "
                f"stored (re-encode the video upright, or fix img_shape)",
                frame_dir=str(ann["frame_dir"]), path=path)
        return decoded

    def _rgb(self, sample: Dict[str, Any], inverse: np.ndarray) -> Tensor:
        """(3, T, H, W), or (V, 3, T, H, W) in the test split, from the unique frames.

        Frames are gathered into place as uint8, then normalised once (no float copy of
        the unique frames first).
        """
        imgs = frames(sample)  # (U, 3, H, W) uint8
        views = imgs[torch.from_numpy(inverse.reshape(-1))]
        views = views.view(*inverse.shape, *imgs.shape[1:]).transpose(1, 2)  # (V,3,T,H,W)
        rgb = normalize_frames(views, self.mean, self.std)
        return rgb if self.split == "test" else rgb[0]

    def heatmap_spec(self, img_shape: Tuple[int, int]) -> HeatmapSpec:
        """The heatmap settings for frames of ``img_shape``."""
        o = self.options
        return HeatmapSpec(heatmap_size(img_shape, o.heatmap_scaling), o.sigma, o.with_kp,
                           o.with_limb, o.layout.limbs, o.score_eps)

    def _pose(self, sample: Dict[str, Any], inverse: np.ndarray) -> Tensor | Dict[str, Any]:
        """Heatmaps of the sampled pose frames, or (with on-device heatmaps) the keypoints
        and the spec to draw them: ``{"pose_keypoint", "pose_score", "heatmap_spec"}``.

        Drawn per view straight into the ``(V, K, T', h, w)`` layout: cheaper than
        drawing the unique frames and gathering the (much larger) maps.
        """
        spec = self.heatmap_spec(sample["img_shape"])
        # float32 first, then scale: mmaction2's GeneratePoseTarget.
        keypoint = sample["keypoint"].float() * self.options.heatmap_scaling
        views = torch.from_numpy(inverse)  # (V, T') rows of the unique frames
        kp = keypoint[:, views].transpose(0, 1)  # (V, M, T', J, 2)
        score = sample["keypoint_score"][:, views].transpose(0, 1)
        if self.options.heatmaps_on_device:
            if self.split != "test":
                kp, score = kp[0], score[0]
            return {"pose_keypoint": kp.contiguous(), "pose_score": score.contiguous(),
                    "heatmap_spec": spec}
        if self.split != "test":
            return spec(kp[:1], score[:1])[0]  # (K, T', h, w)
        return spec(kp, score)  # (V, K, T', h, w)


def _sampled_skeleton(ann: Dict[str, Any], pose_inds: Optional[np.ndarray]
                      ) -> Tuple[Tensor, Tensor, Optional[np.ndarray]]:
    """float32 keypoints and scores of the distinct sampled pose frames, and where each
    sampled frame is among them (``(V, T')``; None without a pose clip).

    Without a pose clip (RGB only) every frame's keypoints are kept: the reference builds
    the compact box from all of them.
    """
    keypoint = np.asarray(ann["keypoint"])
    score = ann.get("keypoint_score")
    score = np.ones(keypoint.shape[:3], np.float32) if score is None else np.asarray(score)
    rows = None
    if pose_inds is not None:
        frames_used, rows = np.unique(pose_inds, return_inverse=True)
        keypoint, score = keypoint[:, frames_used], score[:, frames_used]
        rows = rows.reshape(pose_inds.shape)
    return (torch.from_numpy(keypoint.astype(np.float32)),
            torch.from_numpy(score.astype(np.float32)), rows)


def _with_frames(sample: Dict[str, Any], decoded: DecodedFrames) -> Dict[str, Any]:
    """The decoded frames, their size, and keypoints scaled from ``img_shape`` to it."""
    (old_h, old_w), (new_h, new_w) = sample["img_shape"], decoded.size
    keypoint = sample["keypoint"]
    if (old_h, old_w) != (new_h, new_w):
        # Per axis, float32, as mmaction2's MMDecode (zeros stay zeros).
        keypoint = keypoint * torch.tensor([np.float32(new_w / old_w), np.float32(new_h / old_h)])
    return {"imgs": decoded.frames.permute(0, 3, 1, 2),  # (U, 3, H, W), channels-last
            "img_shape": (new_h, new_w), "keypoint": keypoint}
