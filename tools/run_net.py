#!/usr/bin/env python
"""Run the RGBPoseConv3D recipe (or one stage of it).

    python tools/run_net.py --cfg configs/rgbpose_ntu.yaml [--stage NAME] [--reuse | --redo]
                            [--opts KEY VALUE ...]

Stages: rgb_only, pose_only, merge, rgbpose, test (rgbpose_plugin/stage_graph.py). Every
stage's config is built and checked before the first one runs.
Multi-node without SLURM: --num_shards N --shard_id I --init_method tcp://HOST:PORT on
each node; on SLURM use slurm/submit.py.
"""

import argparse
import functools
import sys

import rgbpose_plugin  # noqa: F401  (registers models and datasets)
from rgbpose_plugin.cli import add_config_args, config_from_args, report_errors
from rgbpose_plugin.engine.distributed import launch
from rgbpose_plugin.recipe import run


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shard_id", type=int, default=None, help="this node's index")
    parser.add_argument("--num_shards", type=int, default=None, help="number of nodes")
    parser.add_argument("--init_method", default="", help="tcp://HOST:PORT shared by all shards")
    add_config_args(parser, stage_help="run only this stage (default: every stage not yet done)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = config_from_args(args)
    if args.shard_id is not None:
        cfg.SHARD_ID = args.shard_id
    if args.num_shards is not None:
        cfg.NUM_SHARDS = args.num_shards
    launch(cfg, functools.partial(run, stage_name=args.stage), init_method=args.init_method)
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main))
