"""The skeleton layout: how many joints, which ones swap on a flip, which form limbs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

__all__ = ["KeypointLayout"]


@dataclass(frozen=True)
class KeypointLayout:
    """Joint count, left/right pairs (swapped by a horizontal flip) and limbs.

    The default is COCO-17, the layout of the NTU-60/120 HRNet annotations.
    """

    num_joints: int = 17
    flip_left: Tuple[int, ...] = (1, 3, 5, 7, 9, 11, 13, 15)
    flip_right: Tuple[int, ...] = (2, 4, 6, 8, 10, 12, 14, 16)
    limbs: Tuple[Tuple[int, int], ...] = (
        (0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (5, 7), (7, 9), (0, 6), (6, 8),
        (8, 10), (5, 11), (11, 13), (13, 15), (6, 12), (12, 14), (14, 16), (11, 12),
    )

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
