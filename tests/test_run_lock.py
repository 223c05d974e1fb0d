"""One run per stage folder: a live holder refuses a second run; a dead one's lock is taken over."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from rgbpose_plugin.engine import run_lock
from rgbpose_plugin.engine.run_lock import LOCK_NAME, Holder, OutputDirLocked, RunLock, hold_folder

HOLD = """
import sys, time
from rgbpose_plugin.engine.run_lock import hold_folder
with hold_folder(sys.argv[1]):
    print("holding", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def no_slurm_env(monkeypatch):
    for key in ("SLURM_JOB_ID", "SLURM_RESTART_COUNT"):
        monkeypatch.delenv(key, raising=False)


def _write_lock(folder, **fields):
    holder = {"host": socket.gethostname(), "pid": 1, "pid_start": "", "job_id": "", "attempt": 0,
              "started": "2026-01-01 00:00:00", "token": "t", **fields}
    (folder / LOCK_NAME).write_text(json.dumps(holder))
    return folder / LOCK_NAME


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_live_run_refuses_a_second_one_naming_itself(tmp_path, no_slurm_env):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(OutputDirLocked) as refused:
            with hold_folder(str(tmp_path)):
                pass
        message = str(refused.value)
        assert f"PID {holder.pid}" in message and f"host {socket.gethostname()}" in message
        assert str(tmp_path) in message
    finally:
        holder.kill()
        holder.wait()
    # killed without releasing: the lock is left, and taken over
    assert (tmp_path / LOCK_NAME).exists()
    with hold_folder(str(tmp_path)):
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert not (tmp_path / LOCK_NAME).exists()  # released


def test_the_slurm_job_id_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    _write_lock(tmp_path, pid=os.getppid(), pid_start=run_lock._proc_start(os.getppid()), job_id="77")
    with pytest.raises(OutputDirLocked, match=r"PID \d+, SLURM job 77"):
        RunLock(str(tmp_path)).acquire()


def test_a_recycled_pid_does_not_keep_the_lock(tmp_path, no_slurm_env):
    # the PID is alive, but it is another process than the one that took the lock
    _write_lock(tmp_path, pid=os.getppid(), pid_start="1")
    with hold_folder(str(tmp_path)):
        pass


def test_an_earlier_attempt_of_the_same_job_is_taken_over(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "31")
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    # the previous attempt ran on another node: only the job id tells it is gone
    _write_lock(tmp_path, host="elsewhere", pid=123, job_id="31", attempt=0)
    with hold_folder(str(tmp_path)):
        assert json.loads((tmp_path / LOCK_NAME).read_text())["attempt"] == 1


def test_other_hosts_are_judged_by_their_heartbeat(tmp_path, no_slurm_env, monkeypatch):
    monkeypatch.setattr(run_lock.shutil, "which", lambda name: None)  # no squeue
    path = _write_lock(tmp_path, host="elsewhere", pid=123, job_id="9")
    with pytest.raises(OutputDirLocked, match="host elsewhere, PID 123, SLURM job 9"):
        RunLock(str(tmp_path)).acquire()
    old = time.time() - run_lock.STALE_S - 5
    os.utime(path, (old, old))
    with hold_folder(str(tmp_path)):
        pass


def test_a_dead_local_pid_is_taken_over(tmp_path, no_slurm_env):
    _write_lock(tmp_path, pid=_dead_pid(), pid_start="1")
    lock = RunLock(str(tmp_path))
    lock.acquire()
    assert Holder(**json.loads((tmp_path / LOCK_NAME).read_text())).token == lock.me.token
    lock.release()
