"""SLURM launching: real jobs on a local cluster (the options and plans without one are
tests/test_slurm.py).

The ``slurm``-marked tests need a real SLURM: the session fixture runs
``slurm/local_cluster/start.sh`` (root and apt on Debian: installs slurm-wlm, munge,
slurmdbd and MariaDB, starts every daemon on 127.0.0.1) and stops it at the end if it
started it. Every job is tiny (4 classes x 3 videos, a model of a few thousand
parameters, 1 epoch; see trainer_fixtures.py) and every wait is bounded.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest
import torch
from trainer_fixtures import make_tiny_dataset, tiny_cfg

from rgbpose_plugin.config import merge_opts
from rgbpose_plugin.engine.run_lock import LOCK_NAME, OutputDirLocked, RunLock
from rgbpose_plugin.launch import (
    PlannedJob,
    SlurmOptions,
    Submitted,
    build_executor,
    plan_jobs,
    prepare_cfg,
    resolve_options,
    submit_plan,
    wait_for_jobs,
)
from rgbpose_plugin.stage_graph import STAGE_NAMES as STAGES
from rgbpose_plugin.weights.checkpoints import last_checkpoint, list_checkpoints, load_checkpoint

REPO = Path(__file__).resolve().parents[1]
CLUSTER = REPO / "slurm" / "local_cluster"
DEMO_CFG = REPO / "configs" / "demo" / "rgbpose_demo.yaml"
JOB_TIMEOUT_S = 240  # bound on any one wait for jobs

def _cannot_run() -> str:
    if not sys.platform.startswith("linux"):
        return "the local SLURM cluster needs Linux"
    if os.geteuid() != 0:
        return "the local SLURM cluster needs root (it installs packages and starts daemons)"
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        return "SLURM is not installed and there is no apt-get to install it"
    return ""


def _cluster_answers(env: Dict[str, str]) -> bool:
    try:
        return subprocess.run(["scontrol", "ping"], env=env, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _node_names(env: Dict[str, str]) -> List[str]:
    out = subprocess.run(["sinfo", "-h", "-N", "-o", "%N"], env=env, capture_output=True, text=True,
                         timeout=30).stdout
    return sorted(set(out.split()))


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running local cluster, 2 nodes by default (started, then stopped, here if it was not up).

    Yields (base folder, node names).
    """
    reason = _cannot_run()
    if reason:
        pytest.skip(reason)
    base = os.environ.get("SLURM_CI_BASE", "/tmp/slurm-local/state")
    # fake GPUs (aliases of /dev/null): jobs can ask for GPUs and see CUDA_VISIBLE_DEVICES
    env = {"SLURM_CI_FAKE_GPUS": "2", **os.environ, "SLURM_CONF": f"{base}/etc/slurm.conf"}
    started = False
    if not _cluster_answers(env):
        start = time.monotonic()
        proc = subprocess.run(["bash", str(CLUSTER / "start.sh")], env=env, capture_output=True,
                              text=True, timeout=900)
        if proc.returncode != 0:
            pytest.skip(f"the local SLURM cluster did not start:\n{(proc.stdout + proc.stderr)[-3000:]}")
        print(f"\nlocal SLURM cluster started in {time.monotonic() - start:.1f} s")
        started = True
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = env["SLURM_CONF"]
    yield base, _node_names(env)
    if old is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = old
    if started:
        subprocess.run(["bash", str(CLUSTER / "stop.sh")], env=env, capture_output=True, timeout=180)


@pytest.fixture(scope="session")
def two_nodes(slurm_cluster):
    base, nodes = slurm_cluster
    if len(nodes) < 2:
        pytest.skip(f"the running local cluster has {len(nodes)} node(s) ({nodes}); the multi-node "
                    "cases need 2: stop it, then let the tests start the default 2-node cluster")
    return nodes


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("slurm_tiny_data"))


def _stage_cfg(tiny_data: Path, out: Path, *extra):
    """The tiny recipe, 2 epochs of 48 iterations (2 clips per batch), a checkpoint per epoch.

    Iterations take a few ms in a job: that many leave seconds to preempt or kill mid-epoch.
    """
    pose = ["DATA.REPEAT", 24, "TRAIN.BATCH_SIZE", 2, "SOLVER.MAX_EPOCH", 2, "TRAIN.EVAL_PERIOD", 2]
    cfg = tiny_cfg(tiny_data, out, *extra)
    return merge_opts(cfg, [x if i % 2 else f"RGBPOSE.RECIPE.POSE_ONLY.{x}" for i, x in enumerate(pose)])


def _two_node_cfg(tiny_data: Path, out: Path):
    """``_stage_cfg`` for 2 nodes x 1 task: TRAIN.BATCH_SIZE counts clips per node (as in
    PySlowFast), so 1 per node makes the same total batch (2) as 2 tasks on one node."""
    return merge_opts(_stage_cfg(tiny_data, out), ["RGBPOSE.RECIPE.POSE_ONLY.TRAIN.BATCH_SIZE", 1])


def _cpu_opts(tasks: int, nodes: int = 1) -> SlurmOptions:
    # cred_expire=10 on the local cluster: a requeued job is eligible again after 11 s
    return resolve_options({"gpus_per_node": 0, "cpu_tasks_per_node": tasks, "nodes": nodes,
                            "cpus_per_task": 1, "time": "15", "signal_delay_s": 30, "stop_timeout_s": 20.0,
                            "setup": [f"export PYTHONPATH={REPO / 'tests'}:$PYTHONPATH"]})


def _submit(cfg, opts: SlurmOptions, stage: str = ""):
    cfg = prepare_cfg(cfg, opts)
    return cfg, submit_plan(cfg, opts, plan_jobs(cfg, stage))


def _submit_slow(cfg, opts: SlurmOptions, stage: str, workers: int = 2, item_s: float = 0.05):
    """One stage as a :class:`SlowItemJob` with ``workers`` DataLoader workers per task."""
    from slurm_jobs import SlowItemJob

    cfg = cfg.clone()
    cfg.merge_from_list(["DATA_LOADER.NUM_WORKERS", workers])
    cfg = prepare_cfg(cfg, opts)
    (planned,) = plan_jobs(cfg, stage)
    executor = build_executor(cfg, opts, planned)
    job = executor.submit(SlowItemJob(cfg, planned.stages, planned.summarize, opts.stop_timeout_s,
                                      opts.max_requeues, item_s=item_s))
    return cfg, Submitted(planned, job, opts.nodes * opts.cpu_tasks_per_node)


def _wait_ok(submitted) -> List:
    reports = wait_for_jobs({s.plan.name: s.job for s in submitted}, timeout_s=JOB_TIMEOUT_S,
                            poll_s=1.0, force_every_s=3.0)
    for report in reports:
        assert report.ok, report.format()
    return reports


def _weights(stage_dir: Path) -> Dict[str, torch.Tensor]:
    return load_checkpoint(last_checkpoint(str(stage_dir)))["model_state"]


def _assert_same_weights(ours: Path, reference: Path) -> None:
    a, b = _weights(ours), _weights(reference)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name  # tensor-equal, no tolerance


def _iterations_logged(log: Path) -> int:
    return log.read_text().count(" iter ") if log.exists() else 0


def _wait_for_iterations(log: Path, count: int, job, start: float) -> None:
    while _iterations_logged(log) < count:
        assert time.monotonic() - start < JOB_TIMEOUT_S, f"the job never logged {count} iterations"
        assert not job.done(), "the job ended too early"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def two_task_run(slurm_cluster, tiny_data, tmp_path_factory):
    """pose_only by one job of 2 tasks on one node (gloo), uninterrupted: (cfg, report, seconds)."""
    start = time.monotonic()
    cfg, submitted = _submit(_stage_cfg(tiny_data, tmp_path_factory.mktemp("ddp") / "out"),
                             _cpu_opts(2), "pose_only")
    (report,) = _wait_ok(submitted)
    return cfg, report, time.monotonic() - start


@pytest.mark.slurm
def test_two_task_training_stage(two_task_run):
    cfg, report, seconds = two_task_run
    print(f"\n2-task pose_only job on one node: {seconds:.1f} s")
    assert report.result["world_size"] == 2 and report.result["restart_count"] == 0
    record = report.result["stages"]["pose_only"]
    assert record["checkpoint"].endswith("checkpoint_epoch_00002.pyth")
    log = (Path(cfg.OUTPUT_DIR) / "pose_only" / "log.txt").read_text()
    assert "2 process(es)" in log


@pytest.mark.slurm
def test_two_nodes_train_like_two_tasks_on_one_node(two_task_run, two_nodes, tiny_data, tmp_path):
    """2 nodes x 1 task, gloo over the bridge between their network namespaces."""
    reference_cfg, _, _ = two_task_run
    start = time.monotonic()
    cfg, (submitted,) = _submit(_two_node_cfg(tiny_data, tmp_path / "out"), _cpu_opts(1, nodes=2),
                                "pose_only")
    (report,) = _wait_ok([submitted])
    print(f"\n2-node pose_only job: {time.monotonic() - start:.1f} s")
    ranks = submitted.job.results()
    assert sorted(r["host"] for r in ranks) == two_nodes[:2]  # each task ran on its own node
    _assert_same_weights(Path(cfg.OUTPUT_DIR) / "pose_only", Path(reference_cfg.OUTPUT_DIR) / "pose_only")


@pytest.mark.slurm
def test_preempted_job_with_loader_workers_requeues_and_ends_with_the_same_weights(
        two_task_run, tiny_data, tmp_path):
    reference_cfg, _, _ = two_task_run
    start = time.monotonic()
    cfg, submitted = _submit_slow(_stage_cfg(tiny_data, tmp_path / "out"), _cpu_opts(2), "pose_only")
    log = Path(cfg.OUTPUT_DIR) / "pose_only" / "log.txt"
    _wait_for_iterations(log, 2, submitted.job, start)  # preempt mid-epoch
    submitted.job._interrupt()  # what SLURM does on preemption: SIGTERM to every process, then USR2
    (report,) = _wait_ok([submitted])
    print(f"\npreempted + requeued 2-task job, 2 loader workers per task: {time.monotonic() - start:.1f} s")
    assert report.result["restart_count"] >= 1
    mid_epoch = [p for p in list_checkpoints(str(log.parent)) if "_iter_" in p]
    assert mid_epoch, "no mid-epoch checkpoint was saved on preemption"
    assert "resumed from" in log.read_text()
    _assert_same_weights(log.parent, Path(reference_cfg.OUTPUT_DIR) / "pose_only")


def _node_sh(action: str, node: int) -> str:
    proc = subprocess.run(["bash", str(CLUSTER / "node.sh"), action, str(node)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.slurm
@pytest.mark.parametrize("lost", [1, 2], ids=["batch-host-rank0-store", "rank1-node"])
def test_a_node_lost_mid_epoch_requeues_and_ends_with_the_same_weights(
        two_task_run, two_nodes, tiny_data, tmp_path, lost):
    """SIGKILL every process of one node: its slurmd, its task, and on node 1 also the batch
    script (with srun) and rank 0 with the rendezvous store.

    Losing node 1, SLURM would requeue the job by itself, but only once the node is back or
    declared down; losing node 2, rank 0's error would end the job FAILED. The surviving
    task requeues the job at once.
    """
    reference_cfg, _, _ = two_task_run
    start = time.monotonic()
    cfg, submitted = _submit_slow(_two_node_cfg(tiny_data, tmp_path / "out"), _cpu_opts(1, nodes=2),
                                  "pose_only")
    log = Path(cfg.OUTPUT_DIR) / "pose_only" / "log.txt"
    _wait_for_iterations(log, 48 + 4, submitted.job, start)  # epoch 1 saved, epoch 2 under way
    assert [Path(p).name for p in list_checkpoints(str(log.parent))] == ["checkpoint_epoch_00001.pyth"]
    _node_sh("kill", lost)
    killed = time.monotonic()
    time.sleep(2.0)
    _node_sh("start", lost)  # the node is back (as after a reboot)
    (report,) = _wait_ok([submitted])
    print(f"\n2-node job, node {lost} killed mid-epoch 2: {time.monotonic() - start:.1f} s in all, "
          f"{time.monotonic() - killed:.1f} s from the kill to the end")
    assert report.result["restart_count"] >= 1
    text = log.read_text()
    assert "resumed from" in text and "checkpoint_epoch_00001.pyth" in text.split("resumed from")[-1]
    _assert_same_weights(log.parent, Path(reference_cfg.OUTPUT_DIR) / "pose_only")


@pytest.mark.slurm
def test_a_rank_failing_in_python_fails_the_job_without_requeue(slurm_cluster, tiny_data, tmp_path):
    """The lost-peer requeue must not turn a real error into endless reruns."""
    from slurm_jobs import FailingRankJob

    start = time.monotonic()
    opts = _cpu_opts(2)
    cfg = prepare_cfg(_stage_cfg(tiny_data, tmp_path / "out"), opts)
    job = build_executor(cfg, opts, PlannedJob("fail", ("pose_only",))).submit(
        FailingRankJob(cfg, ("pose_only",), max_requeues=opts.max_requeues))
    (report,) = wait_for_jobs({"fail": job}, timeout_s=JOB_TIMEOUT_S, poll_s=1.0, force_every_s=3.0)
    print(f"\n2-task job, rank 1 raising: {time.monotonic() - start:.1f} s, {report.summary}")
    assert not report.ok and "task 1: ValueError: rank 1 fails on purpose" in report.summary
    restarts = subprocess.run(["scontrol", "show", "job", job.job_id], capture_output=True, text=True,
                              timeout=30).stdout
    assert "Restarts=0" in restarts, restarts
    logs = "".join(p.read_text() for p in (tmp_path / "out" / "slurm" / job.job_id).glob("*_log.*"))
    assert "rank 1 fails on purpose" in logs and "vanished" not in logs


@pytest.mark.slurm
def test_a_second_run_on_the_same_folder_is_refused_and_a_dead_ones_lock_taken_over(
        slurm_cluster, tiny_data, tmp_path):
    start = time.monotonic()
    first_cfg, first = _submit_slow(_stage_cfg(tiny_data, tmp_path / "out"), _cpu_opts(1), "pose_only",
                                    item_s=0.3)  # ~30 s of loading: alive while the second starts
    log = Path(first_cfg.OUTPUT_DIR) / "pose_only" / "log.txt"
    _wait_for_iterations(log, 1, first.job, start)
    _, (second,) = _submit(_stage_cfg(tiny_data, tmp_path / "out"), _cpu_opts(1), "pose_only")
    (refused,) = wait_for_jobs({"second": second.job}, timeout_s=JOB_TIMEOUT_S, poll_s=1.0, force_every_s=3.0)
    print(f"\nsecond run: {refused.summary}")
    assert not refused.ok and "OutputDirLocked" in refused.error
    assert f"SLURM job {first.job_id}" in refused.error and "PID " in refused.error
    # the node's hostname: ci-n<i> in the multi-node mode, this machine's with one node
    assert any(f"host {host}," in refused.error for host in [*slurm_cluster[1], socket.gethostname()])
    assert not first.job.done()  # the first run went on
    first.job.cancel()  # SIGKILL after KillWait: the lock stays behind
    wait_for_jobs({"first": first.job}, timeout_s=JOB_TIMEOUT_S, poll_s=1.0, force_every_s=2.0)
    lock_file = log.parent / LOCK_NAME
    assert lock_file.exists()
    # From here (another host, no job) squeue decides: taken over once the job's processes
    # are gone (it stays COMPLETING until then)
    lock, deadline = RunLock(str(log.parent)), time.monotonic() + 60
    while True:
        try:
            lock.acquire()
            break
        except OutputDirLocked:
            assert time.monotonic() < deadline, "the cancelled job's lock was never taken over"
            time.sleep(1.0)
    lock.release()
    print(f"\nrefused second run, cancelled first, lock taken over: {time.monotonic() - start:.1f} s")


@pytest.mark.slurm
def test_failing_job_reports_its_error_and_logs(slurm_cluster, tmp_path):
    start = time.monotonic()
    missing, out = tmp_path / "no_such_annotations.pkl", tmp_path / "out"
    command = [sys.executable, str(REPO / "slurm" / "submit.py"), "--cfg", str(DEMO_CFG), "--stage",
               "pose_only", "--gpus-per-node", "0", "--cpus-per-task", "1", "--time", "10", "--wait",
               "--opts", "DATA.ANN_FILE", str(missing), "OUTPUT_DIR", str(out)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=JOB_TIMEOUT_S)
    print(f"\nfailing job through submit.py --wait: {time.monotonic() - start:.1f} s")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED" in proc.stderr and str(missing) in proc.stderr  # the error itself
    assert "_0_log.err" in proc.stderr and "_0_log.out" in proc.stderr  # where to look
    status = subprocess.run([sys.executable, str(REPO / "slurm" / "status.py"), str(out)],
                            capture_output=True, text=True, timeout=120)
    assert status.returncode == 1 and str(missing) in status.stderr, status.stdout + status.stderr


def _sacct_times(job_id: str) -> Dict[str, str]:
    out = subprocess.run(["sacct", "-X", "-n", "-P", "-j", job_id, "-o", "Start,End"],
                         capture_output=True, text=True, timeout=30).stdout.strip().splitlines()
    start, end = out[-1].split("|")
    return {"start": start, "end": end}


GPU_PROBE = """
import importlib.util, os, socket, sys, types
# the package's distributed module alone (torch and errors.py, not the whole plugin: seconds
# less per task): empty parent packages, so that its relative imports resolve
engine = os.path.dirname(sys.argv[1])
for name, folder in (("rgbpose_plugin", os.path.dirname(engine)), ("rgbpose_plugin.engine", engine)):
    sys.modules[name] = types.ModuleType(name)
    sys.modules[name].__path__ = [folder]
spec = importlib.util.spec_from_file_location("rgbpose_plugin.engine.distributed", sys.argv[1])
module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
seen = os.environ["CUDA_VISIBLE_DEVICES"].split(",")
local, per_node = int(os.environ["SLURM_LOCALID"]), int(os.environ["SLURM_NTASKS_PER_NODE"])
index = module.cuda_index(local, per_node, len(seen))
print(socket.gethostname(), local, ",".join(seen), index, seen[index])
"""


def _run_batch(args: List[str], tmp_path: Path) -> Dict[str, List[List[str]]]:
    """Submit one sbatch per entry of ``args`` (all at once); each job's output lines, split."""
    jobs = {}
    for n, extra in enumerate(args):
        out = tmp_path / f"job{n}.out"
        proc = subprocess.run(["sbatch", "--parsable", "-o", str(out), *shlex.split(extra)],
                              capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        jobs[extra] = (proc.stdout.strip().split(";")[0], out)
    deadline = time.monotonic() + JOB_TIMEOUT_S
    ids = ",".join(job_id for job_id, _ in jobs.values())
    squeue = ["squeue", "-h", "-j", ids]
    while subprocess.run(squeue, capture_output=True, text=True, timeout=30).stdout.strip():
        assert time.monotonic() < deadline, f"jobs {ids} still running"
        time.sleep(0.5)  # (sbatch --wait polls with growing pauses, up to 30 s)
    return {extra: sorted(line.split() for line in out.read_text().splitlines() if line.strip())
            for extra, (_, out) in jobs.items()}


@pytest.mark.slurm
def test_each_task_takes_its_own_gpu_under_either_binding(slurm_cluster, tmp_path):
    """What each task sees (fake GPUs), and the device it picks: distinct GPUs either way."""
    gres = subprocess.run(["sinfo", "-h", "-o", "%G"], capture_output=True, text=True, timeout=30).stdout
    if "gpu:2" not in gres:
        pytest.skip(f"the running local cluster has no fake GPUs ({gres.strip()}); start it with "
                    "SLURM_CI_FAKE_GPUS=2")
    (tmp_path / "probe.py").write_text(GPU_PROBE)
    module = REPO / "rgbpose_plugin" / "engine" / "distributed.py"
    probe = f"{sys.executable} {tmp_path / 'probe.py'} {module}"
    shape = "-N1 --ntasks-per-node=2 --cpus-per-task=1"
    per_node, per_task = f"{shape} --gpus-per-node=2", f"{shape} --gpus-per-task=1"
    seen = _run_batch([f"{per_node} --wrap 'srun {probe}'", f"{per_task} --wrap 'srun {probe}'"], tmp_path)
    for binding, rows in seen.items():
        print(f"\n{binding.split('--wrap')[0]}: host, local rank, CUDA_VISIBLE_DEVICES, index, GPU: {rows}")
        assert len(rows) == 2 and all(len(r) == 5 for r in rows), rows  # else: the job's error
        assert [r[1] for r in rows] == ["0", "1"] and rows[0][0] == rows[1][0], rows
        assert rows[0][4] != rows[1][4]  # never the same physical GPU
    rows = seen[f"{per_task} --wrap 'srun {probe}'"]  # one GPU each: both use their cuda:0
    assert [r[2] for r in rows] == ["0", "1"] and [r[3] for r in rows] == ["0", "0"]
    rows = seen[f"{per_node} --wrap 'srun {probe}'"]  # both see the node's two: cuda:LOCAL_RANK
    assert [r[2] for r in rows] == ["0,1", "0,1"] and [r[3] for r in rows] == ["0", "1"]


@pytest.mark.slurm
def test_whole_recipe_with_dependencies_on_two_nodes(two_nodes, tiny_data, tmp_path):
    start = time.monotonic()
    cfg, submitted = _submit(tiny_cfg(tiny_data, tmp_path / "out"), _cpu_opts(1, nodes=2))
    names = [s.plan.name for s in submitted]
    assert names == ["rgb_only", "pose_only", "merge+rgbpose+test"]
    ids = [s.job_id for s in submitted]
    assert submitted[2].dependency == f"afterok:{ids[0]}:{ids[1]}"
    reports = _wait_ok(submitted)
    print(f"\nwhole recipe (3 jobs of 2 nodes): {time.monotonic() - start:.1f} s")
    final = reports[2].result
    assert final["world_size"] == 2
    assert set(final["stages"]) == {"merge", "rgbpose", "test"}
    assert all(final["stages"][s] for s in ("merge", "rgbpose", "test"))
    out = Path(cfg.OUTPUT_DIR)
    assert all((out / s / "DONE.json").exists() for s in STAGES)
    assert (out / "summary.json").exists() and "late fusion" in (out / "summary.md").read_text()
    times = [_sacct_times(i) for i in ids]  # ISO times compare as strings
    assert times[2]["start"] >= max(times[0]["end"], times[1]["end"])
