"""Default configuration, shaped like PySlowFast's, plus the plugin's own keys.

Two entry points:

* :func:`get_cfg` returns a complete config for this plugin's own trainer: the
  PySlowFast-style host groups (NUM_GPUS, TRAIN, TEST, DATA, MODEL, SOLVER, ...) with
  their defaults, then :func:`add_rgbpose_config` on top.
* :func:`add_rgbpose_config` adds only the plugin's keys to a host project's config,
  the way detectron2 projects do (``add_pointrend_config``). Keys the host already has
  keep the host's value.

Defaults describe the published NTU-60 RGBPoseConv3D model and its data pipeline
(docs/design.md sections 1-3); the staged recipe's per-stage sections live in
``RGBPOSE.RECIPE`` and the YAML files under ``configs/``.
"""

from __future__ import annotations

from fvcore.common.config import CfgNode

from ..keypoints import KeypointLayout
from ..stage_graph import SECTIONS, STAGE_NAMES, STAGES

# The seed of the reference's test-clip draws (mmaction2 / pyskl): the clips of the
# val/test splits are theirs to the frame.
REFERENCE_TEST_SEED = 255


def _host_defaults() -> CfgNode:
    """The PySlowFast-style groups a host project would already have."""
    _C = CfgNode()
    _C.NUM_GPUS = 0  # GPUs per shard (node); 0 trains on the CPU.
    _C.NUM_SHARDS = 1  # Number of nodes.
    _C.SHARD_ID = 0  # This node's index.
    _C.OUTPUT_DIR = "./output"
    _C.RNG_SEED = 1
    _C.LOG_PERIOD = 10
    _C.DIST_BACKEND = "nccl"  # Used with GPUs; CPU processes always use gloo.

    _C.TRAIN = CfgNode()
    _C.TRAIN.ENABLE = True
    _C.TRAIN.DATASET = "rgbpose"
    # Clips per iteration on one shard (node), split over its processes; as PySlowFast
    # divides it by NUM_GPUS, the total over NUM_SHARDS nodes is NUM_SHARDS times this.
    _C.TRAIN.BATCH_SIZE = 48
    _C.TRAIN.EVAL_PERIOD = 1
    _C.TRAIN.CHECKPOINT_PERIOD = 1
    _C.TRAIN.AUTO_RESUME = True
    _C.TRAIN.CHECKPOINT_FILE_PATH = ""  # Weights to start from (model_state only here).
    _C.TRAIN.MIXED_PRECISION = False  # PySlowFast's: autocast (CUDA only); see RGBPOSE.AMP_DTYPE.

    _C.TEST = CfgNode()
    _C.TEST.ENABLE = True
    _C.TEST.DATASET = "rgbpose"
    # Clips (views) per batch on one shard, as in PySlowFast; the plugin's own tester rounds
    # it down to whole videos of NUM_ENSEMBLE_VIEWS views each (at least one video).
    _C.TEST.BATCH_SIZE = 80
    _C.TEST.NUM_ENSEMBLE_VIEWS = 10  # Temporal clips per video.
    _C.TEST.NUM_SPATIAL_CROPS = 1  # The plugin tests the whole (compacted) frame: must be 1.
    _C.TEST.CHECKPOINT_FILE_PATH = ""
    _C.TEST.SAVE_RESULTS_PATH = ""  # Relative to OUTPUT_DIR (os.path.join), as in PySlowFast.

    _C.DATA = CfgNode()
    _C.DATA.PATH_TO_DATA_DIR = ""
    _C.DATA.PATH_PREFIX = ""  # Folder holding <frame_dir><VIDEO_EXT>.
    _C.DATA.NUM_FRAMES = 8  # RGB frames per clip.
    _C.DATA.TRAIN_CROP_SIZE = 224
    _C.DATA.TEST_CROP_SIZE = 256
    _C.DATA.MEAN = [0.485, 0.456, 0.406]  # On a 0-1 scale (PySlowFast's convention).
    _C.DATA.STD = [0.229, 0.224, 0.225]
    _C.DATA.RANDOM_FLIP = True

    _C.DATA_LOADER = CfgNode()
    _C.DATA_LOADER.NUM_WORKERS = 2
    _C.DATA_LOADER.PIN_MEMORY = True

    _C.MODEL = CfgNode()
    _C.MODEL.MODEL_NAME = "RGBPoseConv3D"
    _C.MODEL.NUM_CLASSES = 60
    _C.MODEL.DROPOUT_RATE = 0.5

    _C.SOLVER = CfgNode()
    _C.SOLVER.OPTIMIZING_METHOD = "sgd"
    _C.SOLVER.BASE_LR = 0.0075
    # PySlowFast's policies, applied per iteration: "cosine" (BASE_LR to COSINE_END_LR) or
    # "steps_with_relative_lrs" (BASE_LR * LRS[i] from epoch STEPS[i]; STEPS starts at 0).
    _C.SOLVER.LR_POLICY = "steps_with_relative_lrs"
    _C.SOLVER.STEPS = [0, 12, 16]
    _C.SOLVER.LRS = [1.0, 0.1, 0.01]
    _C.SOLVER.COSINE_END_LR = 0.0
    _C.SOLVER.COSINE_AFTER_WARMUP = False  # Cosine starts after the warm-up epochs.
    _C.SOLVER.MAX_EPOCH = 20
    _C.SOLVER.MOMENTUM = 0.9
    _C.SOLVER.NESTEROV = False
    _C.SOLVER.WEIGHT_DECAY = 1e-4
    _C.SOLVER.WARMUP_EPOCHS = 0.0
    _C.SOLVER.WARMUP_START_LR = 0.0
    _C.SOLVER.CLIP_GRAD_L2NORM = 40.0  # 0 disables clipping.

    _C.BN = CfgNode()
    _C.BN.WEIGHT_DECAY = 1e-4  # The reference decays BN parameters like the rest.

    _C.TENSORBOARD = CfgNode()
    _C.TENSORBOARD.ENABLE = False
    _C.TENSORBOARD.LOG_DIR = ""  # As PySlowFast: OUTPUT_DIR/runs-<TRAIN.DATASET>/LOG_DIR.
    return _C


def _set_missing(node: CfgNode, key: str, value) -> None:
    """Set ``node.key`` unless the host config already defines it."""
    if key not in node:
        node[key] = value


def _pathway(in_channels, stem_channels, stem_stride, pool_stride, depths, inner,
             spatial_strides, inflate) -> CfgNode:
    p = CfgNode()
    p.IN_CHANNELS = in_channels
    p.STEM_CHANNELS = stem_channels
    p.STEM_SPATIAL_STRIDE = stem_stride
    p.POOL_SPATIAL_STRIDE = pool_stride
    p.STAGE_DEPTHS = depths
    p.STAGE_INNER_CHANNELS = inner  # Output width is 4x (bottleneck expansion).
    p.STAGE_SPATIAL_STRIDES = spatial_strides
    p.STAGE_INFLATE = inflate  # 1: first conv of each block is 3x1x1 instead of 1x1x1.
    return p


def add_rgbpose_config(cfg: CfgNode, host_mode: bool = True) -> CfgNode:
    """Add the plugin's keys to ``cfg`` in place (and return it).

    Only keys the config lacks are added, so a host project's own settings win.
    ``host_mode`` is the default of ``RGBPOSE.HOST_MODE``: True for a host project's
    config (PySlowFast-shaped items and outputs), False from :func:`get_cfg`.
    """
    # --- Keys inside the host's groups -------------------------------------------------
    for group in ("DATA", "TRAIN", "TEST", "MODEL", "SOLVER", "DATA_LOADER"):
        _set_missing(cfg, group, CfgNode())
    _set_missing(cfg.DATA, "ANN_FILE", "")  # pyskl/mmaction2 annotation pickle.
    _set_missing(cfg.DATA, "VIDEO_EXT", ".mp4")
    _set_missing(cfg.DATA, "TRAIN_SPLIT", "xsub_train")
    _set_missing(cfg.DATA, "VAL_SPLIT", "xsub_val")
    _set_missing(cfg.DATA, "TEST_SPLIT", "xsub_val")
    _set_missing(cfg.DATA, "POSE_NUM_FRAMES", 32)  # Pose frames per clip (4x RGB).
    _set_missing(cfg.DATA, "TEST_SEED", REFERENCE_TEST_SEED)
    _set_missing(cfg.DATA, "REPEAT", 1)  # Dataset repeats per epoch (training split).
    # What a bad sample does: "raise" (stop, naming the sample) or "skip" (log, count,
    # and use another sample).
    _set_missing(cfg.DATA, "ON_ERROR", "raise")
    _set_missing(cfg.DATA, "DECODE_THREADS", 0)  # PyAV codec threads; 0 = automatic.
    # Speed options, on the CPU as on CUDA (engine/fast_paths.py); testing uses CHANNELS_LAST.
    _set_missing(cfg.TRAIN, "CHANNELS_LAST", False)  # channels_last_3d weights and inputs.
    _set_missing(cfg.TRAIN, "COMPILE", False)  # torch.compile the training network.
    _set_missing(cfg.TEST, "FUSION_WEIGHTS", [[1.0, 1.0], [2.0, 1.0], [1.0, 2.0]])
    # >0: the plugin's trainer scales BASE_LR by (TRAIN.BATCH_SIZE * NUM_SHARDS) / this.
    # PySlowFast's trainer does not scale: under a host, BASE_LR is used as written.
    _set_missing(cfg.SOLVER, "REFERENCE_BATCH_SIZE", 0)

    # --- The plugin's own group ---------------------------------------------------------
    if "RGBPOSE" in cfg:
        return cfg
    _R = cfg.RGBPOSE = CfgNode()
    # True: datasets give PySlowFast's (inputs, label, index, time, meta) tuples, one test
    # item per (video, view), and models give one (N, C) tensor (rgbpose_plugin.host).
    # False: the plugin's own dict items and {"rgb", "pose"} outputs.
    _R.HOST_MODE = bool(host_mode)
    # Autocast dtype when TRAIN.MIXED_PRECISION is on: "fp16" (with a gradient scaler, as
    # PySlowFast) or "bf16" (no scaler). Only the plugin's own trainer reads it.
    _R.AMP_DTYPE = "fp16"
    # CPU processes per shard when NUM_GPUS is 0 (DDP over gloo); 1 trains in-process.
    _R.CPU_PROCESSES = 1
    # Bound on joining the process group and on any one collective: a rank that died makes
    # the others fail after this long instead of waiting forever.
    _R.DIST_TIMEOUT_S = 600

    # Data layout: which joints exist, how they flip, which limbs connect them.
    _R.KEYPOINTS = CfgNode()
    coco17 = KeypointLayout()
    _R.KEYPOINTS.NUM = coco17.num_joints
    _R.KEYPOINTS.FLIP_LEFT = list(coco17.flip_left)
    _R.KEYPOINTS.FLIP_RIGHT = list(coco17.flip_right)
    _R.KEYPOINTS.LIMBS = [list(limb) for limb in coco17.limbs]

    # Pseudo-heatmaps (docs/design.md section 3, step 5).
    _R.HEATMAP = CfgNode()
    _R.HEATMAP.SIGMA = 0.7
    _R.HEATMAP.WITH_KP = True
    _R.HEATMAP.WITH_LIMB = False
    _R.HEATMAP.SCALING = 0.25  # Heatmap size relative to the RGB frames.
    _R.HEATMAP.SCORE_EPS = 1e-4  # Joints with a lower score are not drawn.
    _R.HEATMAP.ON_GPU = False  # Ship keypoints; draw heatmaps on the trainer's device.

    # Frame geometry around the people (docs/design.md section 3, steps 3-4).
    _R.TRANSFORM = CfgNode()
    _R.TRANSFORM.COMPACT_PADDING = 0.25
    _R.TRANSFORM.COMPACT_THRESHOLD = 10
    _R.TRANSFORM.RESIZE_SCALE = 256  # Frames are resized to this square before cropping.
    _R.TRANSFORM.CROP_AREA = [0.56, 1.0]
    _R.TRANSFORM.CROP_ASPECT = [0.75, 1.3333333333333333]

    # Architecture (docs/design.md section 1). Widths and depths are config so that tiny
    # models for tests and the demo run through the same builders.
    _R.RGB = _pathway(3, 64, 2, 2, [3, 4, 6, 3], [64, 128, 256, 512], [1, 2, 2, 2],
                      [0, 0, 1, 1])
    _R.POSE = _pathway(17, 32, 1, 1, [4, 6, 3], [32, 64, 128], [2, 2, 2], [0, 1, 1])
    _R.FUSION = CfgNode()
    # RGB stages (1-based) after which the two pathways exchange features; the pose
    # stage aligned with RGB stage s is s - (len(RGB depths) - len(POSE depths)).
    _R.FUSION.RGB_STAGES = [2, 3]
    _R.FUSION.KERNEL_T = 7
    _R.FUSION.RGB_TO_POSE_RATIO = 16  # Channel reduction of the RGB->pose lateral.
    _R.HEAD = CfgNode()
    _R.HEAD.LOSS_WEIGHTS = [1.0, 1.0]  # CE(rgb), CE(pose).

    # The staged recipe (rgbpose_plugin/stage_graph.py). A stage runs with the base config
    # plus its sections here (RGB_ONLY: {SOLVER: {BASE_LR: 0.15}, ...}); the stage graph
    # sets each stage's model and datasets. See rgbpose_plugin/config/stages.py.
    _R.RECIPE = CfgNode()
    _R.RECIPE.STAGES = list(STAGE_NAMES)  # the stages a run executes (in graph order)
    for section in SECTIONS:
        _R.RECIPE[section] = CfgNode(new_allowed=True)
    # Released or converted weights: a stage with a checkpoint here is skipped, and so
    # are the stages that only feed it.
    for st in STAGES:
        if st.supplied_key:
            _R.RECIPE[st.supplied_key] = ""
    # >0: every training stage trains at most this many epochs, its LR schedule
    # compressed to fit (a quick try of the whole recipe).
    _R.RECIPE.MAX_EPOCH = 0
    # A finished stage whose recorded config differs from this run's: "stop" (say which
    # keys differ), "reuse" (keep its results) or "redo" (run it and what follows again).
    _R.RECIPE.ON_CONFIG_CHANGE = "stop"
    return cfg


def get_cfg() -> CfgNode:
    """A fresh copy of the complete default config."""
    return add_rgbpose_config(_host_defaults(), host_mode=False)
