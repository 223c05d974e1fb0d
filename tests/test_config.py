"""Config defaults, YAML loading with _BASE_, unknown keys, and host-config reuse."""

import pytest
from fvcore.common.config import CfgNode

from rgbpose_plugin.config import ConfigError, add_rgbpose_config, get_cfg, load_cfg


def test_defaults_have_pyslowfast_groups_and_plugin_keys():
    cfg = get_cfg()
    for key in ("NUM_GPUS", "NUM_SHARDS", "SHARD_ID", "OUTPUT_DIR", "RNG_SEED", "LOG_PERIOD", "TRAIN",
                "TEST", "DATA", "DATA_LOADER", "MODEL", "SOLVER", "BN", "TENSORBOARD", "RGBPOSE"):
        assert key in cfg
    assert cfg.MODEL.MODEL_NAME == "RGBPoseConv3D" and cfg.RGBPOSE.POSE.STAGE_DEPTHS == [4, 6, 3]


def test_yaml_with_base_and_opts(tmp_path):
    (tmp_path / "base.yaml").write_text("MODEL:\n  NUM_CLASSES: 120\nSOLVER:\n  BASE_LR: 0.1\n")
    (tmp_path / "child.yaml").write_text("_BASE_: base.yaml\nSOLVER:\n  BASE_LR: 0.2\n")
    cfg = load_cfg(str(tmp_path / "child.yaml"), ["TRAIN.BATCH_SIZE", "4"])
    assert (cfg.MODEL.NUM_CLASSES, cfg.SOLVER.BASE_LR, cfg.TRAIN.BATCH_SIZE) == (120, 0.2, 4)


def test_unknown_key_names_key_and_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("SOLVER:\n  BASE_RL: 0.1\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*SOLVER\.BASE_RL"):
        load_cfg(str(bad))
    with pytest.raises(ConfigError, match=r"--opts.*MODEL\.NUM_CLASS\b"):
        load_cfg("", ["MODEL.NUM_CLASS", "3"])
    with pytest.raises(ConfigError, match="odd"):
        load_cfg("", ["MODEL.NUM_CLASSES"])


def test_add_config_to_a_host_keeps_host_values():
    host = CfgNode()
    host.DATA = CfgNode()
    host.DATA.PATH_PREFIX = "/host/videos"
    host.DATA.VIDEO_EXT = ".avi"
    host.MODEL = CfgNode()
    host.MODEL.NUM_CLASSES = 400
    add_rgbpose_config(host)
    assert host.DATA.VIDEO_EXT == ".avi" and host.DATA.PATH_PREFIX == "/host/videos"
    assert host.DATA.POSE_NUM_FRAMES == 32 and host.RGBPOSE.HEATMAP.SIGMA == 0.7
    assert "BASE_LR" not in host.get("SOLVER", {})  # only the plugin's own keys are added
