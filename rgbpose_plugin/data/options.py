"""Every setting of the data pipeline in one plain dataclass, and how the config fills it.

The defaults are the fused RGBPoseConv3D recipe on NTU-60 (docs/design.md section 3). The
three stages differ only in these values, which stage configs set through existing keys:

| stage    | dataset        | RESIZE_SCALE | TRAIN_CROP_SIZE | TEST_CROP_SIZE | SCALING | SIGMA |
|----------|----------------|--------------|-----------------|----------------|---------|-------|
| rgbpose  | ``Rgbpose``      | 256          | 224             | 256            | 0.25    | 0.7   |
| rgb only | ``Rgbpose_rgb``  | 256          | 224             | 224            | -       | -     |
| pose only| ``Rgbpose_pose`` | 64           | 56              | 64             | 1.0     | 0.6   |

(``RESIZE_SCALE`` is ``RGBPOSE.TRANSFORM.RESIZE_SCALE``, the two sizes are ``DATA.*``,
``SCALING`` and ``SIGMA`` are ``RGBPOSE.HEATMAP.*``.) Training: compact, resize to
RESIZE_SCALE, random resized crop, resize to TRAIN_CROP_SIZE, flip. Val/test: compact,
resize to TEST_CROP_SIZE. Heatmaps are ``SCALING`` times the frame size.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Tuple

from ..config import REFERENCE_TEST_SEED
from ..config.checks import check_heatmap_channels, check_value
from ..keypoints import KeypointLayout
from ..model_kinds import MODEL_KINDS, kind_by_key

__all__ = ["DataOptions", "MODES", "SPLITS"]

MODES = tuple(kind.key for kind in MODEL_KINDS)  # a model kind's inputs
SPLITS = ("train", "val", "test")
# The config key of each field with a rule: the key's rule (config/checks.py) applies.
_FIELD_KEYS = {
    "num_frames": "DATA.NUM_FRAMES", "pose_num_frames": "DATA.POSE_NUM_FRAMES",
    "num_views": "TEST.NUM_ENSEMBLE_VIEWS", "repeat": "DATA.REPEAT",
    "resize_scale": "RGBPOSE.TRANSFORM.RESIZE_SCALE", "train_size": "DATA.TRAIN_CROP_SIZE",
    "test_size": "DATA.TEST_CROP_SIZE", "on_error": "DATA.ON_ERROR",
}


@dataclass(frozen=True)
class DataOptions:
    """Settings of :class:`~rgbpose_plugin.data.dataset.RGBPoseDataset` (plain values)."""

    mode: str = "rgbpose"  # which inputs: "rgbpose" [rgb, pose], "rgb" [rgb], "pose" [pose]
    # Frames.
    num_frames: int = 8  # RGB frames per clip
    pose_num_frames: int = 32  # pose frames per clip
    num_views: int = 10  # clips per video in the test split (train/val: always 1)
    # Video files: <video_prefix>/<frame_dir><video_ext>.
    video_prefix: str = ""
    video_ext: str = ".mp4"
    decode_threads: int = 0  # 0: FFmpeg default, 1: single thread, N: frame threads
    # Geometry.
    layout: KeypointLayout = field(default_factory=KeypointLayout)
    resize_scale: int = 256
    train_size: int = 224
    test_size: int = 256
    crop_area: Tuple[float, float] = (0.56, 1.0)
    crop_aspect: Tuple[float, float] = (3 / 4, 4 / 3)
    random_flip: bool = True
    compact_padding: float = 0.25
    compact_threshold: float = 10
    # Heatmaps.
    sigma: float = 0.7
    with_kp: bool = True
    with_limb: bool = False
    heatmap_scaling: float = 0.25
    score_eps: float = 1e-4
    heatmaps_on_device: bool = False  # items carry keypoints; to_device() draws the maps
    # RGB normalisation, 0-255 scale.
    mean: Tuple[float, float, float] = (123.675, 116.28, 103.53)
    std: Tuple[float, float, float] = (58.395, 57.12, 57.375)
    # Randomness, repeats, bad data.
    seed: int = 1  # training draws depend on (seed, epoch, index) only
    test_seed: int = REFERENCE_TEST_SEED  # the reference's seed for val/test clip draws
    repeat: int = 1  # training split repeats per epoch
    on_error: str = "raise"  # "raise" or "skip"
    max_skips: int = 50  # consecutive bad samples tolerated in "skip" mode

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"data mode must be one of {MODES}, got {self.mode!r}")
        # Options are also built directly (tests, inference): the config's rules apply.
        for name, key in _FIELD_KEYS.items():
            check_value(key, getattr(self, name), f"data option {name}")
        if "pose" in self.streams:
            check_heatmap_channels(self.with_kp, self.with_limb, "data options")

    @property
    def streams(self) -> Tuple[str, ...]:
        """The model inputs this mode makes, in order (``("rgb", "pose")``, ...)."""
        return kind_by_key(self.mode).streams

    @classmethod
    def from_cfg(cls, cfg, split: str, mode: str) -> DataOptions:
        """Read the options for ``split`` (train/val/test) and ``mode`` from a config."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        d, r = cfg.DATA, cfg.RGBPOSE
        return cls(
            mode=mode,
            num_frames=int(d.NUM_FRAMES),
            pose_num_frames=int(d.POSE_NUM_FRAMES),
            num_views=int(cfg.TEST.NUM_ENSEMBLE_VIEWS),
            video_prefix=d.PATH_PREFIX,
            video_ext=d.VIDEO_EXT,
            decode_threads=int(d.DECODE_THREADS),
            layout=KeypointLayout.from_cfg(cfg),
            resize_scale=int(r.TRANSFORM.RESIZE_SCALE),
            train_size=int(d.TRAIN_CROP_SIZE),
            test_size=int(d.TEST_CROP_SIZE),
            crop_area=tuple(r.TRANSFORM.CROP_AREA),
            crop_aspect=tuple(r.TRANSFORM.CROP_ASPECT),
            random_flip=bool(d.RANDOM_FLIP),
            compact_padding=float(r.TRANSFORM.COMPACT_PADDING),
            compact_threshold=float(r.TRANSFORM.COMPACT_THRESHOLD),
            sigma=float(r.HEATMAP.SIGMA),
            with_kp=bool(r.HEATMAP.WITH_KP),
            with_limb=bool(r.HEATMAP.WITH_LIMB),
            heatmap_scaling=float(r.HEATMAP.SCALING),
            score_eps=float(r.HEATMAP.SCORE_EPS),
            heatmaps_on_device=bool(r.HEATMAP.ON_GPU),
            mean=tuple(255.0 * float(m) for m in d.MEAN),
            std=tuple(255.0 * float(s) for s in d.STD),
            seed=int(cfg.RNG_SEED),
            test_seed=int(d.TEST_SEED),
            repeat=int(d.REPEAT) if split == "train" else 1,
            on_error=str(d.ON_ERROR),
        )

    def with_changes(self, **changes) -> DataOptions:
        """A copy with some fields changed."""
        return replace(self, **changes)
