"""A tiny generated dataset and a tiny config for trainer tests (seconds, not minutes)."""

from pathlib import Path

import pytest
import torch

from rgbpose_plugin.config import load_cfg
from rgbpose_plugin.config.checks import get_key

ROOT = Path(__file__).resolve().parents[1]
TINY_CLASSES = ["wave", "squat", "drink_red_cup", "drink_blue_cup"]
# Trainer devices to parametrize over: the CPU always, CUDA where there is a GPU
# (benchmarks/gpu_check.sh runs the CUDA cases on one).
DEVICES = [pytest.param("cpu"), pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device here; benchmarks/gpu_check.sh runs this on one"))]


def device_opts(device: str) -> list:
    """Config overrides that put the trainer on ``device`` (one process)."""
    return ["NUM_GPUS", int(device == "cuda")]


def make_tiny_dataset(folder: Path) -> Path:
    from rgbpose_dataprep.demo_data import make_demo_dataset

    return make_demo_dataset(folder, seed=0, videos_per_class=3, num_frames=(16, 20),
                             classes=TINY_CLASSES, workers=1)


def tiny_opts(ann_file: Path, out_dir: Path, num_classes: int) -> list:
    """Overrides that shrink the demo config to seconds: 32-px frames, tiny widths."""
    return [
        "DATA.ANN_FILE", str(ann_file), "DATA.PATH_PREFIX", str(Path(ann_file).parent / "videos"),
        "OUTPUT_DIR", str(out_dir), "MODEL.NUM_CLASSES", num_classes,
        "DATA.NUM_FRAMES", 4, "DATA.POSE_NUM_FRAMES", 16,
        "DATA.TRAIN_CROP_SIZE", 32, "DATA.TEST_CROP_SIZE", 32, "RGBPOSE.TRANSFORM.RESIZE_SCALE", 36,
        "DATA_LOADER.NUM_WORKERS", 0, "TRAIN.BATCH_SIZE", 4, "TEST.BATCH_SIZE", 4,
        "TEST.NUM_ENSEMBLE_VIEWS", 2,
        "RGBPOSE.RGB.STEM_CHANNELS", 8, "RGBPOSE.RGB.STAGE_INNER_CHANNELS", "[4, 8, 8, 16]",
        "RGBPOSE.POSE.STEM_CHANNELS", 8, "RGBPOSE.POSE.STAGE_INNER_CHANNELS", "[4, 8, 8]",
    ]


def tiny_cfg(ann_file: Path, out_dir: Path, *extra):
    """The demo recipe shrunk to seconds: 4 classes, 32-px frames, one block per stage."""
    opts = tiny_opts(ann_file, out_dir, len(TINY_CLASSES)) + [
        "SOLVER.MAX_EPOCH", 1, "TRAIN.EVAL_PERIOD", 1, "TRAIN.CHECKPOINT_PERIOD", 1, "LOG_PERIOD", 1]
    # The pose-only stage sees 8x8 heatmaps here (the fused model's 32 / 4); stage 1 trains
    # one epoch.
    pose, rgb = "RGBPOSE.RECIPE.POSE_ONLY.", "RGBPOSE.RECIPE.RGB_ONLY."
    opts += [pose + "RGBPOSE.TRANSFORM.RESIZE_SCALE", 9, pose + "DATA.TRAIN_CROP_SIZE", 8,
             pose + "DATA.TEST_CROP_SIZE", 8, pose + "SOLVER.MAX_EPOCH", 1,
             rgb + "DATA.TEST_CROP_SIZE", 32, rgb + "SOLVER.MAX_EPOCH", 1]
    cfg = load_cfg(str(ROOT / "configs" / "demo" / "rgbpose_demo.yaml"), opts + list(extra))
    # Tests set DATA.REPEAT and TRAIN.BATCH_SIZE for every stage at once.
    for section in (cfg.RGBPOSE.RECIPE.POSE_ONLY, cfg.RGBPOSE.RECIPE.RGB_ONLY):
        section.DATA.pop("REPEAT", None)
        section.TRAIN.pop("BATCH_SIZE", None)
        section.SOLVER.pop("REFERENCE_BATCH_SIZE", None)
    return cfg


def cli_opts(cfg, keys) -> list:
    """``cfg``'s values of ``keys`` as command-line ``KEY VALUE`` pairs (no spaces in lists)."""
    return [x for key in keys for x in (key, str(get_key(cfg, key)).replace(" ", ""))]
