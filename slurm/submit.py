#!/usr/bin/env python
"""Submit the RGBPoseConv3D recipe (or one stage of it) to a SLURM cluster.

    python slurm/submit.py --cfg configs/rgbpose_ntu.yaml --nodes 1 --gpus-per-node 8 \\
        --partition gpu [--stage NAME] [--cluster-cfg slurm/cluster.yaml] [--dry-run] [--wait] \\
        [--reuse | --redo] [--opts KEY VALUE ...]

The whole recipe is up to three jobs: rgb_only and pose_only side by side, then one
merge+rgbpose+test job that starts only when both succeeded (afterok). Done stages get no
job. Each job runs one task per GPU (DDP over NCCL), or --cpu-tasks-per-node gloo processes
with --gpus-per-node 0. Preempted or timed-out jobs save at the next iteration and requeue
themselves; the rerun resumes there.

Options not given on the command line come from --cluster-cfg (a YAML of option: value,
see slurm/cluster.yaml), then from built-in defaults. Logs: OUTPUT_DIR/slurm/<job id>/
(submitit's stdout/stderr per task) and OUTPUT_DIR/<stage>/log.txt; the jobs of each
submission are listed in OUTPUT_DIR/slurm/jobs.json (see slurm/status.py).
"""

from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional

import rgbpose_plugin  # noqa: F401  (registers models and datasets)
from rgbpose_plugin.cli import add_config_args, config_from_args, report_errors
from rgbpose_plugin.launch import (
    JobReport,
    load_cluster_yaml,
    plan_jobs,
    prepare_cfg,
    resolve_options,
    submit_plan,
    wait_for_jobs,
)

# command-line flag -> SlurmOptions field (None: not given, so the YAML or default applies)
_OPTION_FLAGS = {
    "--nodes": ("nodes", int, "number of nodes (default 1)"),
    "--gpus-per-node": ("gpus_per_node", int, "GPUs (= tasks) per node; 0 trains on CPUs "
                        "(default: the config's NUM_GPUS)"),
    "--cpu-tasks-per-node": ("cpu_tasks_per_node", int, "gloo processes per node with 0 GPUs (default 1)"),
    "--partition": ("partition", str, "SLURM partition"),
    "--time": ("time", str, "time limit: minutes, HH:MM:SS or D-HH:MM:SS (default 24:00:00)"),
    "--mem": ("mem", str, "memory per node, e.g. 256G (default: the partition's)"),
    "--cpus-per-task": ("cpus_per_task", int, "CPUs per task (default DATA_LOADER.NUM_WORKERS + 1)"),
    "--account": ("account", str, "SLURM account"),
    "--qos": ("qos", str, "quality of service"),
    "--constraint": ("constraint", str, "node features, e.g. volta32gb"),
    "--comment": ("comment", str, "job comment"),
    "--exclude": ("exclude", str, "nodes to avoid"),
    "--signal-delay": ("signal_delay_s", int, "seconds between the USR2 warning and the time "
                       "limit (default 120)"),
    "--stop-timeout": ("stop_timeout_s", float, "seconds to wait for the trainer to save after "
                       "USR2 before requeueing anyway (default 60)"),
    "--max-requeues": ("max_requeues", int, "requeues after time limits per job (default 10)"),
    "--folder": ("folder", str, "submitit folder (default OUTPUT_DIR/slurm/%%j)"),
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cluster-cfg", default="", help="YAML of option defaults for this cluster")
    for flag, (dest, kind, text) in _OPTION_FLAGS.items():
        parser.add_argument(flag, dest=dest, type=kind, default=None, help=text)
    parser.add_argument("--dry-run", action="store_true", help="print the sbatch scripts, submit nothing")
    parser.add_argument("--wait", action="store_true",
                        help="wait for the jobs; print each result or error (exit 1 if any failed)")
    add_config_args(parser, stage_help="submit only this stage (default: every stage not yet done)")
    return parser.parse_args(argv)


def _cli_options(args: argparse.Namespace) -> Dict:
    return {dest: getattr(args, dest) for dest, _, _ in _OPTION_FLAGS.values()}


def _print_report(report: JobReport) -> None:
    print(report.format(), file=sys.stdout if report.ok else sys.stderr, flush=True)


def main(argv: Optional[List[str]] = None) -> int:
    """Submit (or print) the jobs; a bad option or config raises a UserError before any is queued."""
    args = parse_args(argv)
    cluster = load_cluster_yaml(args.cluster_cfg) if args.cluster_cfg else {}
    opts = resolve_options(_cli_options(args), cluster)
    cfg = prepare_cfg(config_from_args(args), opts)
    plan = plan_jobs(cfg, args.stage)
    if not plan:
        print(f"nothing to submit: every stage in {cfg.OUTPUT_DIR} is done")
        return 0
    submitted = submit_plan(cfg, opts, plan, dry_run=args.dry_run)
    if args.dry_run:
        for planned, script in zip(plan, submitted):
            print(f"# ===== job {planned.name}: stages {', '.join(planned.stages)} =====\n{script}")
        return 0
    for sub in submitted:
        after = f", after {sub.dependency}" if sub.dependency else ""
        print(f"submitted job {sub.job_id} ({sub.plan.name}, {sub.num_tasks} task(s){after})\n"
              f"  stdout: {sub.logs['stdout']}\n  stderr: {sub.logs['stderr']}")
    print(f"follow with: python slurm/status.py {cfg.OUTPUT_DIR}")
    if not args.wait:
        return 0
    try:
        reports = wait_for_jobs({s.plan.name: s.job for s in submitted}, on_report=_print_report)
    except KeyboardInterrupt:
        print("stopped waiting; the jobs keep running", file=sys.stderr)
        return 130
    failed = [r for r in reports if not r.ok]
    print(f"{len(reports) - len(failed)} of {len(reports)} job(s) succeeded")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(report_errors(main))
