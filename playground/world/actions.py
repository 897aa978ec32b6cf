"""Actions given the way a person gives them: "kick whatever is at pixel (x, y) of frame f, toward pixel direction
(dx, dy), with strength s" - and the mapping both ways between such a pixel action and a world kick, through the
scene's true camera.

pixel -> world: the pixel's ray is cast into the scene at frame f (balls where the simulator has them then,
occluders, floor); a ball hit first is kicked, anything else (floor, sky, an occluder in front) is an explicit
no-op that says what was hit. The pixel direction is read at the kicked ball's centre: the image line through the
centre's image along (dx, dy) is the image of one line on the horizontal plane through the ball's centre, and
that line's direction is the kick's (lines project to lines, so world -> pixel -> world is exact up to rounding). Strength is the horizontal velocity change in world units/s; under gravity a kick also
pops the ball up by POP x strength (the one vertical part a pixel action can say).

world -> pixel: the click point is the centroid of the ball's silhouette at frame f (what a person clicks and
what the object parser finds), the direction is the image of the kick's ground direction there.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from .camera import camera_centers, camera_path, intrinsics, project, sphere_ellipse
from .physics import simulate
from .render import ray_boxes, ray_spheres
from .scene import MAX_KICK_DV, MAX_KICKS, Kick, Scene, ball_mass

POP = 0.5  # under gravity: vertical velocity change per unit of horizontal strength


@dataclass
class PixelAction:
    """A kick as a person gives it: at frame `frame`, at pixel (x, y) (x = column, y = row, pixel (i, j) has its
    centre at (j + 0.5, i + 0.5)), toward image direction (dx, dy) (normalised here; (0, 0) = straight up when
    gravity is on, nothing otherwise), with `strength` = horizontal velocity change in world units/s."""

    frame: int
    x: float
    y: float
    dx: float
    dy: float
    strength: float

    def to_dict(self) -> dict:
        return {k: (float(v) if k != "frame" else int(v)) for k, v in asdict(self).items()}


@dataclass
class ActionResult:
    """What a pixel action did: `kick` (None when nothing was kicked) and what the click hit: "ball", "floor",
    "sky" or "occluder"; `ball` is the kicked ball's index (-1 for a no-op)."""

    kick: Kick | None
    hit: str
    ball: int = -1

    @property
    def message(self) -> str:
        if self.kick is not None:
            return f"kicked ball {self.ball}"
        return f"the click hit the {self.hit}, not a ball: nothing was kicked"


def validate_pixel_action(a: PixelAction, n_frames: int, height: int, width: int) -> PixelAction:
    """Raise ValueError naming the field, what was wrong and what is allowed; return the action with a unit
    direction."""
    f = a.frame
    if isinstance(f, bool) or not isinstance(f, (int, np.integer)) or not 0 <= f < n_frames:
        raise ValueError(f"action frame must be an integer in [0, {n_frames - 1}], got {f!r}")
    vals = {}
    for name in ("x", "y", "dx", "dy", "strength"):
        v = getattr(a, name)
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"action {name} must be a number, got {getattr(a, name)!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"action {name} must be finite, got {v!r}")
        vals[name] = v
    if not 0 <= vals["x"] <= width:
        raise ValueError(f"action x must be a pixel column in [0, {width}] (the image is {width} wide), got {vals['x']}")
    if not 0 <= vals["y"] <= height:
        raise ValueError(f"action y must be a pixel row in [0, {height}] (the image is {height} high), got {vals['y']}")
    if not 0 <= vals["strength"] <= MAX_KICK_DV:
        raise ValueError(f"action strength must be in [0, {MAX_KICK_DV}] world units/s, got {vals['strength']}")
    n = math.hypot(vals["dx"], vals["dy"])
    dx, dy = (vals["dx"] / n, vals["dy"] / n) if n > 1e-9 else (0.0, 0.0)
    return PixelAction(int(f), vals["x"], vals["y"], dx, dy, vals["strength"])


def _camera(scene: Scene, frame: int, height: int, width: int):
    K = intrinsics(scene.camera.fov_deg, height, width)
    Rt = camera_path(scene.camera, scene.n_frames, scene.dt)[frame: frame + 1]  # (1, 3, 4)
    return K, Rt


def _ray(K: np.ndarray, Rt: np.ndarray, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
    """Camera centre (3,) and unit world direction (3,) of the ray through pixel position (x, y)."""
    d_cam = np.array([(x - K[0, 2]) / K[0, 0], (y - K[1, 2]) / K[1, 1], 1.0])
    d = Rt[0, :, :3].T @ d_cam
    return camera_centers(Rt)[0], d / np.linalg.norm(d)


def floor_point(scene: Scene, frame: int, x: float, y: float, height: int, width: int) -> np.ndarray | None:
    """The floor point (3,) seen at pixel (x, y) of frame `frame`, or None when the pixel's ray misses the arena's
    floor (sky, or floor past the walls). Occluders and balls are not looked at: this places things."""
    K, Rt = _camera(scene, frame, height, width)
    o, d = _ray(K, Rt, float(x), float(y))
    if d[1] >= 0:
        return None
    p = o + (-o[1] / d[1]) * d
    A = scene.arena_half_size
    return p if abs(p[0]) <= A and abs(p[2]) <= A else None


def ground_direction(scene: Scene, frame: int, center, x: float, y: float, height: int,
                     width: int) -> tuple[float, float] | None:
    """Unit (dx, dz) on the floor from `center`'s foot toward the floor point at pixel (x, y), or None (off the
    floor, or the same point)."""
    p = floor_point(scene, frame, x, y, height, width)
    if p is None:
        return None
    v = np.array([p[0] - center[0], p[2] - center[2]])
    n = float(np.linalg.norm(v))
    return None if n < 1e-6 else (float(v[0] / n), float(v[1] / n))


def pixel_to_kick(scene: Scene, action: PixelAction, height: int, width: int,
                  positions: np.ndarray | None = None) -> ActionResult:
    """The world kick a pixel action means (see the module docstring), or a no-op saying what was hit.

    `positions` (T, N, 3): the balls' trajectories when already simulated (the scene's own kicks included);
    simulated here otherwise."""
    a = validate_pixel_action(action, scene.n_frames, height, width)
    pos = simulate(scene).positions if positions is None else positions
    K, Rt = _camera(scene, a.frame, height, width)
    o, d = _ray(K, Rt, a.x, a.y)
    radii = np.array([b.radius for b in scene.balls])
    t_ball = ray_spheres(o[None], d[None, None], pos[a.frame][None], radii)[0, 0]  # (N,)
    hits = {"ball": float(t_ball.min()) if len(t_ball) else np.inf}
    if scene.occluders:
        ctr = np.array([oc.center for oc in scene.occluders])
        half = np.array([oc.size for oc in scene.occluders]) / 2
        hits["occluder"] = float(ray_boxes(o[None], d[None, None], ctr - half, ctr + half)[0].min())
    t_floor = -o[1] / d[1] if d[1] < 0 else np.inf
    p_floor = o + t_floor * d if np.isfinite(t_floor) else None
    A = scene.arena_half_size
    if p_floor is not None and abs(p_floor[0]) <= A and abs(p_floor[2]) <= A:
        hits["floor"] = t_floor
    what = min(hits, key=hits.get)
    if not np.isfinite(hits[what]):
        return ActionResult(None, "sky")
    if what != "ball":
        return ActionResult(None, what)
    k = int(np.argmin(t_ball))
    return ActionResult(world_kick(scene, k, a, K, Rt, pos[a.frame, k]), "ball", k)


def world_kick(scene: Scene, ball: int, a: PixelAction, K: np.ndarray, Rt: np.ndarray, center: np.ndarray) -> Kick:
    """The kick of ball `ball` (centre `center` at the action's frame) for a validated pixel action."""
    m = ball_mass(scene.balls[ball].radius)
    dv = np.zeros(3)
    if a.dx or a.dy:
        uv, _ = project(center[None, None], K, Rt)
        for sign in (1.0, -1.0):  # one image pixel along (dx, dy), or against it if that crosses the horizon
            o, d = _ray(K, Rt, uv[0, 0, 0] + sign * a.dx, uv[0, 0, 1] + sign * a.dy)
            t = (center[1] - o[1]) / d[1] if abs(d[1]) > 1e-12 else -1.0
            if t > 0:
                g = (o + t * d - center) * np.array([sign, 0.0, sign])  # on the plane through the centre
                n = np.linalg.norm(g)
                if n > 1e-12:
                    dv = a.strength * g / n
                break
    if scene.gravity:
        dv[1] = POP * a.strength
    return Kick(int(a.frame), int(ball), tuple(float(x) for x in m * dv))


def kick_to_pixel(scene: Scene, kick: Kick, height: int, width: int,
                  positions: np.ndarray | None = None) -> PixelAction:
    """The pixel action that says `kick`: its ball's silhouette centroid at the kick's frame, the image direction
    of its horizontal impulse, and its horizontal velocity change as the strength (the vertical part is implied:
    POP x strength under gravity, 0 otherwise)."""
    pos = simulate(scene).positions if positions is None else positions
    K, Rt = _camera(scene, kick.frame, height, width)
    p = pos[kick.frame, kick.ball]
    r = np.array([scene.balls[kick.ball].radius])
    c, _, _ = sphere_ellipse(p[None, None], r, K, Rt)
    dv = np.asarray(kick.impulse, dtype=np.float64) / ball_mass(scene.balls[kick.ball].radius)
    h = dv * np.array([1.0, 0.0, 1.0])
    strength = float(np.linalg.norm(h))
    dx = dy = 0.0
    if strength > 1e-12:
        eps = 1e-3
        uv, _ = project(np.stack([p, p + eps * h / strength])[None], K, Rt)
        step = uv[0, 1] - uv[0, 0]
        n = float(np.linalg.norm(step))
        if n > 1e-12:
            dx, dy = (step / n).tolist()
    return PixelAction(int(kick.frame), float(c[0, 0, 0]), float(c[0, 0, 1]), dx, dy, strength)


def apply_pixel_action(scene: Scene, action: PixelAction, height: int, width: int) -> tuple[Scene, ActionResult]:
    """The scene with the action's kick added (a no-op leaves it as it was) and what the action did."""
    res = pixel_to_kick(scene, action, height, width)
    if res.kick is None:
        return scene, res
    if len(scene.kicks) >= MAX_KICKS:
        raise ValueError(f"a scene holds at most {MAX_KICKS} kicks; this one has {len(scene.kicks)} already")
    return replace(scene, kicks=list(scene.kicks) + [res.kick]).validate(), res
