"""Named scene families, their parameter ranges (in-distribution "train" and out-of-distribution "heldout",
never overlapping), and a sampler that always returns a valid scene.

Units: world units (the arena is 2 x 2) and seconds; frames are dt = 0.1 s apart. At 32 x 32 pixels one world
unit is about 10-17 px, so the training speeds (0.4-1.2 u/s) move a ball about 0.5-2 px per frame.
Collision and occlusion scenes are built backwards from the event (where and when it happens), then checked by
simulating (and, for occlusion, rendering a small id buffer); rejected draws are redrawn from the same rng.

The interaction family acts on the world: each scene has one or two kicks (strength = horizontal velocity change,
timing = a fraction of the clip, both with disjoint in-distribution and held-out ranges) and the paint effect
(tiles the balls touch stay marked); half its cameras sway (an orbit, or a turn in place, that goes and comes
back), looking away from part of the floor and back. The
mixed family draws from every other family and offers one kick to MIXED_KICK_RATE of its non-interaction scenes,
with the interaction family's kick ranges for the split (a scene whose balls are hidden at every one of
KICK_TRIES drawn kicks stays unkicked).
"""

from __future__ import annotations

import math

import numpy as np

from dataclasses import replace

from .actions import POP
from .camera import camera_path, intrinsics, sphere_ellipse
from .groundtruth import HIDDEN, visible_fraction
from .physics import simulate
from .render import render
from .scene import OCCLUDER_PALETTE, PALETTE, Ball, CameraSpec, Kick, Occluder, Scene, ball_mass

FAMILIES = ("inertia", "gravity", "collision", "occlusion", "camera", "interaction", "mixed")
MIXED_KICK_RATE = 0.25  # share of mixed scenes from the non-interaction families that get one kick
KICK_TRIES = 10
KICK_VISIBLE = 0.5  # a kicked ball is at least this visible at the kick's frame (so a click can reach it)
SPLITS = ("train", "heldout")
DT = 0.1
MIN_EVENT_FRAMES = 8  # shorter clips cannot hold a designed event; the event requirement is waived for them
MIN_OCCLUSION_FRAMES = 10  # hiding and re-emerging needs more: at 8 frames under 1% of draws manage it
MAX_TRIES = 200

_R_TRAIN = ((0.14, 0.22),)
_R_HELDOUT = ((0.08, 0.12), (0.25, 0.30))
# family -> split -> parameter -> intervals. Held-out intervals never overlap training ones (tests check it).
RANGES: dict[str, dict[str, dict[str, tuple[tuple[float, float], ...]]]] = {
    "inertia": {
        "train": {"speed": ((0.4, 1.2),), "radius": _R_TRAIN},
        "heldout": {"speed": ((1.5, 2.2),), "radius": _R_HELDOUT},
    },
    "gravity": {
        "train": {"g": ((2.0, 4.0),), "drop_height": ((0.5, 0.9),), "speed": ((0.0, 0.4),), "radius": _R_TRAIN},
        "heldout": {"g": ((5.0, 7.0),), "drop_height": ((0.3, 0.45),), "speed": ((0.5, 0.8),), "radius": _R_HELDOUT},
    },
    "collision": {
        "train": {"speed": ((0.4, 1.0),), "radius": _R_TRAIN},
        "heldout": {"speed": ((1.2, 1.8),), "radius": _R_HELDOUT},
    },
    "occlusion": {
        "train": {"speed": ((0.6, 1.2),), "radius": _R_TRAIN},
        "heldout": {"speed": ((1.4, 2.0),), "radius": _R_HELDOUT},
    },
    "camera": {
        "train": {"yaw_speed": ((0.15, 0.35),), "pan_speed": ((0.15, 0.35),), "speed": ((0.0, 0.4),),
                  "radius": _R_TRAIN},
        "heldout": {"yaw_speed": ((0.45, 0.7),), "pan_speed": ((0.45, 0.7),), "speed": ((0.5, 0.8),),
                    "radius": _R_HELDOUT},
    },
    "interaction": {
        "train": {"kick_strength": ((0.5, 1.2),), "kick_time": ((0.3, 0.6),), "speed": ((0.0, 0.6),),
                  "radius": _R_TRAIN},
        "heldout": {"kick_strength": ((1.4, 2.0),), "kick_time": ((0.65, 0.85),), "speed": ((0.7, 1.0),),
                    "radius": _R_HELDOUT},
    },
}
# Parameters shared by both splits: ball counts (kept in distribution so count probes stay meaningful) and when
# the designed event happens, as a fraction of the clip.
SHARED: dict[str, dict[str, tuple[float, float]]] = {
    "inertia": {"count": (1, 3)},
    "gravity": {"count": (1, 2)},
    "collision": {"count": (2, 2), "event_time": (0.3, 0.6)},
    "occlusion": {"count": (1, 2), "event_time": (0.4, 0.55)},
    "camera": {"count": (1, 3)},
    # gravity: share of scenes with gravity; sway: share of swaying cameras, with their speed (rad/s for an orbit,
    # units/s for a pan) and period (s)
    "interaction": {"count": (1, 2), "kicks": (1, 2), "gravity": (0.25, 0.25), "sway": (0.5, 0.5),
                    "sway_yaw_speed": (1.6, 2.4), "sway_period": (0.9, 1.4)},
}


def describe_ranges(family: str | None = None) -> str:
    """Printable table of the parameter ranges (for the app and the CLI)."""
    lines = []
    for fam in [family] if family else list(RANGES):
        lines.append(f"{fam}: " + ", ".join(f"{k} {lo:g}-{hi:g}" for k, (lo, hi) in SHARED[fam].items()))
        for split in SPLITS:
            body = "; ".join(f"{k} " + " or ".join(f"{lo:g}-{hi:g}" for lo, hi in iv)
                             for k, iv in RANGES[fam][split].items())
            lines.append(f"  {split:8s} {body}")
    return "\n".join(lines)


def sample_scene(family: str = "mixed", split: str = "train", rng: np.random.Generator | int = 0,
                 n_frames: int = 16) -> Scene:
    """Draw a valid scene of `family` with parameters from `split`'s ranges; deterministic for the rng state."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if not isinstance(n_frames, (int, np.integer)) or not 1 <= n_frames <= 512:
        raise ValueError(f"n_frames must be an integer in [1, 512], got {n_frames!r}")
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    fam = family if family != "mixed" else FAMILIES[int(rng.integers(len(FAMILIES) - 1))]
    build = _BUILDERS[fam]
    for _ in range(MAX_TRIES):
        scene = build(rng, RANGES[fam][split], SHARED[fam], int(n_frames))
        if scene is not None and family == "mixed" and fam != "interaction" and rng.random() < MIXED_KICK_RATE:
            for _ in range(KICK_TRIES):  # a scene whose balls are hidden at every drawn kick time stays unkicked
                kicked = _with_kicks(rng, scene, RANGES["interaction"][split], 1)
                if kicked is not None:
                    scene = kicked
                    break
        if scene is not None:
            scene.seed = int(rng.integers(2**31))
            scene.metadata = {"family": fam, "split": split}
            return scene
    raise RuntimeError(f"could not sample a {fam} scene in {MAX_TRIES} tries")  # a bug in the ranges, not input


# ---------------------------------------------------------------------------- helpers
def _uniform(rng: np.random.Generator, intervals) -> float:
    """Uniform over a union of intervals (each picked in proportion to its length)."""
    lens = np.array([hi - lo for lo, hi in intervals], dtype=float)
    k = int(rng.choice(len(intervals), p=lens / lens.sum())) if len(intervals) > 1 else 0
    lo, hi = intervals[k]
    return float(rng.uniform(lo, hi))


def _count(rng, shared) -> int:
    lo, hi = shared["count"]
    return int(rng.integers(lo, hi + 1))


def _colors(rng, n) -> list[str]:
    return [str(c) for c in rng.choice(list(PALETTE), size=n, replace=False)]


def _ground_velocity(rng, speed) -> tuple[float, float, float]:
    a = rng.uniform(0, 2 * np.pi)
    return (speed * np.cos(a), 0.0, speed * np.sin(a))


def _valid(scene: Scene) -> Scene | None:
    try:
        return scene.validate()
    except ValueError:
        return None


def _scatter(rng, radii, gravity_heights=None, extent=0.7) -> list[tuple[float, float, float]] | None:
    """Non-overlapping positions inside [-extent, extent]^2 (rejection); y = radius or the given heights."""
    pos = []
    for k, r in enumerate(radii):
        for _ in range(50):
            x, z = rng.uniform(-extent, extent, size=2)
            y = r if gravity_heights is None else gravity_heights[k]
            p = (float(x), float(y), float(z))
            if all(math.dist(p, q) > r + radii[i] + 0.05 for i, q in enumerate(pos)):
                pos.append(p)
                break
        else:
            return None
    return pos


# ---------------------------------------------------------------------------- families
def _inertia(rng, rng_split, shared, n_frames) -> Scene | None:
    n = _count(rng, shared)
    radii = [_uniform(rng, rng_split["radius"]) for _ in range(n)]
    pos = _scatter(rng, radii)
    if pos is None:
        return None
    balls = [Ball(c, r, p, _ground_velocity(rng, _uniform(rng, rng_split["speed"])))
             for c, r, p in zip(_colors(rng, n), radii, pos)]
    scene = _valid(Scene(balls, gravity=False, n_frames=n_frames, dt=DT))
    if scene is None:
        return None
    walls = sum(e.kind == "wall" for e in simulate(scene).events)
    return scene if walls <= 2 * n else None  # "few wall bounces"


def _gravity(rng, rng_split, shared, n_frames) -> Scene | None:
    n = _count(rng, shared)
    radii = [_uniform(rng, rng_split["radius"]) for _ in range(n)]
    heights = [r + _uniform(rng, rng_split["drop_height"]) for r in radii]
    pos = _scatter(rng, radii, heights, extent=0.6)
    if pos is None:
        return None
    balls = [Ball(c, r, p, _ground_velocity(rng, _uniform(rng, rng_split["speed"])))
             for c, r, p in zip(_colors(rng, n), radii, pos)]
    scene = _valid(Scene(balls, gravity=True, g=_uniform(rng, rng_split["g"]), n_frames=n_frames, dt=DT))
    if scene is None or n_frames < MIN_EVENT_FRAMES:
        return scene
    return scene if any(e.kind == "floor" for e in simulate(scene).events) else None


def _collision(rng, rng_split, shared, n_frames) -> Scene | None:
    """Two balls that touch at point P at time tc: place them there, then run their velocities backwards."""
    duration = max(n_frames - 1, MIN_EVENT_FRAMES) * DT
    tc = rng.uniform(*shared["event_time"]) * duration
    r1, r2 = (_uniform(rng, rng_split["radius"]) for _ in range(2))
    P = np.array([rng.uniform(-0.35, 0.35), 0.0, rng.uniform(-0.35, 0.35)])
    a = rng.uniform(0, 2 * np.pi)
    nrm = np.array([np.cos(a), 0.0, np.sin(a)])  # from ball 1 to ball 2 at contact

    def heading(base, spread):
        b = np.arctan2(base[2], base[0]) + rng.uniform(-spread, spread)
        return np.array([np.cos(b), 0.0, np.sin(b)])

    v1 = _uniform(rng, rng_split["speed"]) * heading(nrm, 0.5)
    v2 = _uniform(rng, rng_split["speed"]) * heading(-nrm, 0.5)
    p1 = P - nrm * r1 - v1 * tc + [0, r1, 0]
    p2 = P + nrm * r2 - v2 * tc + [0, r2, 0]
    c1, c2 = _colors(rng, 2)
    scene = _valid(Scene([Ball(c1, r1, tuple(p1), tuple(v1)), Ball(c2, r2, tuple(p2), tuple(v2))],
                         gravity=False, n_frames=n_frames, dt=DT))
    if scene is None or n_frames < MIN_EVENT_FRAMES:
        return scene
    hit = [e for e in simulate(scene).events if e.kind == "collision"]
    return scene if hit and 1 <= hit[0].time <= n_frames - 2 else None


def _occlusion(rng, rng_split, shared, n_frames) -> Scene | None:
    """A ball crosses behind a wall at time tc; the wall is sized (from the camera's sight line) to hide it."""
    duration = max(n_frames - 1, MIN_EVENT_FRAMES) * DT
    tc = rng.uniform(*shared["event_time"]) * duration
    r = _uniform(rng, rng_split["radius"])
    speed = _uniform(rng, rng_split["speed"])
    cam = CameraSpec()
    xw, zw, thick = rng.uniform(-0.25, 0.25), rng.uniform(0.0, 0.3), 0.06
    zb = zw - rng.uniform(0.35, 0.55)
    ang = rng.uniform(-0.25, 0.25) + (np.pi if rng.random() < 0.5 else 0.0)
    v = speed * np.array([np.cos(ang), 0.0, np.sin(ang)])
    p0 = np.array([xw, r, zb]) - v * tc
    # sight line from the eye over the ball's top (with margin) at the wall's front face
    eye_y, eye_z, z_front = cam.height, cam.look_at[2] + cam.distance, zw + thick / 2
    top = 2.3 * r
    height = eye_y - (eye_y - top) * (eye_z - z_front) / (eye_z - zb)
    height = 1.1 * height + 0.02
    width = float(np.clip(2.6 * r + 0.2 * speed * duration, 0.3, 1.0))
    wall = Occluder((float(xw), height / 2, float(zw)), (width, height, thick), str(rng.choice(list(OCCLUDER_PALETTE))))
    colors = _colors(rng, _count(rng, shared))
    balls = [Ball(colors[0], r, tuple(p0), tuple(v))]
    if len(colors) > 1:  # a bystander in front of the wall
        r2 = _uniform(rng, rng_split["radius"])
        p2 = (rng.uniform(-0.6, 0.6), r2, rng.uniform(min(z_front + 0.1 + r2, 0.95 - r2), 0.95 - r2))
        balls.append(Ball(colors[1], r2, p2, _ground_velocity(rng, 0.5 * _uniform(rng, rng_split["speed"]))))
    scene = _valid(Scene(balls, gravity=False, occluders=[wall], camera=cam, n_frames=n_frames, dt=DT))
    if scene is None or n_frames < MIN_OCCLUSION_FRAMES:
        return scene
    vis = occlusion_visibility(scene)[:, 0]
    hidden = np.flatnonzero(vis < HIDDEN)
    if not (vis[0] > 0.5 and len(hidden) and 1 <= hidden[0] and (vis[hidden[0]:] > 0.5).any()):
        return None
    return scene


def _camera(rng, rng_split, shared, n_frames) -> Scene | None:
    n = _count(rng, shared)
    radii = [_uniform(rng, rng_split["radius"]) for _ in range(n)]
    pos = _scatter(rng, radii, extent=0.6)
    if pos is None:
        return None
    balls = [Ball(c, r, p, _ground_velocity(rng, _uniform(rng, rng_split["speed"])))
             for c, r, p in zip(_colors(rng, n), radii, pos)]
    sign = 1.0 if rng.random() < 0.5 else -1.0
    if rng.random() < 0.5:
        cam = CameraSpec("orbit", yaw0=float(rng.uniform(-0.5, 0.5)), yaw_speed=sign * _uniform(rng, rng_split["yaw_speed"]))
    else:
        cam = CameraSpec("pan", pan_speed=sign * _uniform(rng, rng_split["pan_speed"]))
    return _valid(Scene(balls, gravity=False, camera=cam, n_frames=n_frames, dt=DT))


def _interaction(rng, rng_split, shared, n_frames) -> Scene | None:
    """Balls on a painting floor, kicked once or twice, sometimes under gravity, seen by a still or swaying camera."""
    n = _count(rng, shared)
    gravity = bool(rng.random() < shared["gravity"][0])
    radii = [_uniform(rng, rng_split["radius"]) for _ in range(n)]
    heights = [r + rng.uniform(0.2, 0.6) for r in radii] if gravity else None
    pos = _scatter(rng, radii, heights, extent=0.6)
    if pos is None:
        return None
    balls = [Ball(c, r, p, _ground_velocity(rng, _uniform(rng, rng_split["speed"])))
             for c, r, p in zip(_colors(rng, n), radii, pos)]
    cam = CameraSpec()
    if rng.random() < shared["sway"][0]:
        sign = 1.0 if rng.random() < 0.5 else -1.0
        period = float(rng.uniform(*shared["sway_period"]))
        motion = "orbit" if rng.random() < 0.5 else "look"
        cam = CameraSpec(motion, yaw0=float(rng.uniform(-0.3, 0.3)) if motion == "orbit" else 0.0,
                         yaw_speed=sign * float(rng.uniform(*shared["sway_yaw_speed"])), sway_period=period)
    scene = _valid(Scene(balls, gravity=gravity, camera=cam, n_frames=n_frames, dt=DT, paint=True))
    if scene is None:
        return None
    lo, hi = shared["kicks"]
    return _with_kicks(rng, scene, rng_split, int(rng.integers(lo, hi + 1)))


def _with_kicks(rng, scene: Scene, rng_split, n_kicks: int) -> Scene | None:
    """`scene` with n_kicks kicks (timing and strength from the split's ranges, random ground direction, a pop of
    POP x strength under gravity) of balls that are visible at the kick's frame; None when that fails."""
    T = scene.n_frames
    if T < MIN_EVENT_FRAMES:
        return scene
    kicks = []
    for _ in range(n_kicks):
        f = int(np.clip(round(_uniform(rng, rng_split["kick_time"]) * (T - 1)), 1, T - 2))
        b = int(rng.integers(len(scene.balls)))
        a = rng.uniform(0, 2 * np.pi)
        dv = _uniform(rng, rng_split["kick_strength"]) * np.array([np.cos(a), 0.0, np.sin(a)])
        if scene.gravity:
            dv[1] = POP * float(np.hypot(dv[0], dv[2]))
        kicks.append(Kick(f, b, tuple(float(x) for x in ball_mass(scene.balls[b].radius) * dv)))
    kicks.sort(key=lambda k: (k.frame, k.ball))
    if any(a.ball == b.ball and b.frame - a.frame < 3 for a, b in zip(kicks, kicks[1:])):
        return None  # one ball kicked twice within 3 frames: the probe could not tell the kicks apart
    kicked = _valid(replace(scene, kicks=kicks))
    if kicked is None:
        return None
    vis = occlusion_visibility(kicked, frames=[k.frame for k in kicks])  # only the kick frames: this runs often
    if any(vis[j, k.ball] < KICK_VISIBLE for j, k in enumerate(kicks)):
        return None
    return kicked


def occlusion_visibility(scene: Scene, size: int = 32, frames=None) -> np.ndarray:
    """Visible fraction (T, N) from a cheap id-buffer render (size x size, no supersampling); with `frames`
    (indices), only those frames are rendered and the result is (len(frames), N)."""
    traj = simulate(scene)
    K = intrinsics(scene.camera.fov_deg, size, size)
    Rt = camera_path(scene.camera, scene.n_frames, scene.dt)
    pos = traj.positions
    if frames is not None:
        idx = np.asarray(frames, dtype=int)
        Rt, pos = Rt[idx], pos[idx]
    radii = np.array([b.radius for b in scene.balls])
    out = render(scene, pos, K, Rt, size, size, ss=1, with_ids=True)
    centers, area, half = sphere_ellipse(pos, radii, K, Rt)
    return visible_fraction(out, area, half, centers, size, size, 1)


_BUILDERS = {"inertia": _inertia, "gravity": _gravity, "collision": _collision, "occlusion": _occlusion,
             "camera": _camera, "interaction": _interaction}
