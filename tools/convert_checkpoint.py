#!/usr/bin/env python
"""Convert pyskl / mmaction2 RGBPose checkpoints to plugin checkpoints (and back).

    python tools/convert_checkpoint.py --src rgbpose_conv3d.pth --dst rgbpose.pyth
    python tools/convert_checkpoint.py --src rgbpose.pyth --dst back.pth --to-mmcv

Handles the fused RGBPoseConv3D, the RGB-only SlowOnly and the pose-only SlowOnly; the
kind is read from the parameter names. Every key must map and match the architecture
(``--cfg``/``--opts`` describe a non-default one); any problem stops with its name.
"""

import argparse
import sys

import torch

from rgbpose_plugin.cli import report_errors
from rgbpose_plugin.config import load_cfg
from rgbpose_plugin.weights import mmcv_to_plugin, plugin_to_mmcv
from rgbpose_plugin.weights.checkpoints import (
    load_checkpoint,
    load_mmcv_checkpoint,
    save_checkpoint,
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", required=True, help="checkpoint to convert")
    parser.add_argument("--dst", required=True, help="where to write the result")
    parser.add_argument("--to-mmcv", action="store_true",
                        help="plugin checkpoint -> pyskl/mmaction2 {'state_dict': ...}")
    parser.add_argument("--cfg", default="", help="config describing the architecture")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[],
                        help="config overrides, KEY VALUE ...")
    args = parser.parse_args(argv)
    if args.to_mmcv:
        out = plugin_to_mmcv(load_checkpoint(args.src), args.src)
        save_checkpoint(args.dst, out)
        n = len(out["state_dict"])
    else:
        cfg = load_cfg(args.cfg, args.opts)
        out = mmcv_to_plugin(load_mmcv_checkpoint(args.src), args.src, cfg)
        save_checkpoint(args.dst, out)
        n = len(out["model_state"])
    print(f"wrote {args.dst}: {n} tensors"
          + ("" if args.to_mmcv else f", model {out['model_name']}"))
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(report_errors(main))
