"""A 2D articulated body facing the camera: joint angles in, COCO-17 keypoints out.

Angles are in radians and *side-relative*: 0 points straight down, positive angles
swing the segment away from the body (outwards), ``pi`` points straight up. Because
the figure faces the camera, its right side is on the image's left. The same angle
therefore means a mirrored direction on the two sides, which lets one motion be
performed with either arm or leg by swapping names.

A pose sequence is a dict of per-frame arrays (length T) with the keys in
:data:`ANGLE_KEYS` plus ``lift`` (height of the feet above the ground, in body heights,
for jumps) and ``dx`` (sideways shift of the hips, in body heights).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

import numpy as np

from rgbpose_plugin.keypoints import joint_index

Pose = Dict[str, np.ndarray]

SIDES = ("r", "l")  # The person's right and left.
SIDE_SIGN = {"r": -1.0, "l": 1.0}  # x direction of "outwards" in the image (facing camera).
ANGLE_KEYS = ("lean", "head", "r_upper", "r_fore", "l_upper", "l_fore",
              "r_thigh", "r_shin", "l_thigh", "l_shin")

# COCO-17 joint indices (rgbpose_plugin/keypoints.py), by side for the limbs.
NOSE, L_EYE, R_EYE, L_EAR, R_EAR = (joint_index(n) for n in (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear"))


def _sided(joint: str) -> Dict[str, int]:
    return {"l": joint_index(f"left_{joint}"), "r": joint_index(f"right_{joint}")}


SHOULDER, ELBOW, WRIST = _sided("shoulder"), _sided("elbow"), _sided("wrist")
HIP, KNEE, ANKLE = _sided("hip"), _sided("knee"), _sided("ankle")


@dataclass
class Body:
    """Segment lengths in pixels; ``height`` is the standing height (ankle to head top)."""

    height: float
    torso: float
    neck: float
    head_r: float
    shoulder_w: float
    hip_w: float
    upper_arm: float
    forearm: float
    thigh: float
    shin: float

    @classmethod
    def sample(cls, height: float, rng: np.random.Generator) -> Body:
        """Typical adult proportions, each varied by a few percent."""
        def part(fraction: float) -> float:
            return float(height * fraction * rng.uniform(0.94, 1.06))
        return cls(height=height, torso=part(0.29), neck=part(0.05), head_r=part(0.065),
                   shoulder_w=part(0.11), hip_w=part(0.065), upper_arm=part(0.165),
                   forearm=part(0.15), thigh=part(0.235), shin=part(0.225))


def direction(angle: np.ndarray, side: str) -> np.ndarray:
    """Unit image-space vectors (..., 2) of side-relative ``angle``."""
    return np.stack([SIDE_SIGN[side] * np.sin(angle), np.cos(angle)], axis=-1)


def side_angle(vec: np.ndarray, side: str) -> np.ndarray:
    """Inverse of :func:`direction`: the side-relative angle of image vectors (..., 2)."""
    return np.arctan2(SIDE_SIGN[side] * vec[..., 0], vec[..., 1])


def _rotate(vec: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate (T, 2) vectors by per-frame ``angle`` (positive = clockwise on screen)."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y = vec[:, :1], vec[:, 1:]
    return np.concatenate([c * x - s * y, s * x + c * y], axis=1)


def upright_joints(pose: Pose, body: Body) -> Dict[str, np.ndarray]:
    """Shoulders and mouth (T, 2) relative to the hip centre with the torso upright.

    Motions that aim a hand somewhere (clap, drink) use these for inverse kinematics.
    """
    t = len(pose["lean"])
    up = np.zeros((t, 2))
    up[:, 1] = -1.0
    shoulder_c = up * body.torso
    head_c = shoulder_c + up * (body.neck + body.head_r)
    out = {"mouth": head_c + np.array([0.0, 0.45 * body.head_r])}
    for side in SIDES:
        out[side + "_shoulder"] = shoulder_c + np.array([SIDE_SIGN[side] * body.shoulder_w, 0])
    return out


def forward_kinematics(pose: Pose, body: Body) -> np.ndarray:
    """Keypoints (T, 17, 2) relative to the hip centre (y down, pixels).

    The upper body (torso, arms, head) is tilted by ``lean`` about the hip centre;
    the legs hang from the hips and are not tilted.
    """
    t = len(pose["lean"])
    kp = np.zeros((t, 17, 2))
    lean = pose["lean"]
    joints = upright_joints(pose, body)
    for side in SIDES:
        shoulder = joints[side + "_shoulder"]
        elbow = shoulder + body.upper_arm * direction(pose[side + "_upper"], side)
        wrist = elbow + body.forearm * direction(pose[side + "_fore"], side)
        kp[:, SHOULDER[side]] = _rotate(shoulder, lean)
        kp[:, ELBOW[side]] = _rotate(elbow, lean)
        kp[:, WRIST[side]] = _rotate(wrist, lean)
        hip = np.zeros((t, 2))
        hip[:, 0] = SIDE_SIGN[side] * body.hip_w
        knee = hip + body.thigh * direction(pose[side + "_thigh"], side)
        kp[:, HIP[side]] = hip
        kp[:, KNEE[side]] = knee
        kp[:, ANKLE[side]] = knee + body.shin * direction(pose[side + "_shin"], side)
    _add_face(kp, body, lean + pose["head"], _rotate(joints["mouth"], lean))
    return kp


def _add_face(kp: np.ndarray, body: Body, tilt: np.ndarray, mouth: np.ndarray) -> None:
    """Nose, eyes and ears around the head centre, tilted by ``tilt``."""
    r = body.head_r
    centre = mouth + _rotate(np.tile([0.0, -0.45 * r], (len(tilt), 1)), tilt)
    offsets = {NOSE: (0.0, 0.15), L_EYE: (0.35, -0.15), R_EYE: (-0.35, -0.15),
               L_EAR: (0.85, -0.05), R_EAR: (-0.85, -0.05)}
    for joint, (ox, oy) in offsets.items():
        kp[:, joint] = centre + _rotate(np.tile([ox * r, oy * r], (len(tilt), 1)), tilt)


def head_centre(kp: np.ndarray) -> np.ndarray:
    """Centre of the head (..., 2): midway between the ears, where the face is drawn."""
    return 0.5 * (kp[..., L_EAR, :] + kp[..., R_EAR, :])


def place_on_ground(kp: np.ndarray, pose: Pose, body: Body, foot_x: float,
                    ground_y: float) -> np.ndarray:
    """Move hip-relative keypoints (T, 17, 2) so the lower ankle stands on ``ground_y``.

    ``lift`` raises the whole body (jumps); ``dx`` shifts it sideways. Bending the
    knees therefore lowers the hips instead of pushing the feet into the floor.
    """
    sole = 0.03 * body.height  # The ankle sits a little above the floor.
    lowest = np.maximum(kp[:, ANKLE["l"], 1], kp[:, ANKLE["r"], 1])
    hip_y = ground_y - sole - lowest - pose["lift"] * body.height
    hip_x = foot_x + pose["dx"] * body.height
    return kp + np.stack([hip_x, hip_y], axis=1)[:, None, :]


def two_bone_ik(root: np.ndarray, target: np.ndarray, len_a: float, len_b: float,
                side: str, bend: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Side-relative angles of two segments from ``root`` that reach ``target`` (T, 2).

    Out-of-reach targets are approached as closely as possible. ``bend`` = +1 puts the
    middle joint (elbow) on the outer side of the root-target line, -1 on the inner.
    """
    vec = target - root
    dist = np.linalg.norm(vec, axis=1)
    dist = np.clip(dist, abs(len_a - len_b) + 1e-3, len_a + len_b - 1e-3)
    cos_a = (len_a ** 2 + dist ** 2 - len_b ** 2) / (2 * len_a * dist)
    to_target = side_angle(vec, side)
    upper = to_target + bend * np.arccos(np.clip(cos_a, -1.0, 1.0))
    elbow = root + len_a * direction(upper, side)
    fore = side_angle(target - elbow, side)
    return upper, fore
