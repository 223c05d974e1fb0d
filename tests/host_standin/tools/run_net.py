"""The host's command line, as PySlowFast's tools/run_net.py: for each --cfg file (with
--opts), train, test, then visualize and demo where enabled. Its imports are PySlowFast
main's Meta-internal ones until tools/setup_pyslowfast.py makes them local.

    python tools/run_net.py --cfg CONFIG.yaml [--opts KEY VALUE ...]
"""

import argparse

from slowfast.config.defaults import load_config
from vision.fair.slowfast.tools.demo_net import demo
from vision.fair.slowfast.tools.test_net import test
from vision.fair.slowfast.tools.train_net import train
from vision.fair.slowfast.tools.visualization import visualize


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cfg", dest="cfg_files", nargs="+", required=True)
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[])
    args = parser.parse_args()
    for path in args.cfg_files:
        cfg = load_config(path, args.opts)
        if cfg.TRAIN.ENABLE:
            train(cfg)
        if cfg.TEST.ENABLE:
            test(cfg)
        if cfg.TENSORBOARD.ENABLE:
            visualize(cfg)
        if cfg.DEMO.ENABLE:
            demo(cfg)


if __name__ == "__main__":
    main()
