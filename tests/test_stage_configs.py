"""Stage configs: built from the stage graph, checked all at once, recorded and compared."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rgbpose_plugin.config import ConfigError, config_changes, load_cfg, stage_cfg
from rgbpose_plugin.model_kinds import MODEL_KINDS, model_kind
from rgbpose_plugin.recipe import StageConfigChanged, done_path, run_stage
from rgbpose_plugin.stage_graph import STAGES, downstream, stage_that_tests, upstream

ROOT = Path(__file__).resolve().parents[1]
NTU = ROOT / "configs" / "rgbpose_ntu.yaml"
DEMO = ROOT / "configs" / "demo" / "rgbpose_demo.yaml"


def test_each_stage_gets_its_model_and_datasets_from_the_graph():
    cfg = load_cfg(str(NTU))
    for st in STAGES:
        scfg = stage_cfg(cfg, st.name)
        kind = model_kind(st.model)
        assert scfg.MODEL.MODEL_NAME == kind.name
        assert scfg.TRAIN.DATASET == scfg.TEST.DATASET == kind.dataset
        assert scfg.OUTPUT_DIR.endswith(st.name)
    rgb = stage_cfg(cfg, "rgb_only")  # its section, merged key by key over the base
    assert (rgb.TRAIN.BATCH_SIZE, rgb.SOLVER.BASE_LR, rgb.SOLVER.LR_POLICY) == (96, 0.15, "cosine")
    assert rgb.SOLVER.WEIGHT_DECAY == cfg.SOLVER.WEIGHT_DECAY  # not restated: the base's
    pose = stage_cfg(cfg, "pose_only")
    assert (pose.RGBPOSE.HEATMAP.SIGMA, pose.DATA.TRAIN_CROP_SIZE) == (0.6, 56)


def test_graph_tables_are_consistent():
    assert {k.dataset for k in MODEL_KINDS} == {"rgbpose", "rgbpose_rgb", "rgbpose_pose"}
    assert upstream("test") == ["rgb_only", "pose_only", "merge", "rgbpose"]
    assert downstream("rgb_only") == ["merge", "rgbpose", "test"]
    assert stage_that_tests("RGBPoseConv3D").name == "test"
    assert stage_that_tests("PoseSlowOnly").name == "pose_only"


def test_a_mistyped_key_in_a_later_stage_fails_at_load(tmp_path):
    bad = tmp_path / "typo.yaml"
    bad.write_text(f"_BASE_: {DEMO}\nRGBPOSE:\n  RECIPE:\n    RGBPOSE:\n"
                   f"      SOLVER: {{BASE_LRR: 0.1}}\n")
    where = r"typo\.yaml.*stage merge.*RGBPOSE\.RECIPE\.RGBPOSE"
    with pytest.raises(ConfigError, match=where + r".*SOLVER\.BASE_LRR"):
        load_cfg(str(bad))
    with pytest.raises(ConfigError, match=r"--opts.*stage rgb_only.*SOLVER\.MAX_EPOHC"):
        load_cfg(str(DEMO), ["RGBPOSE.RECIPE.RGB_ONLY.SOLVER.MAX_EPOHC", 2])
    with pytest.raises(ConfigError, match=r"stage test.*RGBPOSE\.AMP_DTYPE is 'BF16'"):
        load_cfg(str(DEMO), ["RGBPOSE.RECIPE.TEST.RGBPOSE.AMP_DTYPE", "BF16"])


def test_a_section_cannot_change_a_stages_model():
    with pytest.raises(ConfigError, match=r"stage rgb_only.*MODEL\.MODEL_NAME.*stage graph"):
        load_cfg(str(NTU), ["RGBPOSE.RECIPE.RGB_ONLY.MODEL.MODEL_NAME", "RGBPoseConv3D"])


def test_a_stage_override_adds_to_the_section_and_the_epoch_cap():
    cfg = load_cfg(str(NTU), ["RGBPOSE.RECIPE.RGB_ONLY.SOLVER.MAX_EPOCH", 2])
    rgb = stage_cfg(cfg, "rgb_only")
    assert (rgb.SOLVER.MAX_EPOCH, rgb.SOLVER.BASE_LR, rgb.MODEL.MODEL_NAME) == (2, 0.15, "RGBSlowOnly")
    quick = load_cfg(str(NTU), ["RGBPOSE.RECIPE.MAX_EPOCH", 2])
    fused = stage_cfg(quick, "rgbpose")
    assert (fused.SOLVER.MAX_EPOCH, fused.SOLVER.STEPS) == (2, [0, 1, 2])  # 0, 12, 16 of 20
    assert stage_cfg(quick, "pose_only").SOLVER.MAX_EPOCH == 2


def test_config_changes_ignore_runtime_keys():
    cfg = load_cfg(str(NTU))
    before = stage_cfg(cfg, "rgbpose")
    after = before.clone()
    after.DATA_LOADER.NUM_WORKERS, after.OUTPUT_DIR = 1, "/elsewhere"
    assert config_changes(before.dump(), after) == []
    after.SOLVER.BASE_LR = 0.5
    assert config_changes(before.dump(), after) == ["SOLVER.BASE_LR: 0.0075 -> 0.5"]


def test_a_finished_stage_with_another_config_stops_or_is_reused(tmp_path):
    cfg = load_cfg(str(NTU), ["OUTPUT_DIR", str(tmp_path)])
    record = {"checkpoint": "x.pyth", "config": stage_cfg(cfg, "merge").dump()}
    Path(done_path(cfg, "merge")).parent.mkdir(parents=True)
    Path(done_path(cfg, "merge")).write_text(json.dumps(record))
    assert run_stage(cfg, "merge")["checkpoint"] == "x.pyth"  # same config: done
    changed = load_cfg(str(NTU), ["OUTPUT_DIR", str(tmp_path), "RGBPOSE.FUSION.KERNEL_T", 5])
    with pytest.raises(StageConfigChanged,
                       match=r"stage merge.*RGBPOSE\.FUSION\.KERNEL_T: 7 -> 5.*--reuse.*--redo"):
        run_stage(changed, "merge")
    changed.RGBPOSE.RECIPE.ON_CONFIG_CHANGE = "reuse"
    assert run_stage(changed, "merge")["checkpoint"] == "x.pyth"


def _run_net(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "tools" / "run_net.py"), *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_run_net_reports_config_mistakes_in_one_line_before_any_stage(tmp_path):
    bad = tmp_path / "typo.yaml"
    bad.write_text(f"_BASE_: {DEMO}\nOUTPUT_DIR: {tmp_path / 'out'}\nRGBPOSE:\n  RECIPE:\n"
                   f"    RGBPOSE:\n      SOLVER: {{BASE_LRR: 0.1}}\n")
    start = time.monotonic()
    res = _run_net("--cfg", str(bad), cwd=tmp_path)
    elapsed = time.monotonic() - start
    assert res.returncode == 2 and "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "SOLVER.BASE_LRR" in lines[0] and "typo.yaml" in lines[0], res.stderr
    assert not (tmp_path / "out").exists()  # no stage started
    print(f"typo reported in {elapsed:.1f} s")
    for args, words in (((), "Non-existent key: MODEL.NUM_CLASS"),
                        (("--cfg", str(tmp_path / "absent.yaml")), "absent.yaml")):
        cmd = args or ("--cfg", str(DEMO), "--opts", "MODEL.NUM_CLASS", "3")
        res = _run_net(*cmd, cwd=tmp_path)
        assert res.returncode == 2 and "Traceback" not in res.stderr and words in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
