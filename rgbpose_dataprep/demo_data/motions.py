"""Motions: functions that turn a random generator and a frame count into a pose sequence.

Every motion starts from the same idle pose with the same kind of small, smooth
fidgeting, then blends its own movement in over an active window (random start, length
and speed). Two classes that share a motion function (an *appearance pair*) therefore
have exactly the same skeleton distribution; only what the person holds differs.

Motions differ in how visible they are: ``wave`` and ``raise_hand`` share the raised
arm and differ only in a small, fast forearm oscillation, which 32 pose frames resolve
and 8 low-resolution RGB frames barely do.
"""

from __future__ import annotations

from typing import Callable, Dict, Tuple

import numpy as np

from .body import ANGLE_KEYS, SIDES, Body, Pose, two_bone_ik, upright_joints

# Idle pose: arms hanging slightly away from the body, legs almost straight.
IDLE = {"lean": 0.0, "head": 0.0, "r_upper": 0.12, "r_fore": 0.06, "l_upper": 0.12,
        "l_fore": 0.06, "r_thigh": 0.06, "r_shin": 0.02, "l_thigh": 0.06, "l_shin": 0.02}


def smooth_noise(rng: np.random.Generator, t: int, amplitude: float) -> np.ndarray:
    """A smooth random curve of length ``t``: a sum of three slow random sinusoids."""
    frames = np.arange(t)
    out = np.zeros(t)
    for _ in range(3):
        freq = rng.uniform(0.01, 0.06)  # Cycles per frame: slow drift, not jitter.
        out += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * freq * frames + rng.uniform(0, 6.3))
    return amplitude * out / 2.0


def idle_pose(rng: np.random.Generator, t: int, fidget: float = 1.0) -> Pose:
    """The idle pose with gentle fidgeting; ``fidget`` scales its amplitude."""
    pose = {key: IDLE[key] + smooth_noise(rng, t, 0.05 * fidget) for key in ANGLE_KEYS}
    pose["lean"] = smooth_noise(rng, t, 0.03 * fidget)
    pose["lift"] = np.zeros(t)
    pose["dx"] = smooth_noise(rng, t, 0.02 * fidget)
    return pose


def active_window(rng: np.random.Generator, t: int) -> Tuple[np.ndarray, np.ndarray]:
    """Envelope (0 idle .. 1 acting) and phase (0..1 across the action) per frame.

    The action covers 70-90% of the clip at a random offset, with smooth ramps.
    """
    length = rng.uniform(0.7, 0.9) * t
    start = rng.uniform(0.0, t - length)
    frames = np.arange(t)
    phase = np.clip((frames - start) / length, 0.0, 1.0)
    ramp = max(2.0, 0.12 * length)
    env = _smoothstep((frames - start) / ramp) * _smoothstep((start + length - frames) / ramp)
    return env, phase


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _blend(pose: Pose, key: str, target: np.ndarray, weight: np.ndarray) -> None:
    """Move ``pose[key]`` towards ``target`` by ``weight`` (0..1) per frame."""
    pose[key] = pose[key] + weight * (target - pose[key])


def _raised_arm(rng: np.random.Generator, t: int, hand: str, oscillation: float) -> Pose:
    """Shared by wave and raise_hand: one arm up, forearm swinging by ``oscillation``."""
    pose = idle_pose(rng, t)
    env, _ = active_window(rng, t)
    upper = rng.uniform(2.1, 2.5)
    fore = upper + rng.uniform(0.2, 0.5)
    period = rng.uniform(8.0, 12.0)  # Frames per wave: fast enough to alias 8 RGB frames.
    swing = oscillation * np.sin(2 * np.pi * np.arange(t) / period + rng.uniform(0, 6.3))
    _blend(pose, hand + "_upper", upper, env)
    _blend(pose, hand + "_fore", fore + swing * env, env)
    return pose


def wave(rng: np.random.Generator, t: int, body: Body, hand: str) -> Pose:
    """Raise one hand and wave it side to side."""
    return _raised_arm(rng, t, hand, oscillation=rng.uniform(0.5, 0.8))


def raise_hand(rng: np.random.Generator, t: int, body: Body, hand: str) -> Pose:
    """Raise one hand and hold it still (wave without the waving)."""
    rng.uniform(0.5, 0.8)  # Keep the random stream aligned with wave's.
    return _raised_arm(rng, t, hand, oscillation=0.0)


def clap(rng: np.random.Generator, t: int, body: Body, hand: str) -> Pose:
    """Bring both hands together in front of the chest, repeatedly."""
    pose = idle_pose(rng, t)
    env, _ = active_window(rng, t)
    period = rng.uniform(7.0, 11.0)
    opening = 0.5 + 0.5 * np.cos(2 * np.pi * np.arange(t) / period + rng.uniform(0, 6.3))
    gap = (0.01 + rng.uniform(0.12, 0.2) * opening) * body.height
    height = rng.uniform(0.16, 0.22) * body.height
    joints = upright_joints(pose, body)
    for side, sign in (("r", -1.0), ("l", 1.0)):
        target = np.stack([sign * gap / 2, np.full(t, -height)], axis=1)
        upper, fore = two_bone_ik(joints[side + "_shoulder"], target, body.upper_arm,
                                  body.forearm, side, bend=1.0)  # Elbows out.
        _blend(pose, side + "_upper", upper, env)
        _blend(pose, side + "_fore", fore, env)
    return pose


def _repeats(rng: np.random.Generator, phase: np.ndarray, choices=(1, 2)) -> np.ndarray:
    """Phase within each repetition (0..1), for a random number of repetitions."""
    reps = choices[rng.integers(len(choices))]
    return (phase * reps) % 1.0


def squat(rng: np.random.Generator, t: int, body: Body, hand: str) -> Pose:
    """Bend the knees deeply (outwards) and stand up again, once or twice."""
    pose = idle_pose(rng, t)
    env, phase = active_window(rng, t)
    depth = env * (0.5 - 0.5 * np.cos(2 * np.pi * _repeats(rng, phase)))
    knee, shin, arms = rng.uniform(0.9, 1.2), rng.uniform(0.2, 0.4), rng.uniform(0.8, 1.3)
    for side in SIDES:
        pose[side + "_thigh"] = pose[side + "_thigh"] + depth * knee
        pose[side + "_shin"] = pose[side + "_shin"] - depth * shin
        pose[side + "_upper"] = pose[side + "_upper"] + depth * arms
        pose[side + "_fore"] = pose[side + "_fore"] + depth * arms
    return pose


def jump(rng: np.random.Generator, t: int, body: Body, hand: str) -> Pose:
    """Crouch, jump with the arms swinging up, land; one to three times."""
    pose = idle_pose(rng, t)
    env, phase = active_window(rng, t)
    q = _repeats(rng, phase, (1, 2, 3))
    height = rng.uniform(0.12, 0.2)
    # Each repetition: crouch (30%), in the air (40%), crouch on landing (30%).
    air = np.clip((q - 0.3) / 0.4, 0.0, 1.0)
    crouch = env * np.where(q < 0.3, np.sin(np.pi * q / 0.3),
                            np.where(q > 0.7, np.sin(np.pi * (q - 0.7) / 0.3), 0.0))
    pose["lift"] = env * height * np.sin(np.pi * air)
    arms = env * np.sin(np.pi * air) * rng.uniform(1.8, 2.4)
    for side in SIDES:
        pose[side + "_thigh"] = pose[side + "_thigh"] + 0.6 * crouch
        pose[side + "_shin"] = pose[side + "_shin"] - 0.25 * crouch
        pose[side + "_upper"] = pose[side + "_upper"] + arms
        pose[side + "_fore"] = pose[side + "_fore"] + arms * 1.05
    return pose


def kick(rng: np.random.Generator, t: int, body: Body, hand: str) -> Pose:
    """Kick the leg on the acting side out sideways, arms out for balance; 1-3 kicks."""
    pose = idle_pose(rng, t)
    env, phase = active_window(rng, t)
    k = env * np.sin(np.pi * _repeats(rng, phase, (1, 2, 3))) ** 2
    thigh = rng.uniform(1.0, 1.4)
    pose[hand + "_thigh"] = pose[hand + "_thigh"] + k * thigh
    pose[hand + "_shin"] = pose[hand + "_shin"] + k * (thigh + rng.uniform(0.0, 0.3))
    # Lean away from the kicking leg (the right leg kicks towards -x).
    pose["lean"] = pose["lean"] + k * rng.uniform(0.1, 0.25) * (1 if hand == "r" else -1)
    for side in SIDES:
        pose[side + "_upper"] = pose[side + "_upper"] + k * 0.6
    return pose


def drink(rng: np.random.Generator, t: int, body: Body, hand: str) -> Pose:
    """Lift the held hand to the mouth, hold it there, lower it; once or twice."""
    pose = idle_pose(rng, t)
    env, phase = active_window(rng, t)
    q = _repeats(rng, phase)
    lift = env * _smoothstep(np.minimum(q, 1 - q) / 0.25)  # 25% up, 50% hold, 25% down.
    joints = upright_joints(pose, body)
    upper, fore = two_bone_ik(joints[hand + "_shoulder"], joints["mouth"], body.upper_arm,
                              body.forearm, hand, bend=-1.0)
    _blend(pose, hand + "_upper", upper, lift)
    _blend(pose, hand + "_fore", fore, lift)
    pose["head"] = pose["head"] + lift * rng.uniform(-0.15, -0.05)
    return pose


def wave_flag(rng: np.random.Generator, t: int, body: Body, hand: str) -> Pose:
    """Hold the held hand high and swing the whole arm from side to side."""
    pose = idle_pose(rng, t)
    env, _ = active_window(rng, t)
    period = rng.uniform(14.0, 22.0)
    swing = rng.uniform(0.3, 0.45) * np.sin(2 * np.pi * np.arange(t) / period
                                             + rng.uniform(0, 6.3))
    upper = rng.uniform(2.4, 2.7) + swing * env
    _blend(pose, hand + "_upper", upper, env)
    _blend(pose, hand + "_fore", upper + 0.1, env)
    return pose


# (rng, frames, body, acting side "r"/"l") -> pose sequence.
MotionFn = Callable[[np.random.Generator, int, Body, str], Pose]

MOTIONS: Dict[str, MotionFn] = {
    "wave": wave, "raise_hand": raise_hand, "clap": clap, "squat": squat, "jump": jump,
    "kick": kick, "drink": drink, "wave_flag": wave_flag,
}
