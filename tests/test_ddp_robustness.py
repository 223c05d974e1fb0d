"""DDP paths that used to hang or diverge: empty validation ranks, ranks disagreeing about shared
files, a missing rank, stop requests outside the training loop, signals in loader workers.

Multi-process cases run in their own process group under a timeout: a regression shows as a
failure naming the hang, not as a stuck test session.
"""

import json
import os
import pickle
import signal
import subprocess
import sys
import time

import pytest
import torch
from trainer_fixtures import ROOT, cli_opts, make_tiny_dataset, tiny_cfg

from rgbpose_plugin.config import merge_opts, stage_cfg
from rgbpose_plugin.config.stages import flatten
from rgbpose_plugin.engine import trainer as trainer_mod
from rgbpose_plugin.engine.distributed import cuda_index, free_port, launch
from rgbpose_plugin.engine.loader import _worker_init
from rgbpose_plugin.engine.stopping import StopRequested, request_stop
from rgbpose_plugin.engine.trainer import train
from rgbpose_plugin.recipe import run_stage
from rgbpose_plugin.weights.checkpoints import last_checkpoint, list_checkpoints, load_checkpoint

DEMO_CFG = ROOT / "configs" / "demo" / "rgbpose_demo.yaml"


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("ddp_data"))


def run_bounded(cmd, timeout_s: float, **kwargs) -> subprocess.CompletedProcess:
    """Run ``cmd`` in its own session; on timeout kill the whole group (spawned ranks too)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"hung for {timeout_s} s: {' '.join(map(str, cmd))}\n{out[-1500:]}\n{err[-1500:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def test_validation_with_more_processes_than_val_videos(tiny_data, tmp_path):
    # one val video, two processes: rank 1's slice is empty
    data = pickle.loads(tiny_data.read_bytes())
    data["split"]["val"] = data["split"]["val"][:1]
    ann = tmp_path / "one_val_video.pkl"
    ann.write_bytes(pickle.dumps(data))
    cfg = tiny_cfg(tiny_data, tmp_path)
    opts = ["DATA.ANN_FILE", ann, "DATA.PATH_PREFIX", tiny_data.parent / "videos",
            "OUTPUT_DIR", tmp_path / "out", "RGBPOSE.CPU_PROCESSES", 2, "TEST.ENABLE", False,
            "RGBPOSE.DIST_TIMEOUT_S", 60, *_pose_section_opts(cfg)]
    opts += cli_opts(cfg, TINY_POSE_KEYS)
    res = run_bounded([sys.executable, str(ROOT / "tools" / "run_net.py"), "--cfg", str(DEMO_CFG),
                       "--stage", "pose_only", "--opts", *[str(x).replace(" ", "") for x in opts]], 240)
    assert res.returncode == 0, res.stderr[-3000:]
    log = (tmp_path / "out" / "pose_only" / "log.txt").read_text()
    assert "2 process(es)" in log and "validation after epoch 1" in log
    done = json.loads((tmp_path / "out" / "pose_only" / "DONE.json").read_text())
    assert done["val"]  # the one video was scored


def _pose_section_opts(cfg):
    """The tiny pose_only stage as command-line overrides of the demo config's section."""
    pose = stage_cfg(cfg, "pose_only")
    opts = [x for key, value in flatten(cfg.RGBPOSE.RECIPE.POSE_ONLY).items()
            for x in (f"RGBPOSE.RECIPE.POSE_ONLY.{key}", value)]
    return opts + ["RGBPOSE.RECIPE.POSE_ONLY.TRAIN.BATCH_SIZE", pose.TRAIN.BATCH_SIZE,
                   "RGBPOSE.RECIPE.POSE_ONLY.DATA.REPEAT", pose.DATA.REPEAT]


# The tiny pose stage's keys a command line needs to rebuild it.
TINY_POSE_KEYS = [
    "MODEL.NUM_CLASSES", "DATA.NUM_FRAMES", "DATA.POSE_NUM_FRAMES", "DATA.TRAIN_CROP_SIZE",
    "DATA.TEST_CROP_SIZE", "RGBPOSE.TRANSFORM.RESIZE_SCALE", "DATA_LOADER.NUM_WORKERS",
    "TRAIN.BATCH_SIZE", "SOLVER.MAX_EPOCH", "TRAIN.EVAL_PERIOD", "LOG_PERIOD",
    "RGBPOSE.POSE.STEM_CHANNELS", "RGBPOSE.POSE.STAGE_INNER_CHANNELS"]


# --- rank 0 decides what the shared folder holds -------------------------------------------
def _lagging_rank(cfg) -> None:
    """Runs in each of 2 processes; rank 1 sees an older folder (as on a lagging NFS client)."""
    import rgbpose_plugin.recipe as recipe
    from rgbpose_plugin.engine.distributed import get_info

    rank = get_info().rank
    if rank == 1:
        trainer_mod.last_checkpoint = lambda folder: None  # no checkpoint yet
        recipe._read_record = lambda path: None  # no stage done yet
    starts = {}
    init = trainer_mod._Trainer._resume_or_init

    def record_start(self):
        init(self)
        starts["epoch"] = self.epoch

    trainer_mod._Trainer._resume_or_init = record_start
    skipped = run_stage(cfg, "rgb_only")  # done on rank 0's view: skipped by both
    run_stage(cfg, "pose_only")  # epoch 1 of 2 saved: both resume there
    out = {"rgb_only": skipped, "start_epoch": starts["epoch"]}
    with open(os.path.join(cfg.OUTPUT_DIR, f"rank{rank}.json"), "w") as f:
        json.dump(out, f)


def test_rank0_decides_resume_and_stage_records(tiny_data, tmp_path):
    cfg = tiny_cfg(tiny_data, tmp_path / "out", "TEST.ENABLE", False, "TRAIN.EVAL_PERIOD", 0,
                   "RGBPOSE.DIST_TIMEOUT_S", 60)
    pose = stage_cfg(cfg, "pose_only")
    merge_opts(pose, ["SOLVER.MAX_EPOCH", 1])
    train(pose)  # epoch 1 done on disk
    merge_opts(cfg, ["RGBPOSE.RECIPE.POSE_ONLY.SOLVER.MAX_EPOCH", 2])
    (tmp_path / "out" / "rgb_only").mkdir(parents=True)
    (tmp_path / "out" / "rgb_only" / "DONE.json").write_text('{"checkpoint": "given.pyth"}')
    merge_opts(cfg, ["RGBPOSE.CPU_PROCESSES", 2])
    launch(cfg, _lagging_rank)
    for rank in (0, 1):
        seen = json.loads((tmp_path / "out" / f"rank{rank}.json").read_text())
        assert seen == {"rgb_only": {"checkpoint": "given.pyth"}, "start_epoch": 1}, rank
    assert load_checkpoint(last_checkpoint(pose.OUTPUT_DIR))["epoch"] == 2


def test_a_missing_rank_fails_within_the_timeout(tmp_path):
    """World size 2, only rank 0 started: joining fails after RGBPOSE.DIST_TIMEOUT_S."""
    code = ("import sys; from rgbpose_plugin.config import load_cfg;"
            "from rgbpose_plugin.engine.distributed import launch;"
            "cfg = load_cfg('', ['RGBPOSE.DIST_TIMEOUT_S', 3]);"
            "launch(cfg, lambda c: print('joined'))")
    env = {**os.environ, "RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(free_port())}
    start = time.monotonic()
    res = run_bounded([sys.executable, "-c", code], 120, env=env)
    assert res.returncode != 0 and "joined" not in res.stdout
    assert time.monotonic() - start < 60
    assert "timeout" in res.stderr.lower() or "timed out" in res.stderr.lower(), res.stderr[-2000:]


# --- stop requests outside the training loop -------------------------------------------------
def test_a_stop_during_the_last_validation_is_honoured(tiny_data, tmp_path, monkeypatch):
    cfg = tiny_cfg(tiny_data, tmp_path / "out")
    validate = trainer_mod._Trainer.validate

    def validate_then_stop(self):
        request_stop()  # arrives while the last epoch's validation runs
        return validate(self)

    monkeypatch.setattr(trainer_mod._Trainer, "validate", validate_then_stop)
    with pytest.raises(StopRequested) as stop:
        run_stage(cfg, "pose_only")
    assert stop.value.checkpoint.endswith("checkpoint_epoch_00001.pyth")
    stage_dir = tmp_path / "out" / "pose_only"
    assert not (stage_dir / "DONE.json").exists() and not (stage_dir / "test_metrics.json").exists()
    monkeypatch.undo()
    record = run_stage(cfg, "pose_only")  # the rerun: no training, validation and test only
    assert record["val"] and record["test"]["metrics"]
    assert len(list_checkpoints(str(stage_dir))) == 1


def test_a_stop_between_stages_starts_no_new_stage(tiny_data, tmp_path):
    cfg = tiny_cfg(tiny_data, tmp_path / "out")
    request_stop()  # e.g. arrived during the previous stage's test or the merge
    with pytest.raises(StopRequested, match="between stages"):
        run_stage(cfg, "pose_only")
    assert not (tmp_path / "out" / "pose_only" / "log.txt").exists() or \
        "training" not in (tmp_path / "out" / "pose_only" / "log.txt").read_text()
    assert not (tmp_path / "out" / "pose_only" / ".run.lock").exists()


# --- loader workers and SLURM's signals ------------------------------------------------------
class _Slow(torch.utils.data.Dataset):
    def __len__(self):
        return 12

    def __getitem__(self, i):
        time.sleep(0.1)  # the signals land while workers are inside an item
        return i


def test_loader_workers_outlive_slurm_signals(tmp_path):
    """SLURM signals every process of the step; workers must neither die nor run handlers."""
    def handler(*_):  # submitit's USR2 handler stands here: it must run in the parent only
        (tmp_path / f"usr2_in_{os.getpid()}").touch()

    old = signal.signal(signal.SIGUSR2, handler)
    try:
        loader = torch.utils.data.DataLoader(_Slow(), batch_size=2, num_workers=2,
                                             worker_init_fn=_worker_init)
        batches = iter(loader)
        seen = next(batches).tolist()
        for worker in batches._workers:  # sent by another process, as slurmstepd does
            for sig in ("TERM", "USR2"):
                subprocess.run(["kill", "-s", sig, str(worker.pid)], check=True)
        seen += [i for batch in batches for i in batch.tolist()]
    finally:
        signal.signal(signal.SIGUSR2, old)
    assert sorted(seen) == list(range(12))
    assert list(tmp_path.iterdir()) == []


def test_the_task_gpu_follows_what_it_sees():
    assert cuda_index(local_rank=3, local_world_size=4, visible=4) == 3  # all the node's GPUs
    assert cuda_index(local_rank=3, local_world_size=4, visible=1) == 0  # one GPU per task
    with pytest.raises(RuntimeError, match="LOCAL_RANK 3 of 4 on its node sees 2 GPU"):
        cuda_index(local_rank=3, local_world_size=4, visible=2)
