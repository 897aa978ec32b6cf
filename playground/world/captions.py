"""Captions generated from a scene: a rich, descriptive one (what the model is trained on, the Sora report's
re-captioning idea) and a short, vague one (what a user types). Both come from a small grammar and are
deterministic: the wording variation is drawn from a generator seeded with scene.seed.

A caption is the wording of an attribute record (`scene_attributes` -> `SceneAttributes` ->
`caption_from_attributes`), so a model that predicts the record from pixels (playground.captioner) captions a
clip in the same grammar, and `caption_labels` says what `playground.enrich.prompt_attributes` reads back.

Directions are in the first frame's camera view: "left"/"right" along the image, "toward"/"away from the camera"
along the ground.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .camera import camera_centers, camera_path
from .physics import Trajectories, simulate
from .render import ray_boxes
from .scene import PALETTE, Scene, ball_mass

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
    "events": ["collide", "passes behind the grey wall", "passes behind the brown box", "is kicked"],
    "effects": ["the balls mark the floor tiles they touch"],
    "camera": ["the camera is still", "the camera orbits around the scene", "the camera pans", "the camera turns",
               "the camera swings around the scene and back"],
}
INTROS = ["{Count} {balls} on a checkered floor: {colors}.", "A scene with {count} {balls} ({colors}) on a checkered floor."]
VERBS = ["rolls", "moves"]
STATIC_CAMERA = ["The camera is still.", "The camera does not move."]


def caption_vocabulary() -> dict[str, list[str]]:
    """The words and phrases the rich captions are built from."""
    return {k: list(v) for k, v in CAPTION_VOCABULARY.items()}


@dataclass
class SceneAttributes:
    """What a rich caption says about a clip, before it is worded: the record the grammar words and the learned
    captioner predicts. Ball-indexed lists follow `colours`; velocities are ground velocities in the first frame's
    view, (to the right, toward the camera) in world units per second."""

    colours: list[str]
    gravity: bool = False
    velocities: list[tuple[float, float]] = field(default_factory=list)  # per ball, at the start of the clip
    walls: list[bool] = field(default_factory=list)  # per ball: bounces off an arena wall
    collisions: list[tuple[int, int]] = field(default_factory=list)  # ball pairs, in the order they first meet
    occlusions: list[tuple[int, str, str]] = field(default_factory=list)  # (ball, occluder colour, "wall" | "box")
    camera: str = "still"  # "still", "orbit", "pan" or "turn" (in place)
    camera_direction: str = ""  # "left" / "right" for a moving camera
    kicks: list[tuple[int, tuple[float, float]]] = field(default_factory=list)  # (ball, velocity change), in time order
    marks: bool = False  # balls leave marks on the floor tiles they touch
    camera_sways: bool = False  # the moving camera goes and comes back

    @property
    def count(self) -> int:
        return len(self.colours)


def scene_attributes(scene: Scene, traj: Trajectories | None = None) -> SceneAttributes:
    """The attribute record of `scene` (simulated here unless `traj` is given)."""
    traj = simulate(scene) if traj is None else traj
    right, fwd = _view_axes(scene)
    vel = [_view_velocity(np.asarray(b.velocity, dtype=float), right, fwd) for b in scene.balls]
    walls = [any(e.kind == "wall" and k in e.balls for e in traj.events) for k in range(len(scene.balls))]
    pairs: list[tuple[int, int]] = []
    for e in traj.events:
        if e.kind == "collision" and tuple(e.balls) not in pairs:
            pairs.append(tuple(e.balls))
    occl = []
    for k, m in passes_behind(scene, traj):
        o = scene.occluders[m]
        occl.append((k, o.color, "wall" if min(o.size[0], o.size[2]) < THIN else "box"))
    c = scene.camera
    camera, cam_dir = "still", ""
    if c.motion in ("orbit", "look") and abs(c.yaw_speed) > 1e-9:  # yaw_speed > 0 moves or turns the view right
        camera, cam_dir = "orbit" if c.motion == "orbit" else "turn", "right" if c.yaw_speed > 0 else "left"
    elif c.motion == "pan" and abs(c.pan_speed) > 1e-9:
        camera, cam_dir = "pan", "right" if c.pan_speed > 0 else "left"
    sway = camera != "still" and c.sway_period > 0
    kicks = []
    for kick in scene.kicks:  # a kick changes the ball's momentum by its impulse
        dv = np.asarray(kick.impulse, dtype=float) / ball_mass(scene.balls[kick.ball].radius)
        kicks.append((int(kick.ball), _view_velocity(dv, right, fwd)))
    return SceneAttributes([b.color for b in scene.balls], bool(scene.gravity), vel, walls, pairs, occl, camera,
                           cam_dir, kicks, scene.paint, sway)


def caption_from_attributes(attrs: SceneAttributes, rng: np.random.Generator) -> str:
    """Word an attribute record: the count and colours, each ball's motion, collisions, occlusions, kicks, marks,
    the camera. `rng` draws the wording variation (rich_caption seeds it with scene.seed)."""
    colors = attrs.colours
    n = len(colors)
    parts = [rng.choice(INTROS).format(
        Count=NUMBER_WORDS[n].capitalize(), count=NUMBER_WORDS[n], balls="ball" if n == 1 else "balls",
        colors=_join(colors))]
    verb = str(rng.choice(VERBS))
    for k, color in enumerate(colors):
        horiz = _direction_words(*attrs.velocities[k])
        if attrs.gravity:
            s = f"The {color} ball falls and bounces on the floor"
            if horiz:
                s += f", drifting {horiz}"
        elif horiz:
            s = f"The {color} ball {verb} {horiz}"
        else:
            s = f"The {color} ball stays still"
        if attrs.walls[k]:
            s += " and bounces off the wall"
        parts.append(s + ".")
    for i, j in attrs.collisions:
        parts.append(f"The {colors[i]} ball and the {colors[j]} ball collide.")
    for k, color, kind in attrs.occlusions:
        parts.append(f"The {colors[k]} ball passes behind the {color} {kind}.")
    for k, dv in attrs.kicks:
        where = _heading(*dv)
        parts.append(f"The {colors[k]} ball is kicked {where}." if where else f"The {colors[k]} ball is kicked.")
    if attrs.marks:
        parts.append("The ball marks the floor tiles it touches." if n == 1
                     else "The balls mark the floor tiles they touch.")
    back = " and back" if attrs.camera_sways else ""
    if attrs.camera == "orbit":
        verb = "swings" if attrs.camera_sways else "orbits"
        parts.append(f"The camera {verb} around the scene to the {attrs.camera_direction}{back}.")
    elif attrs.camera in ("pan", "turn"):
        parts.append(f"The camera {attrs.camera}s to the {attrs.camera_direction}{back}.")
    else:
        parts.append(str(rng.choice(STATIC_CAMERA)))
    return " ".join(parts)


def rich_caption(scene: Scene, traj: Trajectories | None = None) -> str:
    """Descriptive sentences naming the count, colours, each ball's motion, collisions, occlusions, kicks, marks
    and the camera: the scene's attribute record worded by the grammar."""
    return caption_from_attributes(scene_attributes(scene, traj), np.random.default_rng(scene.seed))


def caption_labels(attrs: SceneAttributes) -> dict:
    """What a caption of `attrs` says, in the form `playground.enrich.prompt_attributes` reads back from the text:
    sets as sorted lists, per-ball facts keyed by colour, directions as the grammar words them."""
    colors = attrs.colours
    motion, speed = {}, {}
    for c, v in zip(colors, attrs.velocities):
        motion[c] = _heading(*v) or "still"
        speed[c] = _adverb(*v)
    kicks: dict[str, list[str]] = {}
    for k, dv in attrs.kicks:
        kicks.setdefault(colors[k], []).append(_heading(*dv))
    return {
        "colours": sorted(colors), "count": len(colors), "gravity": attrs.gravity,
        "occluder": bool(attrs.occlusions), "camera": attrs.camera != "still", "collision": bool(attrs.collisions),
        "kicked": bool(attrs.kicks), "marks": attrs.marks,
        "motion": motion, "speed": speed, "walls": sorted(c for c, w in zip(colors, attrs.walls) if w),
        "collisions": sorted("+".join(sorted((colors[i], colors[j]))) for i, j in attrs.collisions),
        "occlusions": sorted(f"{colors[k]} behind {c} {kind}" for k, c, kind in attrs.occlusions),
        "kicks": kicks,
        "camera_motion": attrs.camera if attrs.camera == "still"
        else f"{attrs.camera} {attrs.camera_direction}" + (" and back" if attrs.camera_sways else ""),
    }


# Heading and speed words, as classes: the learned captioner predicts these, `attributes_from_labels` turns them back
# into a velocity the grammar words the same way (a heading's centre angle, a speed inside its adverb's band).
HEADINGS = ("still", "to the right", "toward the camera and to the right", "toward the camera",
            "toward the camera and to the left", "to the left", "away from the camera and to the left",
            "away from the camera", "away from the camera and to the right")
SPEEDS = ("", "slowly", "fast")
_SPEED_OF = {"": 1.0, "slowly": 0.4, "fast": 1.6}
CAMERA_MOTIONS = ("still",) + tuple(f"{m} {side}{back}" for m in ("orbit", "pan", "turn") for side in ("left", "right")
                                     for back in ("", " and back"))


def heading_velocity(heading: str, speed: str = "") -> tuple[float, float]:
    """A view-plane velocity (right, toward) that the grammar words as `speed` + `heading` ((0, 0) for "still")."""
    k = HEADINGS.index(heading or "still")
    if k == 0:
        return (0.0, 0.0)
    angle = (k - 1) * np.pi / 4
    return (round(_SPEED_OF[speed] * float(np.cos(angle)), 6), round(_SPEED_OF[speed] * float(np.sin(angle)), 6))


def attributes_from_labels(labels: dict) -> SceneAttributes:
    """A record whose caption says exactly `labels` (the inverse of caption_labels up to ball order and exact
    speeds): balls in sorted colour order, each velocity a representative of its heading and speed words."""
    colors = sorted(labels["colours"])
    idx = {c: k for k, c in enumerate(colors)}
    vel = [heading_velocity(labels["motion"].get(c, "still"), labels["speed"].get(c, "")) for c in colors]
    pairs = [tuple(idx[c] for c in p.split("+")) for p in labels["collisions"]]
    occl = []
    for o in labels["occlusions"]:
        ball, _, occ_color, kind = o.split(" ")
        occl.append((idx[ball], occ_color, kind))
    kicks = [(idx[c], heading_velocity(h or "still")) for c, hs in sorted(labels["kicks"].items()) for h in hs]
    cam = labels.get("camera_motion", "still")
    camera, _, side = cam.removesuffix(" and back").partition(" ")
    return SceneAttributes(colors, bool(labels["gravity"]), vel, [c in labels["walls"] for c in colors], pairs, occl,
                           camera, side, kicks, bool(labels["marks"]), cam.endswith(" and back"))


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
    if scene.kicks:
        options.append("a ball gets kicked")
    if scene.paint:
        options.append("a ball painting the floor" if n == 1 else "balls painting the floor")
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


def _view_velocity(v: np.ndarray, right: np.ndarray, fwd: np.ndarray) -> tuple[float, float]:
    """A world velocity along the ground as (to the right, toward the camera) in the first frame's view."""
    return float(v @ right), -float(v @ fwd)


def _heading(a: float, b: float) -> str:
    """left/right/toward/away words for a view-plane velocity (a right, b toward), "" when (nearly) still."""
    if float(np.hypot(a, b)) < STILL:
        return ""
    lr = "to the right" if a > 0 else "to the left"
    tw = "toward the camera" if b > 0 else "away from the camera"
    if abs(a) > 2 * abs(b):
        return lr
    if abs(b) > 2 * abs(a):
        return tw
    return f"{tw} and {lr}"


def _adverb(a: float, b: float) -> str:
    """"slowly" / "fast" / "" for the speed of a view-plane velocity ("" also when still)."""
    speed = float(np.hypot(a, b))
    if speed < STILL:
        return ""
    return "slowly" if speed < SLOW else "fast" if speed > FAST else ""


def _direction_words(a: float, b: float) -> str:
    """Speed adverb + heading, "" when (nearly) still: how a ball's ground motion is worded."""
    where = _heading(a, b)
    return "" if not where else (f"{_adverb(a, b)} {where}".lstrip())


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
