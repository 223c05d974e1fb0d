"""A scene: background, camera shake and one or two people with their true keypoints.

All randomness of a video that the pose stream can see (motion, body, positions, the
bystander, camera shake) and of the scene's look comes from one generator, ``rng``.
The colours of the held objects are the only thing taken from the class itself, so the
two classes of an appearance pair, given the same generator, produce the same video
except for those colours (where the pair's other object stands beside the actor, the two
videos show the same two objects with their colours swapped).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw

from .body import Body, Pose, forward_kinematics, place_on_ground
from .catalog import DISTRACTOR_COLOURS, ActionClass, Colour, counterpart
from .motions import MOTIONS, idle_pose

FRAME_H, FRAME_W = 540, 960  # The scene (and keypoint) size; videos are stored at half.
PAD = 8  # Background margin in pixels, so camera shake never shows an edge.
BYSTANDER_P = 0.4  # Chance of a second, idle person.
DISTRACTOR_P = 0.15  # Chance that the bystander holds a cup of a random colour.
# Chance, in a class of an appearance pair, that the pair's other object stands beside the
# actor (a cup on the floor, a flag planted in it): the pixels then show both colours and
# the skeleton none; the class is the colour at the acting hand, which is where a fused
# RGB + pose model can look and a late fusion of two separate models cannot.
COUNTERPART_P = 0.5
DISTRACTOR_CLUTTER_P = 0.06  # Chance that a background shape has an object colour.
# Clothes, walls and clutter are muted (saturation <= MUTED): the saturated colours of the
# held objects stand out, except where a distractor repeats them on purpose.
MUTED = 0.4


@dataclass
class Person:
    """One person: true keypoints (T, 17, 2) in scene pixels, look, and held object."""

    body: Body
    keypoints: np.ndarray
    colours: Dict[str, Colour]
    short_sleeves: bool
    hand: str  # Side ("r"/"l") of the hand that holds ``held``.
    held: Optional[str] = None
    held_colour: Optional[Colour] = None
    acting: bool = False  # True for the person performing the class's action.


@dataclass
class Prop:
    """An object standing on the ground (not held): kind, colour, foot point, scale."""

    kind: str  # "cup" or "flag", as ActionClass.held.
    colour: Colour
    x: float
    ground: float
    height: float  # Sizes are in body heights of the person it stands beside.


@dataclass
class Scene:
    """Everything needed to draw and annotate the T frames of one video."""

    background: np.ndarray  # (FRAME_H + 2 PAD, FRAME_W + 2 PAD, 3) uint8.
    shake: np.ndarray  # (T, 2) integer camera offsets (x, y), within +-PAD.
    persons: List[Person]  # In drawing order: farthest first.
    props: List[Prop]  # Drawn before (behind) the persons.

    @property
    def num_frames(self) -> int:
        return len(self.shake)

    @property
    def actor(self) -> Person:
        """The person performing the action (the other one, if any, is a bystander)."""
        return next(p for p in self.persons if p.acting)


def sample_scene(rng: np.random.Generator, cls: ActionClass, num_frames: int) -> Scene:
    """Draw a random scene in which one actor performs ``cls``; maybe add a bystander."""
    background = make_background(rng)
    shake = camera_shake(rng, num_frames)
    height = rng.uniform(170, 240)
    x = rng.uniform(0.3, 0.7) * FRAME_W
    ground = rng.uniform(0.9, 0.96) * FRAME_H
    hand = "r" if rng.uniform() < 0.6 else "l"
    body = Body.sample(height, rng)
    pose = MOTIONS[cls.motion](rng, num_frames, body, hand)
    actor = _dress(rng, body, pose, x, ground, hand)
    actor.held, actor.held_colour, actor.acting = cls.held, cls.colour, True
    # Drawn for every class, so the two classes of a pair share all later draws.
    with_counterpart = rng.uniform() < COUNTERPART_P
    beside = x + rng.choice([-1.0, 1.0]) * rng.uniform(0.28, 0.38) * height
    partner = counterpart(cls)
    props = []
    if with_counterpart and partner is not None:
        props.append(Prop(partner.held, partner.colour, beside, ground, height))
    persons = [actor]
    if rng.uniform() < BYSTANDER_P:
        persons.append(_bystander(rng, num_frames, height, x, ground))
    persons.sort(key=lambda p: p.body.height)  # Smaller = farther away: draw first.
    return Scene(background, shake, persons, props)


def _dress(rng: np.random.Generator, body: Body, pose: Pose, x: float, ground: float,
           hand: str) -> Person:
    """A person performing ``pose`` with feet at (x, ground), in random clothes."""
    keypoints = place_on_ground(forward_kinematics(pose, body), pose, body, x, ground)
    return Person(body, keypoints, random_outfit(rng), bool(rng.uniform() < 0.5), hand)


def _bystander(rng: np.random.Generator, num_frames: int, actor_h: float, actor_x: float,
               actor_ground: float) -> Person:
    """A person standing beside the actor, fidgeting, sometimes holding a random cup."""
    height = actor_h * rng.uniform(0.75, 1.05)
    ground = actor_ground - (actor_h - height) * 0.4  # Farther people stand higher.
    offset = rng.uniform(0.13, 0.2) * FRAME_W  # Close: the crop keeps people large.
    x = actor_x + offset if actor_x + offset < 0.9 * FRAME_W else actor_x - offset
    body = Body.sample(height, rng)
    pose = idle_pose(rng, num_frames, fidget=1.8)
    person = _dress(rng, body, pose, x, ground, "r" if rng.uniform() < 0.5 else "l")
    if rng.uniform() < DISTRACTOR_P:
        person.held = "cup"
        person.held_colour = DISTRACTOR_COLOURS[rng.integers(len(DISTRACTOR_COLOURS))]
    return person


def random_colour(rng: np.random.Generator, sat: Tuple[float, float],
                  val: Tuple[float, float]) -> Colour:
    """A random RGB colour with saturation and value in the given ranges."""
    r, g, b = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*sat), rng.uniform(*val))
    return int(r * 255), int(g * 255), int(b * 255)


SKIN_TONES = ((241, 194, 160), (224, 172, 130), (198, 134, 96), (141, 85, 54), (92, 58, 38))


def random_outfit(rng: np.random.Generator) -> Dict[str, Colour]:
    """Clothing, skin and hair colours: any hue, muted (see MUTED)."""
    return {
        "shirt": random_colour(rng, (0.05, MUTED), (0.25, 0.95)),
        "pants": random_colour(rng, (0.05, MUTED), (0.15, 0.7)),
        "shoes": random_colour(rng, (0.0, 0.3), (0.05, 0.4)),
        "hair": random_colour(rng, (0.2, 0.7), (0.05, 0.45)),
        "skin": SKIN_TONES[rng.integers(len(SKIN_TONES))],
    }


def camera_shake(rng: np.random.Generator, num_frames: int) -> np.ndarray:
    """(T, 2) integer offsets: a smooth random walk of up to a few pixels."""
    amplitude = rng.uniform(0.0, 4.0)
    steps = rng.normal(size=(num_frames, 2))
    walk = np.cumsum(steps, axis=0)
    walk -= walk.mean(axis=0)
    walk /= max(1e-6, np.abs(walk).max())
    return np.clip(np.round(walk * amplitude), -PAD, PAD).astype(int)


def make_background(rng: np.random.Generator) -> np.ndarray:
    """Wall and floor with a gradient, random clutter shapes and a little texture."""
    h, w = FRAME_H + 2 * PAD, FRAME_W + 2 * PAD
    wall = np.array(random_colour(rng, (0.05, MUTED), (0.45, 0.9)), float)
    floor = np.array(random_colour(rng, (0.05, MUTED), (0.25, 0.7)), float)
    horizon = int(rng.uniform(0.45, 0.65) * h)
    shade = np.linspace(0.85, 1.1, h)[:, None, None]
    rows = np.where(np.arange(h)[:, None, None] < horizon, wall, floor) * shade
    image = Image.fromarray(np.clip(np.broadcast_to(rows, (h, w, 3)), 0, 255).astype(np.uint8))
    _draw_clutter(ImageDraw.Draw(image), rng, h, w, horizon)
    texture = rng.integers(-6, 7, size=(h // 4, w // 4, 1), dtype=np.int16)
    texture = np.repeat(np.repeat(texture, 4, axis=0), 4, axis=1)
    return np.clip(np.asarray(image, np.int16) + texture, 0, 255).astype(np.uint8)


def _draw_clutter(draw: ImageDraw.ImageDraw, rng: np.random.Generator, h: int, w: int,
                  horizon: int) -> None:
    """Posters, furniture-like boxes, round things and stick-like lines."""
    for _ in range(rng.integers(3, 10)):
        if rng.uniform() < DISTRACTOR_CLUTTER_P:  # Object colours appear elsewhere too.
            colour = DISTRACTOR_COLOURS[rng.integers(len(DISTRACTOR_COLOURS))]
        else:
            colour = random_colour(rng, (0.0, MUTED), (0.2, 0.95))
        x0, y0 = rng.uniform(0, w), rng.uniform(0, horizon + 0.2 * h)
        sx, sy = rng.uniform(10, 110), rng.uniform(10, 110)
        kind = rng.integers(3)
        if kind == 0:
            draw.rectangle([x0, y0, x0 + sx, y0 + sy], fill=colour)
        elif kind == 1:
            draw.ellipse([x0, y0, x0 + sx, y0 + sy], fill=colour)
        else:
            angle = rng.uniform(0, np.pi)
            end = (x0 + 1.5 * sx * np.cos(angle), y0 + 1.5 * sx * np.sin(angle))
            draw.line([(x0, y0), end], fill=colour, width=int(rng.integers(3, 12)))
