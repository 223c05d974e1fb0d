"""Synthetic demo data: animated stick-and-limb people doing actions, with skeletons.

The dataset is small, deterministic and shaped like NTU RGB+D after
``tools/compress_videos.py`` (H.264 videos smaller than the frame the keypoints were
measured on, plus a pyskl/mmaction2 annotation pickle), so the whole pipeline (training,
the staged recipe, testing) runs on it in minutes on a CPU. Its classes are built to show
why two streams help (see :mod:`.catalog`): some differ only in motion, some only in the
colour of a held object, with the pair's other colour often standing beside the actor.

Modules, in the order data flows:

* :mod:`.body`     -- joint angles -> COCO-17 keypoints (forward and inverse kinematics)
* :mod:`.motions`  -- one function per motion, producing joint-angle sequences
* :mod:`.catalog`  -- the classes: motion + held object
* :mod:`.scene`    -- background, camera shake, actor, bystander and standing objects
* :mod:`.render`   -- drawing frames with PIL
* :mod:`.annotate` -- detector-like noise and missing joints for the annotation
* :mod:`.write`    -- videos, splits and the pickle on disk
"""

from .catalog import CLASSES, ActionClass, select_classes
from .render import render_frame, render_frames
from .write import generate_sample, make_demo_dataset, make_splits, write_video

__all__ = [
    "CLASSES",
    "ActionClass",
    "generate_sample",
    "make_demo_dataset",
    "make_splits",
    "render_frame",
    "render_frames",
    "select_classes",
    "write_video",
]
