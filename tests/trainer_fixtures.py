"""A tiny generated dataset and a tiny config for trainer tests (seconds, not minutes)."""

from pathlib import Path

from rgbpose_plugin.config import load_cfg

ROOT = Path(__file__).resolve().parents[1]
TINY_CLASSES = ["wave", "squat", "drink_red_cup", "drink_blue_cup"]


def make_tiny_dataset(folder: Path) -> Path:
    from rgbpose_plugin.demo_data import make_demo_dataset

    return make_demo_dataset(folder, seed=0, videos_per_class=3, num_frames=(16, 20),
                             classes=TINY_CLASSES, workers=1)


def tiny_cfg(ann_file: Path, out_dir: Path, *extra):
    """The demo recipe shrunk to seconds: 4 classes, 32-px frames, one block per stage."""
    opts = [
        "DATA.ANN_FILE", str(ann_file), "DATA.PATH_PREFIX", str(Path(ann_file).parent / "videos"),
        "OUTPUT_DIR", str(out_dir), "MODEL.NUM_CLASSES", len(TINY_CLASSES),
        "DATA.NUM_FRAMES", 4, "DATA.POSE_NUM_FRAMES", 16,
        "DATA.TRAIN_CROP_SIZE", 32, "DATA.TEST_CROP_SIZE", 32, "RGBPOSE.TRANSFORM.RESIZE_SCALE", 36,
        "DATA_LOADER.NUM_WORKERS", 0, "TRAIN.BATCH_SIZE", 4, "TEST.BATCH_SIZE", 2,
        "TEST.NUM_ENSEMBLE_VIEWS", 2, "SOLVER.MAX_EPOCH", 1, "TRAIN.EVAL_PERIOD", 1,
        "TRAIN.CHECKPOINT_PERIOD", 1, "LOG_PERIOD", 1,
        "RGBPOSE.RGB.STEM_CHANNELS", 8, "RGBPOSE.RGB.STAGE_INNER_CHANNELS", "[4, 8, 8, 16]",
        "RGBPOSE.POSE.STEM_CHANNELS", 8, "RGBPOSE.POSE.STAGE_INNER_CHANNELS", "[4, 8, 8]",
    ]
    cfg = load_cfg(str(ROOT / "configs" / "demo" / "rgbpose_demo.yaml"), opts + list(extra))
    pose_only = list(cfg.RGBPOSE.RECIPE.POSE_ONLY_OPTS)
    # The pose-only stage sees 8x8 heatmaps here (the fused model's 32 / 4).
    for key, value in (("RGBPOSE.TRANSFORM.RESIZE_SCALE", 9), ("DATA.TRAIN_CROP_SIZE", 8),
                       ("DATA.TEST_CROP_SIZE", 8), ("SOLVER.MAX_EPOCH", 1)):
        pose_only[pose_only.index(key) + 1] = value
    if "DATA.REPEAT" in pose_only:  # the demo repeats the cheap pose data; tests set their own
        at = pose_only.index("DATA.REPEAT")
        del pose_only[at:at + 2]
    cfg.RGBPOSE.RECIPE.POSE_ONLY_OPTS = pose_only
    rgb_only = list(cfg.RGBPOSE.RECIPE.RGB_ONLY_OPTS)
    for key, value in (("DATA.TEST_CROP_SIZE", 32), ("SOLVER.MAX_EPOCH", 1)):
        rgb_only[rgb_only.index(key) + 1] = value
    cfg.RGBPOSE.RECIPE.RGB_ONLY_OPTS = rgb_only
    return cfg
