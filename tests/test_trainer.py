"""The trainer end to end on a tiny generated dataset: recipe, resume, distributed test."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from trainer_fixtures import DEVICES, ROOT, cli_opts, device_opts, make_tiny_dataset, tiny_cfg

from rgbpose_plugin.config import merge_opts, stage_cfg
from rgbpose_plugin.engine import trainer as trainer_mod
from rgbpose_plugin.engine.stopping import StopRequested, request_stop
from rgbpose_plugin.engine.trainer import train
from rgbpose_plugin.recipe import StageConfigChanged, run_recipe
from rgbpose_plugin.weights.checkpoints import last_checkpoint, list_checkpoints, load_checkpoint


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny_data"))


def test_full_recipe_on_tiny_data(tiny_data, tmp_path):
    cfg = tiny_cfg(tiny_data, tmp_path / "run")
    summary = run_recipe(cfg)
    rows = summary["rows"]
    assert list(rows) == ["rgb-only", "pose-only", "late fusion 1:1", "RGBPoseConv3D rgb",
                          "RGBPoseConv3D pose", "RGBPoseConv3D 1:1", "RGBPoseConv3D 2:1",
                          "RGBPoseConv3D 1:2"]
    assert all(0 <= r["top1"] <= 100 for r in rows.values())
    out = tmp_path / "run"
    for stage in ("rgb_only", "pose_only", "merge", "rgbpose", "test"):
        assert (out / stage / "DONE.json").exists(), stage
    for stage in ("rgb_only", "pose_only", "rgbpose"):
        assert (out / stage / "curves.png").exists() and (out / stage / "log.txt").exists()
        kinds = {json.loads(line)["kind"] for line in (out / stage / "stats.jsonl").read_text().splitlines()}
        assert {"train_iter", "val"} <= kinds
    test_dir = out / "test"
    assert (test_dir / "confusion.png").exists()
    results = pickle.loads((test_dir / "test_results.pkl").read_bytes())
    assert set(results["scores"]) == {"rgb", "pose"} and len(results["video_ids"]) == len(results["labels"])
    assert np.allclose(results["scores"]["rgb"].sum(1), 1, atol=1e-5)  # mean of softmaxes
    assert (out / "summary.md").read_text().startswith("| model / scores |")
    # A second run finds every stage done and only re-summarises.
    again = run_recipe(cfg)
    assert again["rows"] == rows
    # A changed fused-stage setting: stop naming it, or redo that stage and what follows.
    stamps = {s: (out / s / "DONE.json").stat().st_mtime_ns for s in ("rgb_only", "rgbpose", "test")}
    changed = tiny_cfg(tiny_data, out, "RGBPOSE.RECIPE.RGBPOSE.SOLVER.BASE_LR", 0.001)
    with pytest.raises(StageConfigChanged, match=r"stage rgbpose.*SOLVER\.BASE_LR: [\d.]+ -> 0\.001"):
        run_recipe(changed)
    changed.RGBPOSE.RECIPE.ON_CONFIG_CHANGE = "redo"
    run_recipe(changed)
    after = {s: (out / s / "DONE.json").stat().st_mtime_ns for s in stamps}
    assert after["rgb_only"] == stamps["rgb_only"]
    assert after["rgbpose"] != stamps["rgbpose"] and after["test"] != stamps["test"]


def _stop_after(monkeypatch, steps: int):
    real = trainer_mod._Trainer._step
    calls = {"n": 0}

    def step(self, batch):
        values = real(self, batch)
        calls["n"] += 1
        if calls["n"] == steps:
            request_stop()
        return values

    monkeypatch.setattr(trainer_mod._Trainer, "_step", step)


@pytest.mark.parametrize("stop_at", [3, 4])  # mid-epoch, and on the epoch boundary
def test_resumed_run_ends_with_the_same_weights(tiny_data, tmp_path, monkeypatch, stop_at):
    # Pose-only stage: 2 epochs of 4 iterations, cosine LR, dropout and flips on.
    def pose_stage(folder):
        cfg = stage_cfg(tiny_cfg(tiny_data, folder), "pose_only")
        return merge_opts(cfg, ["DATA.REPEAT", 4, "SOLVER.MAX_EPOCH", 2])  # 4 iterations/epoch

    full = pose_stage(tmp_path / "a")
    train(full)
    interrupted = pose_stage(tmp_path / "b")
    _stop_after(monkeypatch, stop_at)
    with pytest.raises(StopRequested) as stop:
        train(interrupted)
    saved = load_checkpoint(stop.value.checkpoint)
    assert (saved["epoch"], saved["iter_in_epoch"]) == divmod(stop_at, 4)
    monkeypatch.undo()
    train(interrupted)  # auto-resume
    a = load_checkpoint(last_checkpoint(full.OUTPUT_DIR))
    b = load_checkpoint(last_checkpoint(interrupted.OUTPUT_DIR))
    assert a["epoch"] == b["epoch"] == 2
    for k, v in a["model_state"].items():
        assert torch.equal(v, b["model_state"][k]), k
    moments = [s["momentum_buffer"] for s in a["optimizer_state"]["state"].values()]
    moments_b = [s["momentum_buffer"] for s in b["optimizer_state"]["state"].values()]
    assert all(torch.equal(x, y) for x, y in zip(moments, moments_b))
    assert len(list_checkpoints(interrupted.OUTPUT_DIR)) >= 2


def test_two_gloo_processes_give_the_same_test_metrics(tiny_data, tmp_path):
    cfg = tiny_cfg(tiny_data, tmp_path / "train", "SOLVER.MAX_EPOCH", 1, "TRAIN.EVAL_PERIOD", 0)
    record = train(stage_cfg(cfg, "rgbpose"))
    outputs = {}
    for procs in (1, 2):
        out = tmp_path / f"test{procs}"
        opts = ["DATA.ANN_FILE", str(tiny_data), "DATA.PATH_PREFIX", str(tiny_data.parent / "videos"),
                "OUTPUT_DIR", str(out), "RGBPOSE.RECIPE.RGBPOSE_CHECKPOINT", record["checkpoint"],
                "RGBPOSE.CPU_PROCESSES", procs, "TEST.BATCH_SIZE", 2]
        opts += cli_opts(cfg, TINY_KEYS)
        res = subprocess.run([sys.executable, str(ROOT / "tools" / "run_net.py"), "--cfg",
                              str(ROOT / "configs" / "demo" / "rgbpose_demo.yaml"), "--stage", "test",
                              "--opts", *map(str, opts)], capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
        outputs[procs] = json.loads((out / "test" / "test_metrics.json").read_text())
        outputs[procs]["scores"] = pickle.loads((out / "test" / "test_results.pkl").read_bytes())
    one, two = outputs[1], outputs[2]
    assert one["num_videos"] == two["num_videos"] == len(one["scores"]["video_ids"])
    assert one["scores"]["video_ids"] == two["scores"]["video_ids"]
    for s in ("rgb", "pose"):
        assert np.allclose(one["scores"]["scores"][s], two["scores"]["scores"][s], atol=1e-5)
    assert one["metrics"].keys() == two["metrics"].keys()
    for name, metrics in one["metrics"].items():
        assert metrics == pytest.approx(two["metrics"][name]), name


# The tiny model/data keys a command line needs to rebuild the tiny config.
TINY_KEYS = ["MODEL.NUM_CLASSES", "DATA.NUM_FRAMES", "DATA.POSE_NUM_FRAMES", "DATA.TEST_CROP_SIZE",
             "RGBPOSE.TRANSFORM.RESIZE_SCALE", "DATA_LOADER.NUM_WORKERS", "TEST.NUM_ENSEMBLE_VIEWS",
             "RGBPOSE.RGB.STEM_CHANNELS", "RGBPOSE.RGB.STAGE_INNER_CHANNELS",
             "RGBPOSE.POSE.STEM_CHANNELS", "RGBPOSE.POSE.STAGE_INNER_CHANNELS"]


@pytest.mark.parametrize("device", DEVICES)
def test_heatmaps_drawn_on_the_device_train_like_shipped_heatmaps(tiny_data, tmp_path, device):
    """HEATMAP.ON_GPU ships keypoints and draws maps on the trainer's device."""
    finals = []
    for on_device in (False, True):
        cfg = tiny_cfg(tiny_data, tmp_path / str(on_device), "TRAIN.EVAL_PERIOD", 0,
                       "RGBPOSE.HEATMAP.ON_GPU", on_device, *device_opts(device))
        record = train(stage_cfg(cfg, "rgbpose"))
        finals.append(load_checkpoint(record["checkpoint"])["model_state"])
    for k, v in finals[0].items():
        assert torch.allclose(v.float(), finals[1][k].float(), atol=1e-4), k


def test_two_cpu_processes_train_a_stage(tiny_data, tmp_path):
    """RGBPOSE.CPU_PROCESSES: 2 spawns two gloo processes that split each batch."""
    from rgbpose_plugin.engine.distributed import launch

    cfg = stage_cfg(tiny_cfg(tiny_data, tmp_path / "ddp"), "pose_only")
    merge_opts(cfg, ["RGBPOSE.CPU_PROCESSES", 2, "TRAIN.BATCH_SIZE", 4, "TRAIN.EVAL_PERIOD", 1])
    launch(cfg, train)  # the parent only spawns; the workers train and save
    ckpt = load_checkpoint(last_checkpoint(cfg.OUTPUT_DIR))
    assert ckpt["epoch"] == 1 and len(ckpt["rng_state"]) == 2  # one RNG state per process
    log = (tmp_path / "ddp" / "pose_only" / "log.txt").read_text()
    assert "2 process(es)" in log and "validation after epoch 1" in log


def test_num_classes_that_disagrees_with_the_label_map_stops_before_training(tiny_data, tmp_path):
    from rgbpose_plugin.config import ConfigError

    cfg = stage_cfg(tiny_cfg(tiny_data, tmp_path / "run", "MODEL.NUM_CLASSES", 5), "pose_only")
    with pytest.raises(ConfigError, match=r"MODEL.NUM_CLASSES is 5 but the label map .*labels.txt "
                                          r".* names 4 classes; set MODEL.NUM_CLASSES: 4"):
        train(cfg)
    assert not (tmp_path / "run" / "pose_only" / "checkpoints").exists()
