"""The demo's action classes: which motion each performs and what the actor holds.

Two kinds of class pairs make the point of a two-stream model:

* **motion pairs** look alike (same clothes, scenes, no held object) and differ only
  in how the body moves, e.g. ``wave`` vs ``raise_hand``: easy for a pose model,
  harder for a small RGB model that sees 8 low-resolution frames;
* **appearance pairs** move identically (the same motion function, even the same
  random draws) and differ only in the colour of a small held object, e.g.
  ``drink_red_cup`` vs ``drink_blue_cup``: a pose model cannot separate them at all.

In half the videos of an appearance pair the pair's *other* object stands beside the actor
(``scene.COUNTERPART_P``): both colours are then in view, and the class is the colour at
the acting hand, which the skeleton locates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from rgbpose_plugin.errors import DataPrepError

Colour = Tuple[int, int, int]


@dataclass(frozen=True)
class ActionClass:
    """One class: its name, the motion it performs and the object the actor holds."""

    name: str
    motion: str  # A key of motions.MOTIONS.
    held: Optional[str] = None  # "cup", "flag" or None.
    colour: Optional[Colour] = None  # Colour of the held object.


CLASSES: Tuple[ActionClass, ...] = (
    ActionClass("wave", "wave"),
    ActionClass("raise_hand", "raise_hand"),
    ActionClass("clap", "clap"),
    ActionClass("squat", "squat"),
    ActionClass("jump", "jump"),
    ActionClass("kick", "kick"),
    ActionClass("drink_red_cup", "drink", "cup", (200, 30, 30)),
    ActionClass("drink_blue_cup", "drink", "cup", (30, 60, 200)),
    ActionClass("wave_green_flag", "wave_flag", "flag", (40, 160, 50)),
    ActionClass("wave_yellow_flag", "wave_flag", "flag", (230, 200, 40)),
)

# Colours of the small objects a bystander sometimes holds (distractors for RGB).
DISTRACTOR_COLOURS: Tuple[Colour, ...] = (
    (200, 30, 30), (30, 60, 200), (40, 160, 50), (230, 200, 40), (235, 235, 235),
    (30, 30, 30),
)


def counterpart(cls: ActionClass) -> Optional[ActionClass]:
    """The other class of ``cls``'s appearance pair (same motion and object), if any."""
    return next((c for c in CLASSES if c is not cls and c.held is not None
                 and (c.motion, c.held) == (cls.motion, cls.held)), None)


def select_classes(names: Optional[Sequence[str]] = None) -> Tuple[ActionClass, ...]:
    """The classes called ``names`` in that order (labels follow it); all when None."""
    if names is None:
        return CLASSES
    by_name = {c.name: c for c in CLASSES}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise DataPrepError(f"unknown demo class(es) {unknown}; choose from {sorted(by_name)}")
    if len(set(names)) != len(names):
        raise DataPrepError(f"demo classes listed twice in {list(names)}")
    return tuple(by_name[n] for n in names)
