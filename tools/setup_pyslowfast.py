#!/usr/bin/env python
"""Make a PySlowFast checkout train and test the plugin's models (docs/hosts.md).

    python tools/setup_pyslowfast.py SLOWFAST_DIR [--stub-dir DIR]

Applies the fixes PySlowFast main needs outside Meta and on a machine without CUDA
(local imports in tools/run_net.py and slowfast/utils/ava_eval_helper.py, a guarded
torch.cuda.synchronize() in tools/train_net.py), makes slowfast/config/custom_config.py
call add_rgbpose_config, and writes a detectron2 stub (DIR, default SLOWFAST_DIR/../stubs).
Each line of its output says what it changed; a second run changes nothing. Exit status 1
when a fix's original text was not found (the line says what to edit by hand).
See rgbpose_plugin/host/pyslowfast_setup.py.
"""

import argparse
import sys

from rgbpose_plugin.cli import report_errors
from rgbpose_plugin.host.pyslowfast_setup import setup_pyslowfast


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("slowfast_dir", metavar="SLOWFAST_DIR",
                        help="the PySlowFast checkout (the folder with slowfast/ and tools/)")
    parser.add_argument("--stub-dir", default=None,
                        help="where to write the detectron2 stub (default: "
                             "SLOWFAST_DIR/../stubs)")
    args = parser.parse_args(argv)
    report = setup_pyslowfast(args.slowfast_dir, args.stub_dir)
    print("\n".join(report.lines))
    print(f"{report.changed} change(s)." if report.changed else "Nothing to change.")
    if report.not_found:
        print(f"{report.not_found} fix(es) to apply by hand (above).", file=sys.stderr)
        return 1
    print(f"PySlowFast's tools run with PYTHONPATH={report.pythonpath()}")
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main))
