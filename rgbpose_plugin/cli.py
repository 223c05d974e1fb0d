"""What the command-line tools share: the config arguments and one-line error reports.

Every tool's ``main`` runs inside :func:`report_errors`, which ends every failure with
one line on stderr:

* a :class:`UserError` (bad config key, missing file, corrupt sample, unfit checkpoint,
  changed stage config): ``error: <message>``, exit status 2;
* Ctrl-C, or SIGTERM (``kill``, ``timeout``, torchrun after another rank failed): where
  the run stopped and how to resume (:class:`~rgbpose_plugin.errors.Interrupted`), exit
  status 130 or 143;
* anything else, a bug: ``error: <Type>: <message>`` and the ``log.txt`` that holds its
  traceback (on stderr where no stage log was open yet), exit status 1.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Callable, Optional, Sequence

from fvcore.common.config import CfgNode

from .config import load_cfg
from .engine.logs import traceback_log
from .errors import Interrupted, UserError, stop_signals
from .stage_graph import STAGE_NAMES

__all__ = ["add_config_args", "config_from_args", "positive_int", "report_errors"]


def positive_int(text: str) -> int:
    """An argparse ``type``: a positive integer, else argparse's usage error."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def add_config_args(parser: argparse.ArgumentParser, *, stage_help: str = "") -> None:
    """``--cfg``, ``--stage``, ``--reuse`` / ``--redo`` (when ``stage_help``) and ``--opts``."""
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="config YAML")
    if stage_help:
        parser.add_argument("--stage", default="", choices=("",) + STAGE_NAMES, help=stage_help)
        change = parser.add_mutually_exclusive_group()
        change.add_argument("--reuse", action="store_true",
                            help="keep finished stages whose config changed since they ran")
        change.add_argument("--redo", action="store_true",
                            help="run finished stages whose config changed again (and the "
                                 "stages after them)")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[],
                        help="config overrides: KEY VALUE ... (last)")


def config_from_args(args: argparse.Namespace) -> CfgNode:
    """The checked config of ``--cfg`` and ``--opts`` (every stage built once)."""
    opts = list(args.opts)
    if getattr(args, "reuse", False) or getattr(args, "redo", False):
        opts += ["RGBPOSE.RECIPE.ON_CONFIG_CHANGE", "reuse" if args.reuse else "redo"]
    return load_cfg(args.cfg_file, opts)


def report_errors(main: Callable[[Optional[Sequence[str]]], int],
                  argv: Optional[Sequence[str]] = None) -> int:
    """``main(argv)``; a failure is reported in one line (see the module doc)."""
    try:
        with stop_signals():
            return main(argv)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        stop = err if isinstance(err, Interrupted) else Interrupted()
        print(stop, file=sys.stderr)
        return stop.exit_status
    except Exception as err:  # a bug
        log = traceback_log(err)
        if not log:
            traceback.print_exc()
        summary = (str(err).strip().splitlines() or [""])[0]
        where = f"the traceback is in {log}" if log else "traceback above"
        print(f"error: {type(err).__name__}: {summary} (a bug: {where})", file=sys.stderr)
        return 1
