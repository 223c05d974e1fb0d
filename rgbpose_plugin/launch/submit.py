"""Submit the recipe (or one stage) to SLURM through submitit's ``SlurmExecutor``.

The whole recipe becomes up to three jobs::

    rgb_only  ──┐  (in parallel)
                ├──afterok──> merge+rgbpose+test
    pose_only ──┘

A stage that is already done (``DONE.json``) or replaced by supplied weights gets no job.
Each job runs one task per GPU on every node (or ``cpu_tasks_per_node`` gloo processes
without GPUs); the config is adjusted here so that NUM_SHARDS, NUM_GPUS and
RGBPOSE.CPU_PROCESSES match the job exactly.

Every submission is recorded in ``OUTPUT_DIR/slurm/jobs.json`` (job ids, stages, log
paths), which ``slurm/status.py`` reads.
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence, Tuple

import submitit
from fvcore.common.config import CfgNode
from submitit import SlurmExecutor
from submitit.core.utils import FailedJobError

from ..config import stage_cfg
from ..errors import UserError
from ..recipe import stage_pending
from ..stage_graph import STAGE_NAMES, STAGES, stage
from .job import RecipeJob
from .node_loss import AFTER_STEP_SCRIPT, trap_lines
from .options import SlurmOptionError, SlurmOptions, parse_mem_gb, parse_time_min

__all__ = ["PlannedJob", "Submitted", "RecipeExecutor", "plan_jobs", "prepare_cfg", "tasks_per_node",
           "build_executor", "sbatch_script", "submit_plan", "manifest_path", "SlurmUnavailable",
           "SubmissionRefused"]

# Stages that need no other stage run side by side, one job each; the rest follow in
# one job that waits for them (afterok).
_ROOTS = tuple(s.name for s in STAGES if not s.needs)


class SlurmUnavailable(UserError, RuntimeError):
    """Jobs cannot be submitted from here: no SLURM client (``srun``/``sbatch``), or the
    package is not installed from its repository (the jobs run ``slurm/after_step.py``)."""


@dataclass(frozen=True)
class PlannedJob:
    """One job of the plan: the stages it runs and the planned jobs it waits for."""

    name: str
    stages: Tuple[str, ...]
    after: Tuple[str, ...] = ()
    summarize: bool = True  # False for jobs that run side by side


@dataclass
class Submitted:
    """A submitted job: its plan entry, submitit handle and where its logs go."""

    plan: PlannedJob
    job: submitit.Job
    num_tasks: int
    dependency: str = ""
    logs: Dict[str, str] = field(default_factory=dict)

    @property
    def job_id(self) -> str:
        return self.job.job_id


class SubmissionRefused(UserError, RuntimeError):
    """sbatch refused a job (an unknown partition or account, a limit); the message says why."""


# --- the plan --------------------------------------------------------------------------
def plan_jobs(cfg: CfgNode, only: str = "") -> List[PlannedJob]:
    """The jobs to submit: stage ``only`` alone, or every pending stage of the recipe."""
    if only:
        return [PlannedJob(stage(only).name, (only,))]
    wanted = [s for s in STAGE_NAMES if s in cfg.RGBPOSE.RECIPE.STAGES and stage_pending(cfg, s)]
    first = [s for s in wanted if s in _ROOTS]
    rest = tuple(s for s in wanted if s not in _ROOTS)
    jobs = [PlannedJob(s, (s,), summarize=len(first) == 1 and not rest) for s in first]
    if rest:
        jobs.append(PlannedJob("+".join(rest), rest, after=tuple(first)))
    return jobs


def tasks_per_node(opts: SlurmOptions) -> int:
    return opts.gpus_per_node if opts.gpus_per_node else opts.cpu_tasks_per_node


def prepare_cfg(cfg: CfgNode, opts: SlurmOptions, stages: Sequence[str] = STAGE_NAMES) -> CfgNode:
    """``cfg`` made consistent with the job shape (and an absolute OUTPUT_DIR).

    Also fills ``opts.gpus_per_node`` / ``opts.cpus_per_task`` from the config when they
    were not given, and checks that each training stage's batch splits over the tasks.
    """
    out = cfg.clone()
    out.defrost()
    if opts.gpus_per_node is None:
        opts.gpus_per_node = out.NUM_GPUS
    if opts.cpus_per_task is None:
        opts.cpus_per_task = out.DATA_LOADER.NUM_WORKERS + 1
    out.NUM_SHARDS = opts.nodes
    out.SHARD_ID = 0  # each task sets its own from SLURM_NODEID
    out.NUM_GPUS = opts.gpus_per_node
    if not opts.gpus_per_node:
        out.RGBPOSE.CPU_PROCESSES = opts.cpu_tasks_per_node
    out.OUTPUT_DIR = os.path.abspath(out.OUTPUT_DIR)
    per_node = tasks_per_node(opts)
    for name in stages:
        batch = stage_cfg(out, name).TRAIN.BATCH_SIZE  # per node, as in PySlowFast
        if stage(name).action == "train" and batch % per_node:
            raise SlurmOptionError(f"stage {name}: TRAIN.BATCH_SIZE {batch} (per node) does not "
                             f"split over {per_node} processes per node")
    out.freeze()
    return out


# --- executors -------------------------------------------------------------------------
def _job_folder(cfg: CfgNode, opts: SlurmOptions) -> str:
    return opts.folder or os.path.join(cfg.OUTPUT_DIR, "slurm", "%j")


class RecipeExecutor(SlurmExecutor):
    """submitit's SLURM executor, which can also be built where SLURM is missing.

    submitit refuses to build a ``SlurmExecutor`` where ``srun`` is missing (its
    ``affinity`` is -1 there). ``--dry-run`` only prints the sbatch scripts, so this class
    always reports SLURM as present; :func:`build_executor` asks submitit's own detection
    (``SlurmExecutor.affinity``) before anything is submitted.
    """

    @classmethod
    def affinity(cls) -> int:
        return 2

    def sbatch_script(self) -> str:
        """The sbatch script a submission would write (nothing is submitted or written)."""
        # What every task runs: submitit's entry point, which reads the job's pickle in the
        # folder. The text comes from the hook every submitit executor implements for its
        # submission file (submitit has no public call that returns it).
        command = f"{self.python} -u -m submitit.core._submit {shlex.quote(str(self.folder))}"
        return self._make_submission_file_text(command, "dry-run")


def _sbatch_mem(gb: float) -> str:
    """``--mem`` for ``gb`` gigabytes, in whole GB or MB."""
    return f"{int(gb)}GB" if gb == int(gb) else f"{int(gb * 1024)}MB"


def _sbatch_parameters(cfg: CfgNode, opts: SlurmOptions, plan: PlannedJob,
                       dependency: str) -> Dict[str, Any]:
    """The ``SlurmExecutor`` parameters (sbatch option names) of one planned job."""
    per_node = tasks_per_node(opts)
    extra = dict(opts.additional_parameters)
    if dependency:
        # kill-on-invalid-dep: if a stage-1 job fails, the dependent job is cancelled
        # instead of pending forever (DependencyNeverSatisfied).
        extra.update({"dependency": dependency, "kill-on-invalid-dep": "yes"})
    params: Dict[str, Any] = dict(
        job_name=f"rgbpose-{plan.name}", nodes=opts.nodes, ntasks_per_node=per_node,
        cpus_per_task=opts.cpus_per_task, time=parse_time_min(opts.time),
        signal_delay_s=opts.signal_delay_s,
        # torch would start one thread per core in every task; give each its own CPUs.
        # SRUN_CPUS_PER_TASK: from SLURM 22.05 srun no longer takes --cpus-per-task from the
        # allocation, which would leave one CPU for all of a task's loader workers.
        setup=[f"export OMP_NUM_THREADS=${{OMP_NUM_THREADS:-{opts.cpus_per_task}}}",
               f"export SRUN_CPUS_PER_TASK={opts.cpus_per_task}", *opts.setup,
               # a step that failed without a result (a node lost) requeues the job
               *trap_lines(_job_folder(cfg, opts), opts.nodes * per_node, opts.max_requeues)],
        # one failed task ends the step at once, instead of its peers waiting in a
        # collective until the timeout
        srun_args=["--kill-on-bad-exit=1"],
    )
    if opts.gpus_per_node:
        params["gpus_per_node"] = opts.gpus_per_node
    if opts.mem:
        params["mem"] = _sbatch_mem(parse_mem_gb(opts.mem))
    for key in ("partition", "account", "qos", "constraint", "comment", "exclude"):
        if getattr(opts, key):
            params[key] = getattr(opts, key)
    if extra:
        params["additional_parameters"] = extra
    return params


def build_executor(cfg: CfgNode, opts: SlurmOptions, plan: PlannedJob, dependency: str = "",
                   dry_run: bool = False) -> RecipeExecutor:
    """A submitit executor for one planned job (``dependency``: e.g. ``afterok:12:13``).

    Raises :class:`SlurmUnavailable` where there is no SLURM client, unless ``dry_run``.
    """
    if not dry_run and SlurmExecutor.affinity() <= 0:
        raise SlurmUnavailable("cannot submit to SLURM here (no srun found); --dry-run prints "
                               "the sbatch scripts without a cluster")
    if not AFTER_STEP_SCRIPT.is_file():
        raise SlurmUnavailable(f"{AFTER_STEP_SCRIPT} is missing, which every job runs when its "
                               "step fails: install the package from its repository (pip install -e .)")
    executor = RecipeExecutor(folder=_job_folder(cfg, opts), max_num_timeout=opts.max_requeues)
    executor.update_parameters(**_sbatch_parameters(cfg, opts, plan, dependency))
    return executor


def sbatch_script(executor: RecipeExecutor) -> str:
    """The sbatch script submitit would submit with ``executor`` (nothing is submitted)."""
    return executor.sbatch_script()


# --- submission ------------------------------------------------------------------------
def _log_paths(job: submitit.Job) -> Dict[str, str]:
    return {"stdout": str(job.paths.stdout), "stderr": str(job.paths.stderr)}


def manifest_path(output_dir: str) -> str:
    return os.path.join(os.path.abspath(output_dir), "slurm", "jobs.json")


def _record(cfg: CfgNode, opts: SlurmOptions, submitted: Sequence[Submitted]) -> None:
    """Append this submission to OUTPUT_DIR/slurm/jobs.json (read by slurm/status.py)."""
    path = manifest_path(cfg.OUTPUT_DIR)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    history = []
    if os.path.exists(path):
        with open(path) as f:
            history = json.load(f)
    history.append({
        "submitted_at": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "folder": _job_folder(cfg, opts),
        "jobs": [{"name": s.plan.name, "stages": list(s.plan.stages), "job_id": s.job_id,
                  "num_tasks": s.num_tasks, "dependency": s.dependency, **s.logs} for s in submitted],
    })
    with open(path, "w") as f:
        json.dump(history, f, indent=2)
    with open(os.path.join(os.path.dirname(path), "config.yaml"), "w") as f:
        f.write(cfg.dump())


def _refused(cfg: CfgNode, opts: SlurmOptions, planned: PlannedJob, submitted: Sequence[Submitted],
             err: FailedJobError) -> SubmissionRefused:
    """The error for a job sbatch refused; the jobs queued before it are recorded.

    submitit has already printed sbatch's whole stderr; its last line says why.
    """
    reason = (str(err).strip().splitlines() or ["no reason given"])[-1]
    message = f"sbatch refused job {planned.name}: {reason}"
    if submitted:
        _record(cfg, opts, submitted)
        queued = ", ".join(f"{s.plan.name} ({s.job_id})" for s in submitted)
        message += f"; already queued: {queued} (scancel them, or fix and submit again)"
    return SubmissionRefused(message)


def submit_plan(cfg: CfgNode, opts: SlurmOptions, plan: Sequence[PlannedJob],
                dry_run: bool = False) -> List[Submitted] | List[str]:
    """Submit ``plan`` in order (dependencies become ``afterok`` on earlier job ids).

    With ``dry_run`` nothing is submitted and the sbatch scripts are returned instead
    (dependencies name the planned jobs, as ``afterok:<rgb_only>``).
    """
    ids: Dict[str, str] = {}
    scripts: List[str] = []
    submitted: List[Submitted] = []
    num_tasks = opts.nodes * tasks_per_node(opts)
    for planned in plan:
        after = [ids.get(name, f"<{name}>") for name in planned.after]
        dependency = "afterok:" + ":".join(after) if after else ""
        executor = build_executor(cfg, opts, planned, dependency, dry_run)
        if dry_run:
            scripts.append(sbatch_script(executor))
            continue
        try:
            job = executor.submit(RecipeJob(cfg, planned.stages, planned.summarize, opts.stop_timeout_s,
                                            opts.max_requeues))
        except FailedJobError as err:
            raise _refused(cfg, opts, planned, submitted, err) from err
        ids[planned.name] = job.job_id
        submitted.append(Submitted(planned, job, num_tasks, dependency, _log_paths(job)))
    if dry_run:
        return scripts
    if submitted:
        _record(cfg, opts, submitted)
    return submitted
