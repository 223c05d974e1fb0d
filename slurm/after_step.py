#!/usr/bin/env python
"""Run by a job's batch script when its srun step failed: requeue the job if a node was lost.

    python slurm/after_step.py FOLDER NUM_TASKS SINCE MAX_REQUEUES

FOLDER is submitit's folder of the job (``%j`` for the job id), SINCE the start of this
attempt (seconds since the epoch). slurm/submit.py writes this call into every job's EXIT
trap; see rgbpose_plugin/launch/after_step.py. Prints what was done as one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from rgbpose_plugin.cli import report_errors
from rgbpose_plugin.launch import check_failed_step


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="submitit's folder of the job (%%j: the job id)")
    parser.add_argument("num_tasks", type=int, help="tasks of the job")
    parser.add_argument("since", type=float, help="start of this attempt, seconds since the epoch")
    parser.add_argument("max_requeues", type=int, help="requeue budget of the job")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    line = check_failed_step(args.folder, args.num_tasks, args.since, args.max_requeues)
    print(f"rgbpose after_step: {line}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main))
