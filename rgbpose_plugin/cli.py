"""What the command-line tools share: the config arguments and one-line error reports.

Every tool's ``main`` runs inside :func:`report_errors`: a :class:`UserError` (bad config
key, missing file, corrupt sample, unfit checkpoint, changed stage config) prints as
``error: <message>`` on stderr with exit status 2, instead of a traceback. Anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Optional, Sequence

from fvcore.common.config import CfgNode

from .config import load_cfg
from .errors import UserError
from .stage_graph import STAGE_NAMES

__all__ = ["add_config_args", "config_from_args", "report_errors"]


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
    """``main(argv)``, with user errors printed as one line (exit status 2)."""
    try:
        return main(argv)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
