"""Finetuning from zoo models: ``zoo:NAME`` wherever a checkpoint is named, classifiers of
another class count re-initialised, and ``tools/demo_net.py --pretrained``.

Tiny models of the architecture of ``tiny_cfg`` are published with 5 classes into a local
mirror (tests/zoo_fixtures.py); the tiny dataset has 4. Every test has its own torch hub
cache, so each fetches and converts for real.
"""

import json
import pickle
import subprocess
import sys
import time

import pytest
import torch
from assets import run_tool
from trainer_fixtures import ROOT, TINY_CLASSES, make_tiny_dataset, tiny_cfg
from zoo_fixtures import TINY_OPTS, publish_test_model

from rgbpose_plugin.config import stage_cfg
from rgbpose_plugin.engine import trainer as trainer_mod
from rgbpose_plugin.engine.trainer import train
from rgbpose_plugin.recipe import done_path, run_recipe
from rgbpose_plugin.weights import WeightMismatchError
from rgbpose_plugin.weights.checkpoints import CheckpointError, load_checkpoint
from rgbpose_plugin.weights.finetune import CLASSIFIER_PATTERN

ZOO_CLASSES = 5  # the tiny dataset has len(TINY_CLASSES) == 4
# The test settings of tiny_cfg, so the zoo model's own config predicts in a second.
TEST_OPTS = ("DATA.NUM_FRAMES", "4", "DATA.POSE_NUM_FRAMES", "16", "DATA.TEST_CROP_SIZE", "32",
             "RGBPOSE.TRANSFORM.RESIZE_SCALE", "36", "TEST.NUM_ENSEMBLE_VIEWS", "2")
FUSED_HEAD = ["blocks.5.proj.pose.bias", "blocks.5.proj.pose.weight", "blocks.5.proj.rgb.bias",
              "blocks.5.proj.rgb.weight"]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """``{name: publish_test_model's answer}``, all in one catalog and one mirror."""
    folder = tmp_path_factory.mktemp("lab")
    models = {"tiny_fused": ("rgbpose", ZOO_CLASSES), "tiny_fused4": ("rgbpose", len(TINY_CLASSES)),
              "tiny_rgb": ("rgb", ZOO_CLASSES), "tiny_pose": ("pose", ZOO_CLASSES)}
    return {name: publish_test_model(folder, kind, name=name, num_classes=classes,
                                     opts=TINY_OPTS + TEST_OPTS, seed=i)
            for i, (name, (kind, classes)) in enumerate(models.items())}


@pytest.fixture
def zoo(published, monkeypatch, tmp_path):
    info = next(iter(published.values()))
    monkeypatch.setenv("RGBPOSE_ZOO_CATALOG", str(info["catalog"]))
    monkeypatch.setenv("RGBPOSE_ZOO_MIRROR", str(info["mirror"]))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return published


def _done(cfg, name):
    return json.loads(open(done_path(cfg, name)).read())


def _spy_on_init(monkeypatch) -> list:
    """The model's state right after the trainer loaded its start weights, per call."""
    seen = []

    def spy(model, state, source):
        fresh = real(model, state, source)
        seen.append(({k: v.clone() for k, v in model.state_dict().items()}, fresh))
        return fresh

    real = trainer_mod.load_for_finetune
    monkeypatch.setattr(trainer_mod, "load_for_finetune", spy)
    return seen


def _check_start(start, published_state, classes):
    """Everything but the classifiers is the published model's; those have ``classes``."""
    state, fresh = start
    head = sorted(k for k in state if CLASSIFIER_PATTERN.fullmatch(k))
    assert fresh == head
    for key, value in state.items():
        if key in head:
            assert value.shape[0] == classes and published_state[key].shape[0] == ZOO_CLASSES
        else:
            assert torch.equal(value, published_state[key]), key


def test_merge_checkpoint_from_the_zoo_finetunes_the_fused_model(zoo, tiny_data, tmp_path, monkeypatch):
    seen = _spy_on_init(monkeypatch)
    cfg = tiny_cfg(tiny_data, tmp_path / "run", "RGBPOSE.RECIPE.MERGE_CHECKPOINT", "zoo:tiny_fused")
    summary = run_recipe(cfg)
    for skipped in ("rgb_only", "pose_only", "merge"):
        assert not (tmp_path / "run" / skipped).exists()
    assert len(seen) == 1
    _check_start(seen[0], zoo["tiny_fused"]["model_state"], len(TINY_CLASSES))
    record = _done(cfg, "rgbpose")
    [used] = record["zoo"]
    assert used["key"] == "RGBPOSE.RECIPE.MERGE_CHECKPOINT" and used["model"] == "tiny_fused"
    assert used["file"].startswith(str(tmp_path / "torch")) and used["file"].endswith(".pyth")
    log = (tmp_path / "run" / "rgbpose" / "log.txt").read_text()
    assert f"initialised from {used['file']} (zoo model tiny_fused)" in log
    line = next(x for x in log.splitlines() if "re-initialised" in x)
    assert ", ".join(FUSED_HEAD) in line and f"has {ZOO_CLASSES} classes" in line
    assert f"MODEL.NUM_CLASSES is {len(TINY_CLASSES)}" in line
    run_log = (tmp_path / "run" / "log.txt").read_text()
    assert f"stage rgbpose: RGBPOSE.RECIPE.MERGE_CHECKPOINT zoo:tiny_fused -> {used['file']}" in run_log
    assert "stage merge: skipped, weights supplied zoo:tiny_fused" in run_log
    assert "stage rgb_only: skipped, weights supplied (not needed: merge weights supplied)" in run_log
    assert "top1" in _done(cfg, "test")["test"]["metrics"]["1:1"]
    assert "RGBPoseConv3D 1:1" in summary["rows"]
    trained = load_checkpoint(record["checkpoint"])["model_state"]
    assert trained["blocks.5.proj.rgb.weight"].shape[0] == len(TINY_CLASSES)


def test_stage1_checkpoints_from_the_zoo_merge_with_fresh_classifiers(zoo, tiny_data, tmp_path):
    cfg = tiny_cfg(tiny_data, tmp_path / "run", "RGBPOSE.RECIPE.STAGES", "['merge']",
                      "RGBPOSE.RECIPE.RGB_ONLY_CHECKPOINT", "zoo:tiny_rgb",
                      "RGBPOSE.RECIPE.POSE_ONLY_CHECKPOINT", "zoo:tiny_pose")
    run_recipe(cfg)
    record = _done(cfg, "merge")
    assert [u["model"] for u in record["zoo"]] == ["tiny_rgb", "tiny_pose"]
    assert record["sources"] == [u["file"] for u in record["zoo"]]
    merged = load_checkpoint(record["checkpoint"])
    assert merged["reinitialised"] == FUSED_HEAD
    state = merged["model_state"]
    assert all(state[k].shape[0] == len(TINY_CLASSES) for k in FUSED_HEAD)
    for stream, index in (("rgb", 0), ("pose", 1)):  # the stems are the published ones
        published = zoo[f"tiny_{stream}"]["model_state"]["blocks.0.multipathway_blocks.0.conv.weight"]
        assert torch.equal(state[f"blocks.0.multipathway_blocks.{index}.conv.weight"], published)
    log = (tmp_path / "run" / "merge" / "log.txt").read_text()
    line = next(x for x in log.splitlines() if "re-initialised" in x)
    assert ", ".join(FUSED_HEAD) in line and f"has {ZOO_CLASSES}" in line
    assert f"MODEL.NUM_CLASSES is {len(TINY_CLASSES)}" in line


def test_other_mismatches_still_stop(zoo, tiny_data, tmp_path):
    """Another model kind (or architecture) is no finetune: the trainer and the merge stop."""
    cfg = tiny_cfg(tiny_data, tmp_path / "run", "TRAIN.CHECKPOINT_FILE_PATH", "zoo:tiny_rgb")
    with pytest.raises(WeightMismatchError, match="do not fit the model: .*missing"):
        train(stage_cfg(cfg, "rgbpose"))
    cfg = tiny_cfg(tiny_data, tmp_path / "run2", "RGBPOSE.RECIPE.STAGES", "['merge']",
                      "RGBPOSE.RECIPE.RGB_ONLY_CHECKPOINT", "zoo:tiny_pose",
                      "RGBPOSE.RECIPE.POSE_ONLY_CHECKPOINT", "zoo:tiny_pose")
    with pytest.raises(WeightMismatchError, match="expected a rgb-only model, got a pose model"):
        run_recipe(cfg)


def test_train_checkpoint_in_a_stage_section_finetunes_that_stage(zoo, tiny_data, tmp_path, monkeypatch):
    seen = _spy_on_init(monkeypatch)
    cfg = tiny_cfg(tiny_data, tmp_path / "run", "RGBPOSE.RECIPE.STAGES", "['rgb_only']",
                      "RGBPOSE.RECIPE.RGB_ONLY.TRAIN.CHECKPOINT_FILE_PATH", "zoo:tiny_rgb")
    run_recipe(cfg)
    _check_start(seen[0], zoo["tiny_rgb"]["model_state"], len(TINY_CLASSES))
    record = _done(cfg, "rgb_only")
    assert [(u["key"], u["model"]) for u in record["zoo"]] == [("TRAIN.CHECKPOINT_FILE_PATH", "tiny_rgb")]
    assert "test" in record
    log = (tmp_path / "run" / "rgb_only" / "log.txt").read_text()
    assert "re-initialised blocks.5.proj.rgb.bias, blocks.5.proj.rgb.weight" in log


def test_test_checkpoint_from_the_zoo(zoo, tiny_data, tmp_path):
    """A zoo model of the dataset's class count is tested as it is; another count is one line."""
    cfg = tiny_cfg(tiny_data, tmp_path / "run", "RGBPOSE.RECIPE.STAGES", "['test']",
                      "TEST.CHECKPOINT_FILE_PATH", "zoo:tiny_fused4")
    run_recipe(cfg)
    record = _done(cfg, "test")
    assert record["zoo"][0]["model"] == "tiny_fused4" and record["checkpoint"] == record["zoo"][0]["file"]
    cfg = tiny_cfg(tiny_data, tmp_path / "run2", "RGBPOSE.RECIPE.STAGES", "['test']",
                      "TEST.CHECKPOINT_FILE_PATH", "zoo:tiny_fused")
    with pytest.raises(CheckpointError, match=r"does not fit .*MODEL.NUM_CLASSES 4.*of another shape"):
        run_recipe(cfg)


def test_unknown_zoo_name_stops_run_net_before_any_stage(zoo, tiny_data, tmp_path):
    """The bad name sits in the 4th stage's section: the run stops before the 1st trains."""
    cfg_file = tmp_path / "tiny.yaml"
    cfg_file.write_text(tiny_cfg(tiny_data, tmp_path / "run").dump())
    start = time.monotonic()
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "run_net.py"), "--cfg", str(cfg_file),
                          "--opts", "RGBPOSE.RECIPE.RGBPOSE.TRAIN.CHECKPOINT_FILE_PATH", "zoo:nope"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    elapsed = time.monotonic() - start
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    [line] = res.stderr.strip().splitlines()
    assert "unknown zoo model 'nope'" in line and "ntu60_xsub" in line and "tiny_fused" in line
    assert not (tmp_path / "run" / "rgb_only").exists()
    assert elapsed < 60, elapsed


def test_demo_net_pretrained(zoo, tiny_data, tmp_path, capsys):
    name = pickle.loads(tiny_data.read_bytes())["split"]["test"][0]
    video = tiny_data.parent / "videos" / f"{name}.mp4"
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "tools" / "demo_net.py"), "--pretrained", "tiny_fused",
           "--video", str(video), "--skeleton", str(tiny_data), "--out", str(out), "--no-video",
           "--quiet"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    names = zoo["tiny_fused"]["class_names"]
    assert f"Top-{ZOO_CLASSES} fused" in res.stdout and names[0] in res.stdout
    report = json.loads((out / "prediction.json").read_text())
    assert report["zoo"]["name"] == "tiny_fused" and report["labels"] == "stored in the checkpoint"
    assert {t["name"] for t in report["top5"]["fused"]} == set(names)
    # --labels of another class count: one line naming both counts.
    args = ["--checkpoint", "zoo:tiny_fused", "--video", str(video), "--skeleton", str(tiny_data),
            "--out", str(out), "--labels", "ntu60", "--no-video", "--quiet"]
    assert run_tool("demo_net", args) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "60 class names" in line and f"the model has {ZOO_CLASSES} classes" in line
    # Exactly one of --checkpoint and --pretrained.
    for both_or_none in (args[:2] + ["--pretrained", "tiny_fused"], []):
        with pytest.raises(SystemExit):
            run_tool("demo_net", both_or_none + args[2:])
