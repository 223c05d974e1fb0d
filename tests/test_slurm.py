"""SLURM launching without a cluster: option handling, job plans, sbatch scripts, ranks,
ports, and what happens after a failed step. The real jobs are tests/test_slurm_cluster.py."""
from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from submitit.core.utils import JobPaths

from rgbpose_plugin.config import load_cfg
from rgbpose_plugin.launch import (
    PlannedJob,
    SlurmOptions,
    load_cluster_yaml,
    parse_mem_gb,
    parse_time_min,
    plan_jobs,
    prepare_cfg,
    resolve_options,
    submit_plan,
)
from rgbpose_plugin.launch.job import distributed_cfg, job_port
from rgbpose_plugin.launch.node_loss import peer_left_an_error, peer_lost

REPO = Path(__file__).resolve().parents[1]


# --- options, plans, scripts (no cluster) ---------------------------------------------------
@pytest.mark.parametrize("text,minutes", [("90", 90), ("72:00:00", 4320), ("3-00:00:00", 4320),
                                          ("1-12", 2160), ("1-12:30", 2190), ("30:15", 31)])
def test_parse_time(text, minutes):
    assert parse_time_min(text) == minutes


def test_parse_mem_and_bad_values():
    assert parse_mem_gb("64G") == 64 and parse_mem_gb("512M") == 0.5 and parse_mem_gb("1T") == 1024
    with pytest.raises(ValueError, match="bad memory"):
        parse_mem_gb("lots")
    with pytest.raises(ValueError, match="bad time"):
        parse_time_min("3 days")


def test_cli_beats_cluster_yaml_beats_defaults(tmp_path):
    path = tmp_path / "cluster.yaml"
    path.write_text("partition: big\ntime: '12:00:00'\ncpus-per-task: 6\nsetup: ['module load x']\n")
    cluster = load_cluster_yaml(str(path))
    opts = resolve_options({"partition": "small", "nodes": None, "time": None}, cluster)
    assert (opts.partition, opts.time, opts.cpus_per_task, opts.nodes) == ("small", "12:00:00", 6, 1)
    assert opts.setup == ["module load x"]
    path.write_text("partitoin: typo\n")
    with pytest.raises(ValueError, match="partitoin"):
        load_cluster_yaml(str(path))


def test_the_example_cluster_yaml_loads():
    opts = resolve_options({}, load_cluster_yaml(str(REPO / "slurm" / "cluster.yaml")))
    assert opts.partition and opts.stop_timeout_s < opts.signal_delay_s


def test_stop_timeout_must_fit_in_the_signal_delay():
    with pytest.raises(ValueError, match="signal_delay_s"):
        resolve_options({"signal_delay_s": 30, "stop_timeout_s": 60.0})


def _base_cfg(tmp_path, **changes):
    cfg = load_cfg("", ["OUTPUT_DIR", str(tmp_path / "out")])
    cfg.merge_from_list([x for kv in changes.items() for x in kv])
    return cfg


def test_plan_runs_stage1_in_parallel_then_the_rest(tmp_path):
    cfg = _base_cfg(tmp_path)
    plan = plan_jobs(cfg)
    assert [(p.name, p.after) for p in plan] == [
        ("rgb_only", ()), ("pose_only", ()), ("merge+rgbpose+test", ("rgb_only", "pose_only"))]
    assert not plan[0].summarize and plan[2].summarize  # side-by-side jobs leave the summary
    assert plan_jobs(cfg, "merge") == [PlannedJob("merge", ("merge",))]


def test_plan_skips_done_and_supplied_stages(tmp_path):
    cfg = _base_cfg(tmp_path, **{"RGBPOSE.RECIPE.POSE_ONLY_CHECKPOINT": "/w/pose.pyth"})
    done = Path(cfg.OUTPUT_DIR) / "rgb_only" / "DONE.json"
    done.parent.mkdir(parents=True)
    done.write_text('{"checkpoint": "/w/rgb.pyth"}')
    assert [(p.name, p.after) for p in plan_jobs(cfg)] == [("merge+rgbpose+test", ())]
    cfg.RGBPOSE.RECIPE.RGBPOSE_CHECKPOINT = "/w/fused.pyth"
    assert [p.stages for p in plan_jobs(cfg)] == [("test",)]


def test_prepare_cfg_matches_the_job_shape(tmp_path):
    cfg = _base_cfg(tmp_path, **{"TRAIN.BATCH_SIZE": 48, "DATA_LOADER.NUM_WORKERS": 7})
    opts = SlurmOptions(nodes=2, gpus_per_node=8)
    out = prepare_cfg(cfg, opts)
    assert (out.NUM_SHARDS, out.NUM_GPUS, opts.cpus_per_task) == (2, 8, 8)
    cpu = prepare_cfg(cfg, SlurmOptions(gpus_per_node=0, cpu_tasks_per_node=3))
    assert (cpu.NUM_GPUS, cpu.RGBPOSE.CPU_PROCESSES) == (0, 3)
    with pytest.raises(ValueError, match="does not split over 5 processes"):
        prepare_cfg(cfg, SlurmOptions(gpus_per_node=0, cpu_tasks_per_node=5))


def test_dry_run_prints_scripts_with_dependencies(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # works without any SLURM client
    opts = resolve_options({"gpus_per_node": 4, "nodes": 2, "partition": "gpu", "time": "2-00:00:00",
                            "mem": "200G", "account": "lab", "exclude": "n[1-2]"})
    cfg = prepare_cfg(_base_cfg(tmp_path, **{"TRAIN.BATCH_SIZE": 16}), opts)
    plan = plan_jobs(cfg)
    scripts = submit_plan(cfg, opts, plan, dry_run=True)
    assert len(scripts) == 3 and not (tmp_path / "out").exists()  # nothing written
    for line in ("--nodes=2", "--ntasks-per-node=4", "--gpus-per-node=4", "--partition=gpu",
                 "--time=2880", "--mem=200GB", "--account=lab", "--exclude='n[1-2]'",
                 "--signal=USR2@120", "--job-name=rgbpose-rgb_only"):
        assert f"#SBATCH {line}" in scripts[0], line
    assert "export SRUN_CPUS_PER_TASK=" in scripts[0]  # srun does not inherit --cpus-per-task
    assert "--kill-on-bad-exit=1" in scripts[0].split("srun", 1)[1]  # one failed task ends the step
    assert "trap 'rc=$?; [ $rc = 0 ] || " in scripts[0]  # a step ended by a lost node requeues
    assert "dependency" not in scripts[1]
    assert "#SBATCH --dependency='afterok:<rgb_only>:<pose_only>'" in scripts[2]
    assert "#SBATCH --kill-on-invalid-dep=yes" in scripts[2]


def test_submit_cli_dry_run(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"OUTPUT_DIR: {tmp_path / 'out'}\nNUM_GPUS: 2\nTRAIN:\n  BATCH_SIZE: 4\n")
    proc = subprocess.run([sys.executable, str(REPO / "slurm" / "submit.py"), "--cfg", str(cfg),
                           "--stage", "rgbpose", "--partition", "p", "--dry-run"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "# ===== job rgbpose" in proc.stdout and "#SBATCH --ntasks-per-node=2" in proc.stdout


def _slurm_task_env(monkeypatch, **values) -> None:
    """The variables srun gives one task of a submitit job (as strings)."""
    base = {"SUBMITIT_EXECUTOR": "slurm", "SLURM_JOB_ID": "7", "SLURM_NTASKS": "2",
            "SLURM_JOB_NUM_NODES": "1", "SLURM_NODEID": "0", "SLURM_PROCID": "1", "SLURM_LOCALID": "1",
            "SLURM_JOB_NODELIST": "node1"}
    for key, value in {**base, **values}.items():
        monkeypatch.setenv(key, str(value))
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "LOCAL_WORLD_SIZE"):
        # setenv first so that the undo removes what the code under test exports; a bare
        # delenv of an unset name records nothing, and RANK=6 WORLD_SIZE=8 would leak into
        # every later test (whose subprocesses would then wait for 8 ranks).
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)


def test_ranks_come_from_slurm_and_the_task_count_must_match(tmp_path, monkeypatch):
    _slurm_task_env(monkeypatch)
    cfg = prepare_cfg(_base_cfg(tmp_path), SlurmOptions(gpus_per_node=0, cpu_tasks_per_node=2))
    out = distributed_cfg(cfg)
    assert (os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["MASTER_ADDR"]) == ("1", "2", "node1")
    assert out.SHARD_ID == 0
    monkeypatch.setenv("SLURM_NTASKS", "3")
    with pytest.raises(RuntimeError, match="expects 2"):
        distributed_cfg(cfg)


def test_two_nodes_of_four_gpus(tmp_path, monkeypatch):
    # Task 6 of 8: second node, its third GPU; the master is the first node of the list.
    _slurm_task_env(monkeypatch, SLURM_NTASKS=8, SLURM_JOB_NUM_NODES=2, SLURM_NODEID=1, SLURM_PROCID=6,
                    SLURM_LOCALID=2, SLURM_JOB_NODELIST="gpu[07-08]")
    cfg = prepare_cfg(_base_cfg(tmp_path, **{"TRAIN.BATCH_SIZE": 16}), SlurmOptions(nodes=2, gpus_per_node=4))
    out = distributed_cfg(cfg)
    env = {k: os.environ[k] for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "LOCAL_WORLD_SIZE")}
    assert env == {"RANK": "6", "WORLD_SIZE": "8", "LOCAL_RANK": "2", "MASTER_ADDR": "gpu07",
                   "LOCAL_WORLD_SIZE": "4"}
    assert (out.NUM_SHARDS, out.SHARD_ID, out.NUM_GPUS) == (2, 1, 4)
    assert 20000 <= int(os.environ["MASTER_PORT"]) <= 60000  # the same in every task (from the job id)


def test_each_job_and_attempt_gets_its_own_port(tmp_path, monkeypatch):
    """A MASTER_PORT exported by the submitting shell reaches every job: it must not be used."""
    cfg = prepare_cfg(_base_cfg(tmp_path), SlurmOptions(gpus_per_node=0, cpu_tasks_per_node=2))
    ports = {}
    for job_id, restarts in (("101", 0), ("102", 0), ("101", 1)):
        _slurm_task_env(monkeypatch, SLURM_JOB_ID=job_id, SLURM_RESTART_COUNT=restarts)
        monkeypatch.setenv("MASTER_PORT", "29500")
        distributed_cfg(cfg)
        ports[job_id, restarts] = int(os.environ["MASTER_PORT"])
        assert ports[job_id, restarts] == job_port(job_id, restarts)
    assert len(set(ports.values())) == 3 and 29500 not in ports.values()


def test_a_vanished_peer_is_told_from_a_failed_one(tmp_path):
    gloo = RuntimeError("[gloo/transport/tcp/pair.cc:545] Read error [10.213.57.11]:39827: "
                        "Connection reset by peer")
    assert peer_lost(gloo) and not peer_lost(ValueError("bad sample")) and not peer_lost(RuntimeError("oom"))
    start = time.time()
    assert peer_left_an_error(str(tmp_path), "7", [1], since=start, grace_s=0.3) is None
    result = JobPaths(tmp_path, job_id="7", task_id=1).result_pickle
    result.parent.mkdir(parents=True, exist_ok=True)
    result.write_bytes(pickle.dumps(("error", "Traceback ...\nValueError: bad sample x.mp4\n")))
    found = peer_left_an_error(str(tmp_path), "7", [1], since=start - 5, grace_s=0.3)
    assert found == "task 1: ValueError: bad sample x.mp4"
    # a pickle of an earlier attempt of the job does not count
    assert peer_left_an_error(str(tmp_path), "7", [1], since=time.time() + 1, grace_s=0.3) is None


def test_a_failed_step_requeues_only_without_a_result(tmp_path, monkeypatch):
    from rgbpose_plugin.launch import after_step

    requeued = []
    monkeypatch.setattr(after_step, "requeue_job", lambda *args: requeued.append(args) or True)
    state = {"now": "RUNNING"}
    monkeypatch.setattr(after_step, "_job_state", lambda job_id: state["now"])
    since = time.time() - 1
    assert "requeued" in after_step.after_failed_step(str(tmp_path), "5", 2, since, 0, 10)
    assert requeued == [("5", 0, 10)]
    state["now"] = "CANCELLED"  # or already requeued by a task or by submitit
    assert "nothing to do" in after_step.after_failed_step(str(tmp_path), "5", 2, since, 0, 10)
    result = JobPaths(tmp_path, job_id="5", task_id=1).result_pickle
    result.parent.mkdir(parents=True, exist_ok=True)
    result.write_bytes(pickle.dumps(("error", "Traceback ...\nKeyError: 'x'")))
    state["now"] = "RUNNING"
    line = after_step.after_failed_step(str(tmp_path), "5", 2, since, 0, 10)
    assert "not requeueing" in line and "KeyError" in line and len(requeued) == 1


# --- a real local cluster --------------------------------------------------------------------
