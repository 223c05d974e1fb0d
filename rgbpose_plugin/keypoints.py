"""The skeleton layout: COCO-17 joints, which swap on a horizontal flip, which form limbs.

COCO-17 is the layout of the NTU-60/120 HRNet annotations, of both pose backends and of
the synthetic demo data. Everything else (the config defaults, flips, limb heatmaps,
drawing) derives from :data:`COCO17_NAMES` and :data:`COCO17_LIMBS` here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

__all__ = ["COCO17_NAMES", "COCO17_LIMBS", "KeypointLayout", "joint_index"]

COCO17_NAMES: Tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)

# Joint pairs connected by a limb (the references' 17 COCO limbs, in their order).
COCO17_LIMBS: Tuple[Tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (5, 7), (7, 9), (0, 6), (6, 8),
    (8, 10), (5, 11), (11, 13), (13, 15), (6, 12), (12, 14), (14, 16), (11, 12),
)


def joint_index(name: str) -> int:
    """The COCO-17 index of a joint name such as ``"left_wrist"``."""
    return COCO17_NAMES.index(name)


def _mirror_pairs(names: Sequence[str]) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """(left indices, right indices) of the joints named ``left_X`` / ``right_X``."""
    left = tuple(i for i, n in enumerate(names) if n.startswith("left_"))
    right = tuple(names.index("right_" + names[i][len("left_"):]) for i in left)
    return left, right


_COCO17_LEFT, _COCO17_RIGHT = _mirror_pairs(COCO17_NAMES)


@dataclass(frozen=True)
class KeypointLayout:
    """Joint count, left/right pairs (swapped by a horizontal flip) and limbs.

    The default is COCO-17.
    """

    num_joints: int = len(COCO17_NAMES)
    flip_left: Tuple[int, ...] = _COCO17_LEFT
    flip_right: Tuple[int, ...] = _COCO17_RIGHT
    limbs: Tuple[Tuple[int, int], ...] = COCO17_LIMBS

    def __post_init__(self) -> None:
        if len(self.flip_left) != len(self.flip_right):
            raise ValueError(
                f"keypoint layout: {len(self.flip_left)} left joints but "
                f"{len(self.flip_right)} right joints; they are swapped in pairs"
            )
        used = list(self.flip_left) + list(self.flip_right)
        used += [j for limb in self.limbs for j in limb]
        bad = sorted({j for j in used if not 0 <= j < self.num_joints})
        if bad:
            raise ValueError(
                f"keypoint layout: joint indices {bad} are outside 0..{self.num_joints - 1}"
            )
        if any(len(limb) != 2 for limb in self.limbs):
            raise ValueError(f"keypoint layout: every limb needs 2 joints, got {self.limbs}")

    @classmethod
    def from_lists(cls, num_joints: int, flip_left: Sequence[int], flip_right: Sequence[int],
                   limbs: Sequence[Sequence[int]]) -> KeypointLayout:
        """Build from plain lists (as YAML gives them)."""
        return cls(int(num_joints), tuple(int(j) for j in flip_left),
                   tuple(int(j) for j in flip_right),
                   tuple((int(a), int(b)) for a, b in limbs))

    @classmethod
    def from_cfg(cls, cfg) -> KeypointLayout:
        """Read ``cfg.RGBPOSE.KEYPOINTS`` (NUM, FLIP_LEFT, FLIP_RIGHT, LIMBS)."""
        k = cfg.RGBPOSE.KEYPOINTS
        return cls.from_lists(k.NUM, k.FLIP_LEFT, k.FLIP_RIGHT, k.LIMBS)

    def flip_order(self) -> List[int]:
        """Joint permutation of a horizontal flip: ``new[j] = old[order[j]]``."""
        order = list(range(self.num_joints))
        for left, right in zip(self.flip_left, self.flip_right):
            order[left], order[right] = right, left
        return order
