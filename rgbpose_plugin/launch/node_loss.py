"""A task whose peer vanished (its node lost, the task SIGKILLed): requeue instead of failing.

When a node dies mid-epoch, the tasks on the other nodes see it as a broken connection in
their next collective. Ending them with that error would end the job FAILED, though
nothing is wrong with the run: it only lost a machine. So a surviving task first tells the
two cases apart:

* a peer that failed in Python leaves its traceback in its submitit result pickle before
  its process exits (its sockets close only then): a real error, reported as such;
* a peer that left nothing within :data:`GRACE_S` vanished (node lost, SIGKILL, OOM
  killer): the task asks SLURM to requeue the job (``scontrol requeue``), which then
  kills every task; the rerun resumes from the last checkpoint, with a new rendezvous
  port (see ``job_port``), so nothing waits on the dead group.

Requeues for lost peers are bounded by the job's requeue budget (``SLURM_RESTART_COUNT``).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

import torch.distributed as dist
from submitit.core.utils import JobPaths, pickle_load

__all__ = ["peer_lost", "peer_left_an_error", "requeue_job", "trap_lines", "AFTER_STEP_SCRIPT", "GRACE_S"]

GRACE_S = 2.0  # srun aborts a step that lost a node and kills its tasks some 7 s later
log = logging.getLogger("rgbpose_plugin.slurm")

# The EXIT trap runs in the job's working directory, which need not be the repository, and
# the script is not an importable module: the trap names it by its absolute path, found
# from this package's place in the repository (an editable install) when the job is submitted.
AFTER_STEP_SCRIPT = Path(__file__).resolve().parents[2] / "slurm" / "after_step.py"

# what gloo / NCCL / the TCP store say when the other end of a collective is gone
_LOST = re.compile(r"Connection (reset|closed|refused)|Broken pipe|timed out|"
                   r"NCCL communicator was aborted|remote process exited", re.IGNORECASE)


def peer_lost(err: BaseException) -> bool:
    """True for the errors a collective raises when another rank's process is gone."""
    dist_error = getattr(dist, "DistError", ())
    if dist_error and isinstance(err, dist_error):
        return True
    return isinstance(err, RuntimeError) and bool(_LOST.search(str(err)))


def peer_left_an_error(folder: str, job_id: str, ranks: Sequence[int], since: float,
                       grace_s: float = GRACE_S) -> Optional[str]:
    """The last line of the error another task of the job left within ``grace_s``, or None.

    Only result pickles written after ``since`` (this attempt's start) count: a requeued
    job keeps the files of its earlier attempts.
    """
    paths = {r: JobPaths(folder, job_id=job_id, task_id=r).result_pickle for r in ranks}
    deadline = time.monotonic() + grace_s
    while True:
        for rank, path in paths.items():
            if _mtime(path) > since:
                return f"task {rank}: {_last_line(path)}"
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.25)


def _last_line(path) -> str:
    try:
        status, payload = pickle_load(path)
    except Exception as err:  # noqa: BLE001  (any unreadable pickle: say so, do not fail)
        return f"(its result {path} is unreadable: {err})"
    lines = str(payload).strip().splitlines() if status == "error" else [f"ended ({status})"]
    return lines[-1] if lines else "(empty error)"


def _mtime(path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def requeue_job(job_id: str, restart_count: int, max_requeues: int) -> bool:
    """Ask SLURM to requeue ``job_id``; False when the budget is spent or SLURM refused."""
    if restart_count >= max_requeues:
        log.error(f"a peer was lost, but job {job_id} was already requeued {restart_count} times "
                  f"(limit {max_requeues}): not requeueing")
        return False
    log.warning(f"a peer of job {job_id} vanished (node lost?): requeueing; the rerun resumes "
                "from the last checkpoint")
    proc = subprocess.run(["scontrol", "requeue", job_id], capture_output=True, text=True, timeout=60,
                          env={**os.environ})
    if proc.returncode != 0 and "pending" not in proc.stderr.lower():  # another task was first
        log.error(f"scontrol requeue {job_id} failed: {proc.stderr.strip()}")
        return False
    return True


def trap_lines(folder: str, num_tasks: int, max_requeues: int) -> List[str]:
    """Batch-script lines: note this attempt's start, and check a failed step on exit.

    srun may end a step that lost a node before its tasks requeue the job; the EXIT trap
    then runs ``slurm/after_step.py`` (see :mod:`.after_step`).
    """
    check = (f'{sys.executable} "{AFTER_STEP_SCRIPT}" "{folder}" {num_tasks} '
             f'$RGBPOSE_ATTEMPT_START {max_requeues}')
    return ["export RGBPOSE_ATTEMPT_START=$(date +%s)",
            f"trap 'rc=$?; [ $rc = 0 ] || {check}; exit $rc' EXIT"]
