"""What a job's batch script does when its srun step failed: requeue if a node was lost.

``srun`` ends a step within seconds of losing one of its nodes (it kills the surviving
tasks), often before those tasks notice the broken connection and requeue the job
themselves (see :mod:`.node_loss`); the batch script would then end and the job be FAILED.
So the script's EXIT trap (set up by :func:`.node_loss.trap_lines`) runs
``slurm/after_step.py``, which calls :func:`check_failed_step`: when no task of this
attempt left a result (a Python error writes one) and the job is still RUNNING (not
already requeued by a task or by submitit, not cancelled), the job is requeued within its
budget.
"""

from __future__ import annotations

import os
import subprocess

from ..errors import UserError
from .node_loss import peer_left_an_error, requeue_job

__all__ = ["NotInAJob", "after_failed_step", "check_failed_step"]


class NotInAJob(UserError):
    """:func:`check_failed_step` was called outside a SLURM job (no ``SLURM_JOB_ID``)."""


def _job_state(job_id: str) -> str:
    proc = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True, timeout=60)
    for field in proc.stdout.split():
        if field.startswith("JobState="):
            return field.split("=", 1)[1]
    return "UNKNOWN"


def after_failed_step(folder: str, job_id: str, num_tasks: int, since: float,
                      restart_count: int, max_requeues: int) -> str:
    """What was done about a failed step (requeued, or why not), as one line."""
    left = peer_left_an_error(folder, job_id, range(num_tasks), since=since, grace_s=0.0)
    if left:
        return f"step failed with a result ({left}): not requeueing"
    state = _job_state(job_id)
    if state != "RUNNING":
        return f"step failed without a result; job {job_id} is {state}: nothing to do"
    if requeue_job(job_id, restart_count, max_requeues):
        return f"step failed without a result (a node lost?): job {job_id} requeued"
    return f"step failed without a result: job {job_id} not requeued"


def check_failed_step(folder: str, num_tasks: int, since: float, max_requeues: int) -> str:
    """:func:`after_failed_step` for the job this batch script runs (from SLURM's variables).

    ``folder`` is submitit's folder, ``%j`` standing for the job id.
    """
    job_id = os.environ.get("SLURM_JOB_ID", "")
    if not job_id:
        raise NotInAJob("SLURM_JOB_ID is not set: slurm/after_step.py runs in a SLURM job's "
                        "batch script")
    restart_count = int(os.environ.get("SLURM_RESTART_COUNT", 0) or 0)
    return after_failed_step(folder.replace("%j", job_id), job_id, num_tasks, since,
                             restart_count, max_requeues)
