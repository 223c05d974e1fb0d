"""Extract skeletons from videos into an annotation file (pyskl / mmaction2 format).

    python tools/extract_pose.py VIDEO_OR_DIR [...] --out ann.pkl \
        [--backend mediapipe|mmpose] [--labels labels.csv] [--label-map ntu60] \
        [--split-by COLUMN | --val-ratio 0.2 --seed 0] [--device cpu]

Run with --help for every option; the logic lives in rgbpose_plugin.pose.cli.
"""

import sys

from rgbpose_plugin.pose.cli import main

if __name__ == "__main__":
    sys.exit(main())
