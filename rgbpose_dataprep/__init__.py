"""Data preparation for rgbpose_plugin: everything that makes the files a training run reads.

* :mod:`rgbpose_dataprep.pose` -- skeleton extraction: COCO-17 keypoints of your own videos
  (mediapipe or mmpose) into a pyskl/mmaction2 annotation file (``tools/extract_pose.py``);
* :mod:`rgbpose_dataprep.importers` -- skeletons made by other tools (COCO results, OpenPose,
  mmpose, rtmlib, NumPy) into the same annotation file (``tools/import_skeletons.py``);
* :mod:`rgbpose_dataprep.demo_data` -- the synthetic demo dataset: videos, skeletons and
  splits made from nothing (``tools/make_demo_data.py``);
* :mod:`rgbpose_dataprep.compress` -- NTU RGB+D video re-encoding to 960x540 H.264
  (``tools/compress_videos.py``).

It builds on the plugin's lower layers (file and video I/O, the annotation format, label
maps, keypoint names). The plugin core does not import it (an import-linter contract in
``pyproject.toml``); only :mod:`rgbpose_plugin.inference` uses :mod:`.pose`, to extract
the skeleton of a video given to ``tools/demo_net.py``.
"""
