"""Drawing: a scene's frame as a PIL image, people as thick-limbed figures.

Figures are drawn back to front: legs, torso, head, arms (arms last, so a clapping or
drinking hand passes in front of the body), then the held object on top.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
from PIL import Image, ImageDraw

from .body import ANKLE, ELBOW, HIP, KNEE, SHOULDER, SIDE_SIGN, WRIST, head_centre
from .scene import FRAME_H, FRAME_W, PAD, Person, Prop, Scene

# Held objects, in body heights. The cup is small (after the crop and resize
# to 64-112 px it covers a few pixels: RGB models see it only partly); the flag is big.
CUP_SIZE = (0.15, 0.19)  # Width, height.
# The flag stays close to the hand: the RGB crop is the box of the keypoints grown by
# about an eighth of its size, so a longer pole would carry a raised flag out of it.
FLAG_SIZE = (0.2, 0.13)  # Along the outward direction, along the pole.
POLE_LENGTH = 0.17


def render_frame(scene: Scene, index: int) -> Image.Image:
    """Frame ``index`` of ``scene`` as a FRAME_W x FRAME_H RGB image."""
    sx, sy = scene.shake[index]
    x0, y0 = PAD + sx, PAD + sy
    image = Image.fromarray(scene.background[y0:y0 + FRAME_H, x0:x0 + FRAME_W])
    draw = ImageDraw.Draw(image)
    for prop in scene.props:
        draw_prop(draw, prop, np.array([prop.x, prop.ground]) - scene.shake[index])
    for person in scene.persons:
        # Scene coordinates -> image coordinates: the camera moved by the shake.
        draw_person(draw, person, person.keypoints[index] - scene.shake[index])
    return image


def render_frames(scene: Scene) -> np.ndarray:
    """All frames (T, FRAME_H, FRAME_W, 3) uint8."""
    return np.stack([np.asarray(render_frame(scene, i)) for i in range(scene.num_frames)])


def _pt(kp: np.ndarray, joint: int) -> Tuple[float, float]:
    return float(kp[joint, 0]), float(kp[joint, 1])


def _limb(draw: ImageDraw.ImageDraw, points, colour, width: float) -> None:
    """A thick polyline with rounded ends."""
    w = max(2, int(round(width)))
    draw.line(points, fill=colour, width=w, joint="curve")
    r = w / 2
    for x, y in (points[0], points[-1]):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)


def _darker(colour, factor: float = 0.8):
    return tuple(int(c * factor) for c in colour)


def draw_person(draw: ImageDraw.ImageDraw, person: Person, kp: np.ndarray) -> None:
    """Draw one person whose keypoints (17, 2) are in image pixels."""
    h, c = person.body.height, person.colours
    for side in ("r", "l"):
        leg = [_pt(kp, HIP[side]), _pt(kp, KNEE[side]), _pt(kp, ANKLE[side])]
        _limb(draw, leg, c["pants"], 0.075 * h)
        ax, ay = leg[-1]
        foot = 0.045 * h
        out = SIDE_SIGN[side] * foot * 0.6
        draw.ellipse([ax - foot + out, ay - foot * 0.4, ax + foot + out, ay + foot * 0.7],
                     fill=c["shoes"])
    torso = [_pt(kp, SHOULDER["r"]), _pt(kp, SHOULDER["l"]), _pt(kp, HIP["l"]),
             _pt(kp, HIP["r"])]
    draw.polygon(torso, fill=c["shirt"])
    _limb(draw, torso + [torso[0]], c["shirt"], 0.06 * h)  # Rounds the torso's outline.
    _draw_head(draw, person, kp)
    for side in ("r", "l"):
        shoulder, elbow, wrist = (_pt(kp, SHOULDER[side]), _pt(kp, ELBOW[side]),
                                  _pt(kp, WRIST[side]))
        sleeve = _darker(c["shirt"], 0.9)
        _limb(draw, [shoulder, elbow], sleeve, 0.055 * h)
        _limb(draw, [elbow, wrist], c["skin"] if person.short_sleeves else sleeve, 0.045 * h)
        r = 0.03 * h
        draw.ellipse([wrist[0] - r, wrist[1] - r, wrist[0] + r, wrist[1] + r], fill=c["skin"])
    if person.held == "cup":
        draw_cup(draw, person, kp)
    elif person.held == "flag":
        draw_flag(draw, person, kp)


def _draw_head(draw: ImageDraw.ImageDraw, person: Person, kp: np.ndarray) -> None:
    """Neck, face and hair."""
    h, c = person.body.height, person.colours
    hx, hy = head_centre(kp)
    neck = (0.5 * (kp[SHOULDER["r"]] + kp[SHOULDER["l"]])).tolist()
    _limb(draw, [tuple(neck), (hx, hy)], c["skin"], 0.05 * h)
    r = person.body.head_r
    draw.ellipse([hx - r, hy - 1.1 * r, hx + r, hy + 1.1 * r], fill=c["skin"])
    draw.chord([hx - r, hy - 1.15 * r, hx + r, hy + 0.9 * r], 180, 360, fill=c["hair"])


def draw_cup(draw: ImageDraw.ImageDraw, person: Person, kp: np.ndarray) -> None:
    """A small cup held upright in the hand."""
    h = person.body.height
    x, y = _pt(kp, WRIST[person.hand])
    _draw_cup(draw, x, y, h, person.held_colour, above=0.7, below=0.3)


def draw_flag(draw: ImageDraw.ImageDraw, person: Person, kp: np.ndarray) -> None:
    """A pole held upwards from the hand, with a rectangular flag at its top."""
    h, side = person.body.height, person.hand
    wrist = kp[WRIST[side]]
    along = wrist - kp[ELBOW[side]]
    along = along / max(1e-6, float(np.linalg.norm(along)))
    # Point the pole up-ish whatever the arm does (a hanging arm still holds it up).
    pole = along + np.array([0.0, -1.2])
    pole = pole / max(1e-6, float(np.linalg.norm(pole)))
    top = wrist + pole * POLE_LENGTH * h
    _draw_pole(draw, wrist, top, h)
    out = np.array([SIDE_SIGN[side], 0.0]) * FLAG_SIZE[0] * h  # The flag flies outwards.
    down = -pole * FLAG_SIZE[1] * h
    corners = [top, top + out, top + out + down, top + down]
    draw.polygon([tuple(p) for p in corners], fill=person.held_colour)


def _draw_cup(draw: ImageDraw.ImageDraw, x: float, y: float, h: float, colour,
              above: float, below: float) -> None:
    """A cup centred on ``x``, reaching ``above`` and ``below`` its height from ``y``
    (held: around the hand; standing: on the ground), for a person ``h`` pixels tall."""
    w, ht = CUP_SIZE[0] * h, CUP_SIZE[1] * h
    draw.rectangle([x - w / 2, y - ht * above, x + w / 2, y + ht * below], fill=colour)


def _draw_pole(draw: ImageDraw.ImageDraw, a, b, h: float) -> None:
    """A flag's wooden pole from ``a`` to ``b`` for a person ``h`` pixels tall."""
    draw.line([tuple(a), tuple(b)], fill=(60, 50, 40), width=max(2, int(0.012 * h)))


def draw_prop(draw: ImageDraw.ImageDraw, prop: Prop, foot: np.ndarray) -> None:
    """A cup standing on the ground, or a flag on a pole planted in it, at ``foot``."""
    x, y, h = float(foot[0]), float(foot[1]), prop.height
    if prop.kind == "cup":
        _draw_cup(draw, x, y, h, prop.colour, above=1.0, below=0.0)
        return
    top = y - 0.55 * h
    _draw_pole(draw, (x, y), (x, top), h)
    fw, fh = FLAG_SIZE[0] * h, FLAG_SIZE[1] * h
    draw.rectangle([x, top, x + fw, top + fh], fill=prop.colour)
