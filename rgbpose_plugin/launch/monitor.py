"""Follow submitted jobs and bring a failing job's error and log paths back to the user.

A finished task leaves a result pickle (its return value or its traceback); a task that
never finished (cancelled, killed, out of memory, a dependency failed) leaves none, and
its state comes from ``sacct``. :func:`job_report` turns either into a short text: state,
error, the tail of the task's stderr, and the log paths.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import submitit

from ..errors import UserError

__all__ = ["JobReport", "NothingSubmitted", "job_report", "wait_for_jobs", "jobs_from_manifest",
           "describe_states", "tail"]


class NothingSubmitted(UserError):
    """No submission of ``slurm/submit.py`` is recorded where the user looked."""


@dataclass
class JobReport:
    """What became of one job."""

    name: str
    job_id: str
    state: str  # COMPLETED, FAILED, CANCELLED, ... (as sacct says when there is no result)
    ok: bool
    result: Any = None  # rank 0's return value when ok
    error: str = ""  # the remote traceback, or why there is none
    logs: Dict[str, str] = field(default_factory=dict)
    stderr_tail: str = ""  # for a job that ended without a traceback

    @property
    def traceback(self) -> List[str]:
        """The remote traceback's lines, without submitit's wrapping text."""
        lines = self.error.strip().splitlines()
        if "Traceback" not in self.error:
            return []
        start = next(i for i, line in enumerate(lines) if "Traceback" in line)
        end = next((i for i, line in enumerate(lines) if i > start and line.startswith("-----")), len(lines))
        return [line for line in lines[start:end] if line.strip()]

    @property
    def summary(self) -> str:
        """One line: the exception a task raised (the traceback's last line), or why there is none."""
        trace = self.traceback
        if trace:
            return trace[-1].strip()
        return self.error.strip().splitlines()[0] if self.error.strip() else ""

    def format(self, trace_lines: int = 12) -> str:
        """State, error and the last ``trace_lines`` lines of the traceback, log paths."""
        head = f"job {self.job_id} ({self.name}): {self.state}"
        if self.ok:
            lines = [head]
        else:
            lines = [f"{head}: {self.summary}"]
            trace = self.traceback
            if len(trace) > trace_lines:
                lines.append(f"  ... (the whole traceback is in {self.logs.get('stderr')})")
            lines += ["  " + line for line in trace[-trace_lines:]]
            if self.stderr_tail:
                lines += [f"  --- last lines of {self.logs.get('stderr')}"]
                lines += ["  " + line for line in self.stderr_tail.splitlines()]
        for kind, path in self.logs.items():
            lines.append(f"  {kind}: {path}" + ("" if os.path.exists(path) else " (not created)"))
        return "\n".join(lines)


def tail(path: str, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file ('' when it does not exist)."""
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def _state(job: submitit.Job) -> str:
    return job.watcher.get_state(job.job_id, mode="cache")


def job_report(job: submitit.Job, name: str = "", tail_lines: int = 20) -> JobReport:
    """The outcome of a finished ``job`` (all tasks; the first failing task's error)."""
    logs = {"stdout": str(job.task(0).paths.stdout), "stderr": str(job.task(0).paths.stderr)}
    tasks = [job.task(i) for i in range(job.num_tasks)]
    with_result = [t for t in tasks if t.paths.result_pickle.exists()]
    for task in with_result:
        error = task.exception()
        if error is not None:
            return JobReport(name, job.job_id, "FAILED", False, error=str(error),
                             logs={"stdout": str(task.paths.stdout), "stderr": str(task.paths.stderr)})
    state = _state(job)
    if len(with_result) == len(tasks):
        # sacct may lag behind the result files; every task returning means COMPLETED
        return JobReport(name, job.job_id, "COMPLETED", True, result=tasks[0].result(), logs=logs)
    why = f"the job ended without a result (SLURM state: {state})"
    if not os.path.exists(logs["stdout"]):
        why += "; it never started (cancelled, or a job it depends on failed)"
    return JobReport(name, job.job_id, state, False, error=why, logs=logs,
                     stderr_tail=tail(logs["stderr"], tail_lines))


def wait_for_jobs(jobs: Dict[str, submitit.Job], timeout_s: Optional[float] = None,
                  poll_s: float = 5.0, force_every_s: float = 30.0,
                  on_report: Optional[Callable[[JobReport], None]] = None) -> List[JobReport]:
    """Wait until every job of ``jobs`` (name -> job) has ended; their reports, in order.

    submitit asks ``sacct`` rarely by itself (a job that dies without a result would be
    noticed only after minutes); this forces a check every ``force_every_s``. Each report
    goes to ``on_report`` as soon as its job ends. Raises TimeoutError, naming the
    unfinished jobs, after ``timeout_s``.
    """
    start = last_force = time.monotonic()
    pending = dict(jobs)
    reports: Dict[str, JobReport] = {}
    while pending:
        now = time.monotonic()
        force = now - last_force >= force_every_s
        if force:
            last_force = now
        for name, job in list(pending.items()):
            if job.done(force_check=force):
                reports[name] = job_report(job, name)
                del pending[name]
                if on_report is not None:
                    on_report(reports[name])
        if not pending:
            break
        if timeout_s is not None and time.monotonic() - start > timeout_s:
            states = ", ".join(f"{n} ({j.job_id}: {_state(j)})" for n, j in pending.items())
            raise TimeoutError(f"jobs still running after {timeout_s:.0f} s: {states}")
        time.sleep(poll_s)
    return [reports[name] for name in jobs]


def jobs_from_manifest(manifest: str, which: int = -1) -> Dict[str, submitit.Job]:
    """The jobs of one submission recorded in ``OUTPUT_DIR/slurm/jobs.json`` (default: last).

    ``which`` counts from 0; a negative one from the end, as a Python index.
    """
    if not os.path.exists(manifest):
        raise NothingSubmitted(f"no {manifest}: nothing was submitted with slurm/submit.py "
                               "for this OUTPUT_DIR")
    with open(manifest) as f:
        history = json.load(f)
    if not -len(history) <= which < len(history):
        raise NothingSubmitted(f"{manifest} lists {len(history)} submission(s); there is no "
                               f"submission {which}")
    entry = history[which]
    return {j["name"]: submitit.SlurmJob(folder=entry["folder"], job_id=j["job_id"],
                                         tasks=tuple(range(j["num_tasks"])))
            for j in entry["jobs"]}


def describe_states(jobs: Dict[str, submitit.Job]) -> Sequence[str]:
    """One line per job: name, id, SLURM state (asks sacct once)."""
    for job in jobs.values():
        job.watcher.register_job(job.job_id)
    if jobs:
        next(iter(jobs.values())).watcher.update()
    return [f"{name}: job {job.job_id} {_state(job)}" for name, job in jobs.items()]
