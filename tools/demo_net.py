#!/usr/bin/env python
"""Classify one video with a trained checkpoint: top-5 classes, a picture, an MP4.

    python tools/demo_net.py --checkpoint RUN_DIR|STAGE_DIR|CKPT --video VIDEO --out OUT_DIR \
        [--cfg CFG.yaml] [--skeleton ANN.pkl] [--labels ntu60|ntu120|FILE] [--views N] \
        [--backend mediapipe|mmpose ...] [--opts KEY VALUE ...]

Writes OUT_DIR/prediction.png, prediction.mp4, prediction.json (and skeleton.pkl when
the skeleton was extracted). Run with --help for every option; the logic lives in
rgbpose_plugin.inference.
"""

import sys

from rgbpose_plugin.inference.cli import main

if __name__ == "__main__":
    sys.exit(main())
