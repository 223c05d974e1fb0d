#!/usr/bin/env python
"""State of the SLURM jobs submitted for a run, and the error of any that failed.

    python slurm/status.py OUTPUT_DIR [--submission N] [--tail LINES]

Reads OUTPUT_DIR/slurm/jobs.json (written by slurm/submit.py). For each job of the last
submission (or the N-th, 0-based; negative counts from the end) it prints the SLURM state;
for a finished job, its outcome: on failure the remote traceback, the last lines of its
stderr and the paths of its logs. Exit status: 0 all done and ok, 1 some failed,
2 nothing submitted for OUTPUT_DIR, 3 some still pending or running.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from rgbpose_plugin.cli import report_errors
from rgbpose_plugin.launch import describe_states, job_report, jobs_from_manifest, manifest_path


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output_dir", help="the run's OUTPUT_DIR")
    parser.add_argument("--submission", type=int, default=-1, help="which submission (default: last)")
    parser.add_argument("--tail", type=int, default=20, help="stderr lines shown for a failed job")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    jobs = jobs_from_manifest(manifest_path(args.output_dir), args.submission)
    for line in describe_states(jobs):
        print(line)
    code = 0
    for name, job in jobs.items():
        if not job.done():
            code = max(code, 3)
            continue
        report = job_report(job, name, args.tail)
        print(report.format(), file=sys.stdout if report.ok else sys.stderr)
        code = code if report.ok else max(code, 1)
    return code


if __name__ == "__main__":
    sys.exit(report_errors(main))
