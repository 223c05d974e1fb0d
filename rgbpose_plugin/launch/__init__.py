"""Running the recipe on a SLURM cluster through submitit.

* :mod:`.options` -- job options: defaults, a cluster YAML, the command line;
* :mod:`.submit`  -- the job plan (stage-1 jobs in parallel, then the rest) and submission;
* :mod:`.job`     -- what runs in every task: ranks from SLURM, DDP, preemption handling;
* :mod:`.monitor` -- waiting for jobs, and their errors and log paths for the user;
* :mod:`.node_loss` and :mod:`.after_step` -- a job that lost a node requeues itself.

Command lines: ``slurm/submit.py``, ``slurm/status.py`` and ``slurm/after_step.py`` (which
every job's batch script runs when its step failed).
"""

from .after_step import check_failed_step
from .job import RecipeJob, distributed_cfg, run_stages
from .monitor import (
    JobReport,
    NothingSubmitted,
    describe_states,
    job_report,
    jobs_from_manifest,
    tail,
    wait_for_jobs,
)
from .options import (
    SlurmOptionError,
    SlurmOptions,
    load_cluster_yaml,
    parse_mem_gb,
    parse_time_min,
    resolve_options,
)
from .submit import (
    PlannedJob,
    RecipeExecutor,
    SlurmUnavailable,
    SubmissionRefused,
    Submitted,
    build_executor,
    manifest_path,
    plan_jobs,
    prepare_cfg,
    sbatch_script,
    submit_plan,
    tasks_per_node,
)

__all__ = [
    "JobReport",
    "NothingSubmitted",
    "PlannedJob",
    "RecipeExecutor",
    "RecipeJob",
    "SlurmOptionError",
    "SlurmOptions",
    "SlurmUnavailable",
    "SubmissionRefused",
    "Submitted",
    "build_executor",
    "check_failed_step",
    "describe_states",
    "distributed_cfg",
    "job_report",
    "jobs_from_manifest",
    "load_cluster_yaml",
    "manifest_path",
    "parse_mem_gb",
    "parse_time_min",
    "plan_jobs",
    "prepare_cfg",
    "resolve_options",
    "run_stages",
    "sbatch_script",
    "submit_plan",
    "tail",
    "tasks_per_node",
    "wait_for_jobs",
]
