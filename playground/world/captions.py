"""Captions generated from a scene: a rich, descriptive one (what the model is trained on, the Sora report's
re-captioning idea) and a short, vague one (what a user types). Both come from a small grammar and are
deterministic: the wording variation is drawn from a generator seeded with scene.seed.

Directions are in the first frame's camera view: "left"/"right" along the image, "toward"/"away from the camera"
along the ground.
"""

from __future__ import annotations

import numpy as np

from .camera import camera_centers, camera_path
from .physics import Trajectories, simulate
from .render import ray_boxes
from .scene import PALETTE, Scene

NUMBER_WORDS = ["no", "one", "two", "three", "four", "five", "six"]
SLOW, FAST = 0.7, 1.3  # world units per second
STILL = 0.05
THIN = 0.15  # an occluder thinner than this (x or z) is a "wall", otherwise a "box"

# The grammar's vocabulary, for prompt enrichment (nearest caption pieces to a user's words).
CAPTION_VOCABULARY: dict[str, list[str]] = {
    "colors": list(PALETTE),
    "objects": ["ball", "balls"],
    "counts": NUMBER_WORDS[1:],
    "motion": ["rolls", "moves", "stays still", "falls and bounces on the floor", "drifts", "bounces off the wall"],
    "speed": ["slowly", "fast"],
    "direction": ["to the left", "to the right", "toward the camera", "away from the camera"],
    "events": ["collide", "passes behind the grey wall", "passes behind the brown box"],
    "camera": ["the camera is still", "the camera orbits around the scene", "the camera pans"],
}
INTROS = ["{Count} {balls} on a checkered floor: {colors}.", "A scene with {count} {balls} ({colors}) on a checkered floor."]
VERBS = ["rolls", "moves"]
STATIC_CAMERA = ["The camera is still.", "The camera does not move."]


def caption_vocabulary() -> dict[str, list[str]]:
    """The words and phrases the rich captions are built from."""
    return {k: list(v) for k, v in CAPTION_VOCABULARY.items()}


def rich_caption(scene: Scene, traj: Trajectories | None = None) -> str:
    """Descriptive sentences naming the count, colours, each ball's motion, collisions, occlusions, the camera."""
    traj = simulate(scene) if traj is None else traj
    rng = np.random.default_rng(scene.seed)
    colors = [b.color for b in scene.balls]
    n = len(colors)
    right, fwd = _view_axes(scene)
    parts = [rng.choice(INTROS).format(
        Count=NUMBER_WORDS[n].capitalize(), count=NUMBER_WORDS[n], balls="ball" if n == 1 else "balls",
        colors=_join(colors))]
    verb = str(rng.choice(VERBS))
    for k, b in enumerate(scene.balls):
        v = np.asarray(b.velocity, dtype=float)
        horiz = _direction(v, right, fwd)
        walls = any(e.kind == "wall" and k in e.balls for e in traj.events)
        if scene.gravity:
            s = f"The {b.color} ball falls and bounces on the floor"
            if horiz:
                s += f", drifting {horiz}"
        elif horiz:
            s = f"The {b.color} ball {verb} {horiz}"
        else:
            s = f"The {b.color} ball stays still"
        if walls:
            s += " and bounces off the wall"
        parts.append(s + ".")
    seen = set()
    for e in traj.events:
        if e.kind == "collision" and e.balls not in seen:
            seen.add(e.balls)
            i, j = e.balls
            parts.append(f"The {colors[i]} ball and the {colors[j]} ball collide.")
    for k, m in passes_behind(scene, traj):
        o = scene.occluders[m]
        kind = "wall" if min(o.size[0], o.size[2]) < THIN else "box"
        parts.append(f"The {colors[k]} ball passes behind the {o.color} {kind}.")
    parts.append(_camera_sentence(scene, rng))
    return " ".join(parts)


def short_caption(scene: Scene) -> str:
    """A short, vague caption: one salient fact about the scene."""
    rng = np.random.default_rng(scene.seed + 1)
    n = len(scene.balls)
    options = [f"a {scene.balls[int(rng.integers(n))].color} ball", "some balls moving" if n > 1 else "a moving ball",
               f"{NUMBER_WORDS[n]} {'ball' if n == 1 else 'balls'}"]
    if scene.gravity:
        options.append("a bouncing ball" if n == 1 else "bouncing balls")
    if scene.occluders:
        options.append("a ball and a wall")
    if scene.camera.motion != "static":
        options.append("a moving camera")
    return str(options[int(rng.integers(len(options)))])


def passes_behind(scene: Scene, traj: Trajectories) -> list[tuple[int, int]]:
    """(ball, occluder) pairs where, in some frame, an occluder cuts the line from the camera to the ball centre."""
    if not scene.occluders:
        return []
    Rt = camera_path(scene.camera, scene.n_frames, scene.dt)
    o = camera_centers(Rt)  # (T, 3)
    to_ball = traj.positions - o[:, None]  # (T, N, 3)
    dist = np.linalg.norm(to_ball, axis=-1)
    d = to_ball / dist[..., None]
    ctr = np.array([oc.center for oc in scene.occluders])
    half = np.array([oc.size for oc in scene.occluders]) / 2
    t_box, _ = ray_boxes(o, d, ctr - half, ctr + half)  # (T, N, M)
    hidden = (t_box < dist[..., None]).any(0)  # (N, M)
    return [(int(k), int(m)) for k, m in zip(*np.nonzero(hidden))]


def _view_axes(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """The first frame's camera right axis and forward axis along the ground (unit vectors in x, z)."""
    R = camera_path(scene.camera, 1, scene.dt)[0, :, :3]
    fwd = R[2] * np.array([1.0, 0.0, 1.0])
    return R[0], fwd / np.linalg.norm(fwd)


def _direction(v: np.ndarray, right: np.ndarray, fwd: np.ndarray) -> str:
    """Phrase for a ground velocity: speed adverb + left/right/toward/away, "" when (nearly) still."""
    a, b = float(v @ right), -float(v @ fwd)  # b > 0: toward the camera
    speed = float(np.hypot(a, b))
    if speed < STILL:
        return ""
    lr = "to the right" if a > 0 else "to the left"
    tw = "toward the camera" if b > 0 else "away from the camera"
    if abs(a) > 2 * abs(b):
        where = lr
    elif abs(b) > 2 * abs(a):
        where = tw
    else:
        where = f"{tw} and {lr}"
    adverb = "slowly " if speed < SLOW else "fast " if speed > FAST else ""
    return adverb + where


def _camera_sentence(scene: Scene, rng: np.random.Generator) -> str:
    c = scene.camera
    if c.motion == "orbit" and abs(c.yaw_speed) > 1e-9:
        return f"The camera orbits around the scene to the {'right' if c.yaw_speed > 0 else 'left'}."
    if c.motion == "pan" and abs(c.pan_speed) > 1e-9:
        return f"The camera pans to the {'right' if c.pan_speed > 0 else 'left'}."
    return str(rng.choice(STATIC_CAMERA))


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
