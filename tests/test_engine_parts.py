"""Trainer parts: metrics, LR schedules, samplers, atomic checkpoints."""

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from rgbpose_plugin.config import get_cfg
from rgbpose_plugin.engine.evaluation import (
    ScoreCollector,
    align,
    compute_metrics,
    confusion_matrix,
    load_results,
    mean_class_accuracy,
    save_results,
    topk_accuracy,
)
from rgbpose_plugin.engine.loader import EvalSampler, TrainSampler
from rgbpose_plugin.engine.optim import build_optimizer, lr_at_epoch
from rgbpose_plugin.engine.rng import capture_rng_state, restore_rng_state
from rgbpose_plugin.weights.checkpoints import (
    checkpoint_path,
    last_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)


def test_metrics_against_hand_computed_values():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    labels = np.array([1, 1, 2, 2])
    # argmax: 1, 0, 2, 0 -> correct: yes, no, yes, no
    assert topk_accuracy(scores, labels, 1) == 0.5
    # top-2: {1,2}, {0,1}, {2,1}, {0,2} -> all contain the label
    assert topk_accuracy(scores, labels, 2) == 1.0
    # class 1: 1/2 right, class 2: 1/2 right
    assert mean_class_accuracy(scores, labels) == 0.5
    assert confusion_matrix(scores, labels, 3).tolist() == [[0, 0, 0], [1, 1, 0], [1, 0, 1]]


def test_views_are_averaged_after_softmax_and_fusions_weighted():
    col = ScoreCollector()
    # one video, two views, 2 classes: rgb logits favour class 0 then class 1
    rgb = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    pose = torch.tensor([[0.0, 3.0], [0.0, 3.0]])
    col.add({"rgb": rgb, "pose": pose}, torch.tensor([1]), torch.tensor([0]), ["v0"], num_views=2)
    vs = col.gather()
    expected_rgb = torch.softmax(rgb, 1).mean(0).numpy()
    assert np.allclose(vs.scores["rgb"][0], expected_rgb)
    metrics = compute_metrics(vs, [[1, 1], [2, 1]])
    assert list(metrics) == ["rgb", "pose", "1:1", "2:1"]
    assert metrics["rgb"]["top1"] == 0.0 and metrics["pose"]["top1"] == 100.0  # rgb mean favours 0
    p_pose = torch.softmax(pose, 1).mean(0).numpy()
    fused21 = 2 * expected_rgb + p_pose
    assert metrics["2:1"]["top1"] == (100.0 if fused21.argmax() == 1 else 0.0)


def test_gather_counts_each_video_once(tmp_path):
    col = ScoreCollector()
    logits = {"rgb": torch.randn(3, 4)}
    col.add(logits, torch.tensor([0, 1, 2]), torch.tensor([5, 6, 5]), ["a", "b", "a"])
    vs = col.gather()
    assert vs.indices.tolist() == [5, 6] and vs.video_ids == ["a", "b"]
    save_results(str(tmp_path / "r.pkl"), vs)
    back = load_results(str(tmp_path / "r.pkl"))
    order, labels, (s,) = align([back], ["r"])
    assert order == ["a", "b"] and labels.tolist() == [0, 1] and s["rgb"].shape == (2, 4)


def test_lr_schedules():
    cfg = get_cfg()
    cfg.SOLVER.BASE_LR, cfg.SOLVER.MAX_EPOCH = 0.2, 10
    cfg.SOLVER.LR_POLICY = "cosine"
    assert lr_at_epoch(cfg, 0) == pytest.approx(0.2)
    assert lr_at_epoch(cfg, 5) == pytest.approx(0.1)
    assert lr_at_epoch(cfg, 2.5) == pytest.approx(0.1 * (1 + math.cos(math.pi / 4)))
    # PySlowFast's step policy: STEPS from 0, one relative LR per step.
    cfg.SOLVER.LR_POLICY, cfg.SOLVER.STEPS = "steps_with_relative_lrs", [0, 4, 8]
    cfg.SOLVER.LRS = [1.0, 0.1, 0.01]
    assert [lr_at_epoch(cfg, e) for e in (3.99, 4, 8.5)] == pytest.approx([0.2, 0.02, 0.002])
    cfg.SOLVER.WARMUP_EPOCHS, cfg.SOLVER.WARMUP_START_LR = 2.0, 0.0
    assert lr_at_epoch(cfg, 1.0) == pytest.approx(0.1)
    cfg.SOLVER.REFERENCE_BATCH_SIZE, cfg.TRAIN.BATCH_SIZE = 48, 12  # linear scaling
    assert lr_at_epoch(cfg, 3.0) == pytest.approx(0.05)
    cfg.NUM_SHARDS = 2  # TRAIN.BATCH_SIZE is per shard, as in PySlowFast: total 24
    assert lr_at_epoch(cfg, 3.0) == pytest.approx(0.1)


def test_lr_policies_are_pyslowfasts():
    cfg = get_cfg()
    cfg.SOLVER.BASE_LR, cfg.SOLVER.MAX_EPOCH, cfg.SOLVER.COSINE_END_LR = 0.2, 10, 0.02
    cfg.SOLVER.LR_POLICY = "cosine"
    cfg.SOLVER.WARMUP_EPOCHS, cfg.SOLVER.COSINE_AFTER_WARMUP = 2.0, True
    # PySlowFast's lr_func_cosine with the warm-up offset: epoch 6 is half-way from 2 to 10.
    assert lr_at_epoch(cfg, 6.0) == pytest.approx(0.02 + 0.18 * 0.5)
    cfg.SOLVER.LR_POLICY = "steps"  # not a policy: the error says how to write a step decay
    with pytest.raises(ValueError, match="steps_with_relative_lrs with STEPS \\[0, 12, 16\\]"):
        lr_at_epoch(cfg, 3.0)
    cfg.SOLVER.LR_POLICY, cfg.SOLVER.STEPS, cfg.SOLVER.LRS = "steps_with_relative_lrs", [4], [1]
    with pytest.raises(ValueError, match="STEPS starting at 0"):
        lr_at_epoch(cfg, 3.0)


def test_sgd_decays_every_parameter_and_is_plain_momentum():
    cfg = get_cfg()
    model = torch.nn.Sequential(torch.nn.Conv3d(3, 4, 1), torch.nn.BatchNorm3d(4))
    opt = build_optimizer(cfg, model)
    assert all(g["weight_decay"] == 1e-4 and not g["nesterov"] and g["momentum"] == 0.9
               for g in opt.param_groups)
    assert sum(len(g["params"]) for g in opt.param_groups) == 4


def test_samplers_cover_and_resume():
    s = TrainSampler(10, seed=3, rank=0, world_size=1)
    s.set_epoch(2)
    full = list(s)
    assert sorted(full) == list(range(10))
    s.set_epoch(2, start=4)
    assert list(s) == full[4:]
    s.set_epoch(3)
    assert list(s) != full  # a new order each epoch
    shards = [list(TrainSampler(10, 3, r, 3)) for r in range(3)]
    assert all(len(x) == 4 for x in shards) and set(sum(shards, [])) == set(range(10))
    evals = [list(EvalSampler(10, r, 3)) for r in range(3)]
    assert sorted(sum(evals, [])) == list(range(10))


def test_rng_state_round_trip():
    state = capture_rng_state()
    a = (np.random.rand(), torch.rand(1).item())
    restore_rng_state(state)
    assert (np.random.rand(), torch.rand(1).item()) == a


def test_checkpoint_names_sort_by_epoch_and_iteration(tmp_path):
    for e, i in ((1, 0), (2, 0), (2, 7), (10, 0)):
        save_checkpoint(checkpoint_path(str(tmp_path), e, i), {"model_state": {}, "epoch": e})
    names = [p.rsplit("/", 1)[1] for p in list_checkpoints(str(tmp_path))]
    assert names == ["checkpoint_epoch_00001.pyth", "checkpoint_epoch_00002.pyth",
                     "checkpoint_epoch_00002_iter_000007.pyth", "checkpoint_epoch_00010.pyth"]


@pytest.mark.parametrize("where", ["during_write", "before_rename"])
def test_kill_during_save_keeps_previous_checkpoint(tmp_path, where):
    path = checkpoint_path(str(tmp_path), 1)
    save_checkpoint(path, {"model_state": {"w": torch.ones(3)}, "epoch": 1})
    script = textwrap.dedent(f"""
        import os, signal, torch
        from iopath.common.file_io import g_pathmgr
        import pathlib
        from rgbpose_plugin.fileio import atomic
        from rgbpose_plugin.weights import checkpoints as c
        def die(*a, **k):
            os.kill(os.getpid(), signal.SIGKILL)
        if {where!r} == "before_rename":
            atomic.os.replace = die
        else:
            real_write = pathlib.Path.write_bytes
            def half(self, data):
                real_write(self, data[: len(data) // 2])
                die()
            pathlib.Path.write_bytes = half
        c.save_checkpoint({path!r}, {{"model_state": {{"w": torch.zeros(1000)}}, "epoch": 2}})
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert res.returncode == -9
    assert last_checkpoint(str(tmp_path)) == path
    ckpt = load_checkpoint(path)
    assert ckpt["epoch"] == 1 and torch.equal(ckpt["model_state"]["w"], torch.ones(3))
