"""Per-person mode: each person slot of the skeleton is a track, classified on its own.

A skeleton's person slots are tracks with stable ids: ``tools/extract_pose.py``'s tracker
keeps each person in the same slot from frame to frame (and the long demo scenes put
actor m in slot m), so slot m over the whole video is one person, track ``"m"``.

A track's window is the window's annotation restricted to that one slot. Everything
else is the test pipeline's own: its compact crop is computed from the keypoints it is
given (:func:`rgbpose_plugin.data.transforms.compact_box`), so with one person's keypoints
the crop centres on that person, and the heatmaps show only that person. A window where
the person has no keypoint with a score above 0 is "nobody in view" for that track.

Every model this project trains is trained in scene mode (all persons together, as NTU's
are); a per-person crop is what such a model sees when one person is in view, so a
per-person run on a scene-trained model is allowed, and said in ``timeline.json``.
"""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

__all__ = ["TRAINED_MODE", "TRAINED_MODE_NOTE", "person_annotation", "track_ids"]

TRAINED_MODE = "scene"
TRAINED_MODE_NOTE = ("the model was trained in scene mode (every person of a clip together, as "
                     "NTU models are); a per-person window is what a scene model sees when only "
                     "that person is in view")


def track_ids(annotation: Dict[str, Any]) -> List[str]:
    """The track ids of the skeleton: its person slots ``"0"``, ``"1"``, ..."""
    return [str(m) for m in range(np.asarray(annotation["keypoint"]).shape[0])]


def person_annotation(annotation: Dict[str, Any], track: str) -> Dict[str, Any]:
    """``annotation`` with only person slot ``track`` kept (the slot axis stays, length 1),
    so the pipeline crops, and draws heatmaps, around that person alone."""
    m = int(track)
    part = dict(annotation)
    part["keypoint"] = np.asarray(annotation["keypoint"])[m:m + 1]
    if annotation.get("keypoint_score") is not None:
        part["keypoint_score"] = np.asarray(annotation["keypoint_score"])[m:m + 1]
    return part
