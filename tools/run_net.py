#!/usr/bin/env python
"""Run the RGBPoseConv3D recipe (or one stage of it).

    python tools/run_net.py --cfg configs/rgbpose_ntu.yaml [--stage NAME] [--opts KEY VALUE ...]

Stages: rgb_only, pose_only, merge, rgbpose, test (see rgbpose_plugin/recipe.py).
Multi-node without SLURM: --num_shards N --shard_id I --init_method tcp://HOST:PORT on
each node; on SLURM use slurm/submit.py.
"""

import argparse
import functools
import sys

import rgbpose_plugin  # noqa: F401  (registers models and datasets)
from rgbpose_plugin.config import ConfigError, load_cfg
from rgbpose_plugin.engine.distributed import launch
from rgbpose_plugin.recipe import STAGES, run


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="config YAML")
    parser.add_argument("--stage", default="", choices=("",) + STAGES,
                        help="run only this stage (default: every stage not yet done)")
    parser.add_argument("--shard_id", type=int, default=None, help="this node's index")
    parser.add_argument("--num_shards", type=int, default=None, help="number of nodes")
    parser.add_argument("--init_method", default="", help="tcp://HOST:PORT shared by all shards")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[],
                        help="config overrides: KEY VALUE ...")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = load_cfg(args.cfg_file, args.opts)
    if args.shard_id is not None:
        cfg.SHARD_ID = args.shard_id
    if args.num_shards is not None:
        cfg.NUM_SHARDS = args.num_shards
    try:
        launch(cfg, functools.partial(run, stage=args.stage), init_method=args.init_method)
    except ConfigError as err:  # a setting that does not fit the data: one line, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
