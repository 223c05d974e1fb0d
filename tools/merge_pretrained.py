#!/usr/bin/env python
"""Build RGBPoseConv3D's initial weights from the RGB-only and pose-only checkpoints.

    python tools/merge_pretrained.py --rgb rgb_only.pyth --pose pose_only.pyth --dst init.pyth \
        [--cfg configs/rgbpose_ntu.yaml] [--opts KEY VALUE ...]

Inputs are plugin checkpoints (convert pyskl / mmaction2 ones first with
tools/convert_checkpoint.py). The fused architecture comes from --cfg (the published
one by default); see rgbpose_plugin/weights/merge.py for the rules.
"""

import argparse
import sys

from rgbpose_plugin.cli import report_errors
from rgbpose_plugin.config import load_cfg
from rgbpose_plugin.weights import merge_checkpoint_files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rgb", required=True, help="RGB-only (RGBSlowOnly) checkpoint")
    parser.add_argument("--pose", required=True, help="pose-only (PoseSlowOnly) checkpoint")
    parser.add_argument("--dst", required=True, help="output checkpoint for RGBPoseConv3D")
    parser.add_argument("--cfg", default="", help="config of the fused model")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[])
    args = parser.parse_args(argv)
    cfg = load_cfg(args.cfg, args.opts)
    widened = merge_checkpoint_files(cfg, args.rgb, args.pose, args.dst)
    print(f"wrote {args.dst}; {len(widened)} tensors widened with zeros for lateral inputs:")
    for name in widened:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main))
