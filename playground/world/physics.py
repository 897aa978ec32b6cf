"""Event-driven rigid-ball physics: constant velocity, optional gravity, elastic walls, floor and ball-ball hits.

Inside each frame interval we repeatedly find the earliest event (ball-wall, ball-floor, ball-ball time of
impact), advance every ball exactly to it, resolve it exactly, and carry on until the frame ends. Gravity gives
all balls the same acceleration, so the motion of one ball relative to another stays linear and a pair's time of
impact is the root of a quadratic; a ball's floor hit under gravity solves y(t) = r. Collisions are perfectly
elastic (restitution 1) with mass proportional to radius**2, so momentum and kinetic energy are conserved to
float64 rounding. Balls rolling on the floor (no gravity) collide in the x,z plane: the floor takes the vertical
part of the contact force, so their motion stays 2-D. Occluders take no part in the physics.

Actions are events too: a kick at frame f changes its ball's momentum by exactly its impulse at time f * dt
(the position at frame f is the kick's position; the velocity recorded at frame f is the one after the kick).
With `scene.paint`, the floor keeps a trace: a tile (TILE x TILE) is marked in the first frame a ball's contact
point lies on it - every frame for a ball rolling on the floor, at each landing (the frame after the floor hit)
under gravity - and stays marked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .scene import TILE, Scene, ball_mass

MAX_EVENTS_PER_FRAME = 256  # guard against zero-time event loops (e.g. a degenerate resting contact)


@dataclass
class Event:
    """One physical event: kind is "wall", "floor", "collision" or "kick"; time in frames (float, frame f =
    f * dt); for a kick, `impulse` is what it gave the ball."""

    kind: str
    time: float
    balls: tuple[int, ...]
    position: tuple[float, float, float]
    impulse: tuple[float, float, float] | None = None

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "time": float(self.time), "balls": list(self.balls),
             "position": [float(x) for x in self.position]}
        if self.impulse is not None:
            d["impulse"] = [float(x) for x in self.impulse]
        return d


@dataclass
class Effect:
    """A persistent effect: floor tile `tile` (i, j), covering x in [i, i + 1) * TILE and z in [j, j + 1) * TILE,
    marked from frame `frame` on by ball `ball`; `center` is the tile's centre on the floor."""

    frame: int
    ball: int
    tile: tuple[int, int]
    kind: str = "mark"

    @property
    def center(self) -> tuple[float, float, float]:
        return ((self.tile[0] + 0.5) * TILE, 0.0, (self.tile[1] + 0.5) * TILE)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "frame": int(self.frame), "ball": int(self.ball), "tile": list(self.tile),
                "center": list(self.center)}


@dataclass
class Trajectories:
    """Per-frame state of every ball: positions and velocities (T, N, 3), the events in time order and the
    persistent effects in the order they were made."""

    positions: np.ndarray
    velocities: np.ndarray
    events: list[Event]
    effects: list[Effect] = field(default_factory=list)


def simulate(scene: Scene) -> Trajectories:
    """Simulate `scene` for scene.n_frames frames (frame 0 is the initial state)."""
    p = np.array([b.position for b in scene.balls], dtype=np.float64)  # (N, 3)
    v = np.array([b.velocity for b in scene.balls], dtype=np.float64)  # (N, 3)
    r = np.array([b.radius for b in scene.balls], dtype=np.float64)  # (N,)
    g = float(scene.g) if scene.gravity else 0.0
    acc = np.array([0.0, -g, 0.0])
    # Rolling balls meet in the x,z plane (their centres may sit at different heights).
    mask = np.array([1.0, 1.0, 1.0]) if scene.gravity else np.array([1.0, 0.0, 1.0])
    A, dt, T = float(scene.arena_half_size), float(scene.dt), scene.n_frames

    positions = np.empty((T, len(r), 3))
    velocities = np.empty((T, len(r), 3))
    kicks: dict[int, list] = {}
    for kick in scene.kicks:
        kicks.setdefault(kick.frame, []).append(kick)
    mass = np.array([ball_mass(x) for x in r])
    events: list[Event] = []
    v = apply_kicks(p, v, mass, kicks.get(0, []), 0, events)
    positions[0], velocities[0] = p, v
    pairs = np.triu_indices(len(r), 1)
    for f in range(1, T):
        t_left, elapsed = dt, (f - 1) * dt
        for _ in range(MAX_EVENTS_PER_FRAME):
            t_ev, kind, i, j, axis = next_event(p, v, r, A, g, mask, pairs)
            if t_ev >= t_left:
                break
            p, v = advance(p, v, acc, t_ev)
            t_left -= t_ev
            elapsed += t_ev
            p, v, where = resolve(p, v, r, A, mask, kind, i, j, axis)
            events.append(Event(kind, elapsed / dt, (i,) if j < 0 else (i, j), tuple(float(x) for x in where)))
        p, v = advance(p, v, acc, t_left)
        # Only the loop guard can leave a ball outside; keep it inside the arena and above the floor then.
        lim = A - r
        p[:, 0] = np.clip(p[:, 0], -lim, lim)
        p[:, 2] = np.clip(p[:, 2], -lim, lim)
        p[:, 1] = np.maximum(p[:, 1], r)
        v = apply_kicks(p, v, mass, kicks.get(f, []), f, events)
        positions[f], velocities[f] = p, v
    effects = paint_marks(positions, r, events, scene.gravity) if scene.paint else []
    return Trajectories(positions, velocities, events, effects)


def apply_kicks(p: np.ndarray, v: np.ndarray, mass: np.ndarray, kicks: list, frame: int,
                events: list[Event]) -> np.ndarray:
    """Velocities after this frame's kicks (each adds impulse / mass to its ball); the kicks join `events`."""
    if not kicks:
        return v
    v = v.copy()
    for kick in kicks:
        imp = np.asarray(kick.impulse, dtype=np.float64)
        v[kick.ball] += imp / mass[kick.ball]
        events.append(Event("kick", float(frame), (kick.ball,), tuple(float(x) for x in p[kick.ball]),
                            tuple(float(x) for x in imp)))
    return v


def tile_of(x: float, z: float) -> tuple[int, int]:
    """The floor tile (i, j) holding the floor point (x, z)."""
    return int(np.floor(x / TILE)), int(np.floor(z / TILE))


def paint_marks(positions: np.ndarray, radii: np.ndarray, events: list[Event], gravity: bool) -> list[Effect]:
    """The tiles the balls mark: where each ball's contact point is in every frame it rolls on the floor (no
    gravity), or where it lands (under gravity; marked from the frame after the floor hit). First touch wins."""
    T = positions.shape[0]
    touches: list[tuple[int, int, float, float]] = []  # (frame, ball, x, z)
    if gravity:
        touches = [(int(np.ceil(e.time)), e.balls[0], e.position[0], e.position[2])
                   for e in events if e.kind == "floor"]
        touches = [t for t in touches if t[0] < T]
    else:
        touches = [(f, k, positions[f, k, 0], positions[f, k, 2]) for f in range(T) for k in range(len(radii))]
    marked: dict[tuple[int, int], Effect] = {}
    for f, k, x, z in sorted(touches, key=lambda t: (t[0], t[1])):
        tile = tile_of(x, z)
        if tile not in marked:
            marked[tile] = Effect(f, int(k), tile)
    return list(marked.values())


def advance(p: np.ndarray, v: np.ndarray, acc: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Ballistic motion of every ball for time t (no events in between)."""
    return p + v * t + 0.5 * acc * t * t, v + acc * t


def next_event(p, v, r, A, g, mask, pairs=None) -> tuple[float, str, int, int, int]:
    """Earliest event from now: (time, kind, ball i, ball j or -1, wall axis or -1); time is inf if none.
    `pairs` = np.triu_indices(N, 1), passed in so the inner loop does not rebuild it."""
    best = (np.inf, "", -1, -1, -1)
    # Walls at x, z = +-(A - r): only the wall a ball moves toward.
    for axis in (0, 2):
        vel = v[:, axis]
        gap = np.where(vel > 0, (A - r) - p[:, axis], (-A + r) - p[:, axis])
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(vel != 0, gap / vel, np.inf)
        t = np.maximum(t, 0.0)
        k = int(np.argmin(t))
        if t[k] < best[0]:
            best = (float(t[k]), "wall", k, -1, axis)
    # Floor: y(t) = r. Under gravity the later root of -g/2 t^2 + vy t + h = 0 (h >= 0) is the next impact,
    # also right after a bounce (h = 0, vy > 0 gives t = 2 vy / g, not 0).
    h = np.maximum(p[:, 1] - r, 0.0)
    vy = v[:, 1]
    if g > 0:
        t = (vy + np.sqrt(vy * vy + 2 * g * h)) / g
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(vy < 0, h / -vy, np.inf)
    k = int(np.argmin(t))
    if t[k] < best[0]:
        best = (float(t[k]), "floor", k, -1, 1)
    # Ball pairs: relative motion is linear; solve |dp + dv t| = ri + rj for the first root while approaching.
    n = len(r)
    if n > 1:
        ii, jj = np.triu_indices(n, 1) if pairs is None else pairs
        dp = (p[jj] - p[ii]) * mask
        dv = (v[jj] - v[ii]) * mask
        a = np.einsum("kc,kc->k", dv, dv)
        b = 2 * np.einsum("kc,kc->k", dp, dv)
        c = np.einsum("kc,kc->k", dp, dp) - (r[ii] + r[jj]) ** 2
        disc = b * b - 4 * a * c
        ok = (b < 0) & (a > 0) & (disc >= 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(ok, (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a), np.inf)
        t = np.where(ok & (c <= 0), 0.0, t)  # already touching and approaching: collide now
        t = np.maximum(t, 0.0)
        k = int(np.argmin(t))
        if t[k] < best[0]:
            best = (float(t[k]), "collision", int(ii[k]), int(jj[k]), -1)
    return best


def resolve(p, v, r, A, mask, kind, i, j, axis):
    """Apply one event at the current time; returns new (p, v) and the event's world position."""
    p, v = p.copy(), v.copy()
    if kind == "wall":
        p[i, axis] = np.sign(v[i, axis]) * (A - r[i])  # snap to the wall it hit, so rounding never leaks out
        v[i, axis] = -v[i, axis]
        return p, v, p[i].copy()
    if kind == "floor":
        v[i, 1] = abs(v[i, 1])
        p[i, 1] = r[i]
        return p, v, p[i].copy()
    # Elastic two-body impulse along the line of centres, masses ~ r^2.
    d = (p[j] - p[i]) * mask
    nrm = d / np.linalg.norm(d)
    mi, mj = r[i] ** 2, r[j] ** 2
    closing = float(np.dot(v[i] - v[j], nrm))
    if closing > 0:
        jimp = 2 * mi * mj / (mi + mj) * closing
        v[i] -= jimp / mi * nrm
        v[j] += jimp / mj * nrm
    return p, v, p[i] + nrm * r[i]
