"""Scene description: the balls, occluders and camera of one clip, with validation and a JSON round trip.

World coordinates: y is up, the floor is the plane y = 0, the arena is x, z in [-A, A] with invisible elastic
walls. Without gravity the balls roll on the floor (y = radius, vy = 0); with gravity they bounce on it.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import asdict, dataclass, field, fields

# Saturated, well-separated colours, so that a colour mask finds each ball (the probes' object parser).
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (230, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 90, 240),
    "yellow": (240, 220, 40),
    "magenta": (220, 50, 220),
    "cyan": (40, 220, 230),
    "orange": (250, 140, 20),
    "white": (245, 245, 245),
}
# Occluders use colours outside the ball palette (and lighter than the floor's greys).
OCCLUDER_PALETTE: dict[str, tuple[int, int, int]] = {
    "grey": (175, 172, 165),
    "brown": (150, 110, 70),
}
CAMERA_MOTIONS = ("static", "orbit", "pan", "look")

MAX_BALLS = 6
MAX_OCCLUDERS = 3
MAX_FRAMES = 512
MAX_RADIUS = 0.5
MAX_SPEED = 20.0  # world units/s: the arena is 2 wide, so faster balls cross it between two frames
TILE = 0.5  # floor tile size, world units: the checkerboard's squares and the cells the paint effect marks
MAX_KICKS = 16
MAX_KICK_DV = 4.0  # world units/s: the largest velocity change one kick may give a ball
_TOL = 1e-6  # slack for positions that sit exactly on a boundary (the floor, a wall, a touching ball)


@dataclass
class Ball:
    """A coloured sphere; mass is proportional to radius**2 (a disc's area, as the collision probe assumes)."""

    color: str
    radius: float
    position: tuple[float, float, float]
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass
class Kick:
    """An action: at frame `frame` ball `ball` receives `impulse` (world units, mass x velocity), so its velocity
    changes by impulse / mass (mass = radius**2, see ball_mass). Horizontal without gravity (balls roll on the
    floor); under gravity the vertical part may only pop the ball up (iy >= 0)."""

    frame: int
    ball: int
    impulse: tuple[float, float, float]


def ball_mass(radius: float) -> float:
    """A ball's mass: proportional to radius**2 (a disc's area, as the collisions and the collision probe assume)."""
    return float(radius) ** 2


@dataclass
class Occluder:
    """An axis-aligned box standing on the floor (center y = size y / 2); balls pass through it, it only hides."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]
    color: str = "grey"


@dataclass
class CameraSpec:
    """Where the camera is and how it moves.

    static: at yaw `yaw0` (0 = on the +z side, looking toward -z), `distance` from `look_at` horizontally,
    `height` above the floor, looking at `look_at`. orbit: yaw = yaw0 + yaw_speed * t (rad/s) at fixed
    distance and height. pan: the static pose translated along the camera's right axis by pan_speed * t.
    `fov_deg` spans the shorter image side.
    """

    motion: str = "static"
    fov_deg: float = 55.0
    distance: float = 1.6
    height: float = 1.3
    yaw0: float = 0.0
    yaw_speed: float = 0.0
    pan_speed: float = 0.0
    look_at: tuple[float, float, float] = (0.0, 0.0, 0.0)
    sway_period: float = 0.0


@dataclass
class Scene:
    """Everything needed to simulate and render one clip; frame f shows time f * dt."""

    balls: list[Ball]
    gravity: bool = False
    g: float = 3.0
    occluders: list[Occluder] = field(default_factory=list)
    camera: CameraSpec = field(default_factory=CameraSpec)
    arena_half_size: float = 1.0
    n_frames: int = 16
    dt: float = 0.1
    seed: int = 0
    metadata: dict = field(default_factory=dict)
    kicks: list[Kick] = field(default_factory=list)
    paint: bool = False  # the persistent effect: floor tiles a ball touches take the mark colour and keep it

    # ------------------------------------------------------------------ validation
    def validate(self) -> "Scene":
        """Raise ValueError naming what is wrong and what is allowed; return self when the scene is valid."""
        if not isinstance(self.gravity, bool):
            raise ValueError(f"gravity must be true or false, got {self.gravity!r}")
        A = _finite("arena_half_size", self.arena_half_size)
        if not 0.1 <= A <= 10.0:
            raise ValueError(f"arena_half_size must be in [0.1, 10], got {A}")
        n = self.n_frames
        if not isinstance(n, (int,)) or isinstance(n, bool) or not 1 <= n <= MAX_FRAMES:
            raise ValueError(f"n_frames must be an integer in [1, {MAX_FRAMES}], got {n!r}")
        dt = _finite("dt", self.dt)
        if not 0 < dt <= 1.0:
            raise ValueError(f"dt must be in (0, 1] seconds, got {dt}")
        g = _finite("g", self.g)
        if not 0 <= g <= 50.0:
            raise ValueError(f"g must be in [0, 50], got {g}")
        if not 1 <= len(self.balls) <= MAX_BALLS:
            raise ValueError(f"a scene holds 1 to {MAX_BALLS} balls, got {len(self.balls)}")
        if len(self.occluders) > MAX_OCCLUDERS:
            raise ValueError(f"a scene holds at most {MAX_OCCLUDERS} occluders, got {len(self.occluders)}")
        for k, b in enumerate(self.balls):
            self._validate_ball(k, b, A)
        for i in range(len(self.balls)):
            for j in range(i + 1, len(self.balls)):
                bi, bj = self.balls[i], self.balls[j]
                d = math.dist(_contact_space(bi.position, self.gravity), _contact_space(bj.position, self.gravity))
                if d < bi.radius + bj.radius - _TOL:
                    raise ValueError(
                        f"ball {i} ({bi.color}) and ball {j} ({bj.color}) intersect: centres {d:.3f} apart, "
                        f"radii sum to {bi.radius + bj.radius:.3f}; move them apart"
                    )
        for k, o in enumerate(self.occluders):
            self._validate_occluder(k, o)
        self._validate_camera(self.camera)
        if not isinstance(self.paint, bool):
            raise ValueError(f"paint must be true or false, got {self.paint!r}")
        if not isinstance(self.kicks, list) or len(self.kicks) > MAX_KICKS:
            n = len(self.kicks) if isinstance(self.kicks, list) else self.kicks
            raise ValueError(f"a scene holds a list of at most {MAX_KICKS} kicks, got {n!r}")
        for k, kick in enumerate(self.kicks):
            self._validate_kick(k, kick)
        return self

    def _validate_kick(self, k: int, kick: Kick) -> None:
        f, b = kick.frame, kick.ball
        if not isinstance(f, int) or isinstance(f, bool) or not 0 <= f < self.n_frames:
            raise ValueError(f"kick {k}: frame must be an integer in [0, {self.n_frames - 1}] (the scene has "
                             f"{self.n_frames} frames), got {f!r}")
        if not isinstance(b, int) or isinstance(b, bool) or not 0 <= b < len(self.balls):
            raise ValueError(f"kick {k}: ball must be the index of a ball in the scene, an integer in "
                             f"[0, {len(self.balls) - 1}], got {b!r}")
        ix, iy, iz = _vec3(f"kick {k} impulse", kick.impulse)
        m = ball_mass(self.balls[b].radius)
        dv = math.sqrt(ix * ix + iy * iy + iz * iz) / m
        if dv > MAX_KICK_DV:
            raise ValueError(f"kick {k}: the impulse would change ball {b}'s velocity by {dv:.3g} units/s; at most "
                             f"{MAX_KICK_DV} (impulse = mass x velocity change, mass = radius^2 = {m:.4g})")
        if not self.gravity and abs(iy) > _TOL:
            raise ValueError(f"kick {k}: without gravity balls roll on the floor, so the impulse's y must be 0, "
                             f"got {iy}")
        if self.gravity and iy < 0:
            raise ValueError(f"kick {k}: a kick may pop a ball up (impulse y >= 0), not push it into the floor; "
                             f"got {iy}")

    def _validate_ball(self, k: int, b: Ball, A: float) -> None:
        if b.color not in PALETTE:
            raise ValueError(f"ball {k}: unknown colour {b.color!r}; allowed: {', '.join(PALETTE)}")
        r = _finite(f"ball {k} radius", b.radius)
        if not 0 < r <= MAX_RADIUS:
            raise ValueError(f"ball {k}: radius must be in (0, {MAX_RADIUS}], got {r}")
        x, y, z = _vec3(f"ball {k} position", b.position)
        vx, vy, vz = _vec3(f"ball {k} velocity", b.velocity)
        if math.sqrt(vx * vx + vy * vy + vz * vz) > MAX_SPEED:
            raise ValueError(f"ball {k} ({b.color}): speed must be at most {MAX_SPEED} units/s, got velocity "
                             f"{(vx, vy, vz)}")
        if abs(x) + r > A + _TOL or abs(z) + r > A + _TOL:
            raise ValueError(
                f"ball {k} ({b.color}) is outside the arena: x={x:.3f}, z={z:.3f} with radius {r:.3f} must "
                f"satisfy |x| + radius <= {A} and |z| + radius <= {A}"
            )
        if y - r < -_TOL:
            raise ValueError(f"ball {k} ({b.color}) is below the floor: y={y:.3f} must be >= its radius {r:.3f}")
        if not self.gravity:
            if abs(y - r) > _TOL or abs(vy) > _TOL:
                raise ValueError(
                    f"ball {k} ({b.color}): without gravity balls roll on the floor, so y must equal the radius "
                    f"({r}) and vy must be 0; got y={y}, vy={vy}"
                )
        else:
            if y > 4 * A:
                raise ValueError(f"ball {k} ({b.color}): y={y:.3f} is too high; at most {4 * A}")
            if y - r < _TOL and vy <= _TOL:
                raise ValueError(
                    f"ball {k} ({b.color}) rests on the floor under gravity; start it above the floor "
                    f"(y > radius) or moving up (vy > 0)"
                )

    def _validate_occluder(self, k: int, o: Occluder) -> None:
        if o.color not in OCCLUDER_PALETTE:
            raise ValueError(f"occluder {k}: unknown colour {o.color!r}; allowed: {', '.join(OCCLUDER_PALETTE)}")
        cx, cy, cz = _vec3(f"occluder {k} center", o.center)
        sx, sy, sz = _vec3(f"occluder {k} size", o.size)
        if min(sx, sy, sz) <= 0:
            raise ValueError(f"occluder {k}: every size must be > 0, got {(sx, sy, sz)}")
        if abs(cy - sy / 2) > _TOL:
            raise ValueError(f"occluder {k} must stand on the floor: center y must be size y / 2 = {sy / 2}, got {cy}")

    def _validate_camera(self, c: CameraSpec) -> None:
        if c.motion not in CAMERA_MOTIONS:
            raise ValueError(f"camera motion {c.motion!r} unknown; allowed: {', '.join(CAMERA_MOTIONS)}")
        fov = _finite("camera fov_deg", c.fov_deg)
        if not 10 <= fov <= 120:
            raise ValueError(f"camera fov_deg must be in [10, 120], got {fov}")
        if not 0.5 <= _finite("camera distance", c.distance) <= 20:
            raise ValueError(f"camera distance must be in [0.5, 20], got {c.distance}")
        if not 0.05 <= _finite("camera height", c.height) <= 20:
            raise ValueError(f"camera height must be in [0.05, 20], got {c.height}")
        for name in ("yaw0", "yaw_speed", "pan_speed"):
            if abs(_finite(f"camera {name}", getattr(c, name))) > 10:
                raise ValueError(f"camera {name} must be in [-10, 10], got {getattr(c, name)}")
        _vec3("camera look_at", c.look_at)
        sway = _finite("camera sway_period", c.sway_period)
        if sway != 0 and not 0.2 <= sway <= 60:
            raise ValueError(f"camera sway_period must be 0 (no sway) or in [0.2, 60] seconds, got {sway}")

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        """Plain-JSON dict (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: dict) -> "Scene":
        """Inverse of to_dict; unknown keys raise ValueError, the result is validated."""
        if not isinstance(d, dict):
            raise ValueError(f"scene: must be an object with a 'balls' list, got {type(d).__name__}")
        check_scene_dict(d)
        d = dict(d)
        try:
            balls = [Ball(b["color"], b["radius"], tuple(b["position"]), tuple(b.get("velocity", (0, 0, 0))))
                     for b in d.pop("balls")]
            occ = [Occluder(tuple(o["center"]), tuple(o["size"]), o.get("color", "grey")) for o in d.pop("occluders", [])]
            cam = d.pop("camera", None)
            camera = CameraSpec(**{**cam, "look_at": tuple(cam.get("look_at", (0, 0, 0)))}) if cam else CameraSpec()
            kicks = [Kick(kk["frame"], kk["ball"], tuple(kk["impulse"])) for kk in d.pop("kicks", [])]
            scene = cls(balls=balls, occluders=occ, camera=camera, kicks=kicks, **d)
        except (KeyError, TypeError, AttributeError) as e:  # a shape check_scene_dict did not foresee
            raise ValueError(f"scene: could not read it ({type(e).__name__}: {e}); compare with a drawn scene") from None
        return scene.validate()

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "Scene":
        return cls.from_dict(json.loads(text))


BALL_KEYS = {"color": "a colour name", "radius": "a number", "position": "[x, y, z]",
             "velocity": "[vx, vy, vz], optional"}
PARTS = {"occluders": {"center": "[x, y, z]", "size": "[sx, sy, sz]", "color": "optional"},
         "kicks": {"frame": "a frame index", "ball": "a ball index", "impulse": "[ix, iy, iz]"}}


def check_scene_dict(d: dict) -> None:
    """The scene JSON's shape, checked before the simulator reads it, so that a missing or unknown key is named
    with what is allowed (instead of KeyError: 'position' or an unexpected keyword argument)."""
    allowed = {f.name for f in fields(Scene)}
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise ValueError(f"scene: unknown key {', '.join(map(repr, unknown))}; allowed keys: "
                         f"{', '.join(sorted(allowed - {'n_frames'}))}")
    balls = d.get("balls")
    if not isinstance(balls, list) or not balls:
        raise ValueError("scene: 'balls' must be a non-empty list of balls, each with "
                         + ", ".join(f"{k} ({v})" for k, v in BALL_KEYS.items()))
    for i, b in enumerate(balls):
        where = f"scene: balls[{i}]"
        if not isinstance(b, dict):
            raise ValueError(f"{where} must be an object with {', '.join(BALL_KEYS)}")
        missing = [k for k in BALL_KEYS if k not in b and k != "velocity"]
        if missing:
            raise ValueError(f"{where} has no {', '.join(map(repr, missing))}; every ball needs "
                             + ", ".join(f"{k} ({v})" for k, v in BALL_KEYS.items()))
        extra = sorted(set(b) - set(BALL_KEYS))
        if extra:
            raise ValueError(f"{where} has unknown key {', '.join(map(repr, extra))}; allowed: {', '.join(BALL_KEYS)}")
        if b["color"] not in PALETTE:
            raise ValueError(f"{where}.color must be one of {', '.join(PALETTE)}, got {b['color']!r}")
        for k in ("position", "velocity"):
            if k not in b:
                continue
            v = b[k]
            if not (isinstance(v, list) and len(v) == 3 and all(_is_number(x) for x in v)):
                raise ValueError(f"{where}.{k} must be a list of 3 numbers [x, y, z], got {v!r}")
        if not _is_number(b["radius"]) or b["radius"] <= 0:
            raise ValueError(f"{where}.radius must be a positive number, got {b['radius']!r}")
    for part, keys in PARTS.items():
        items = d.get(part, [])
        if not isinstance(items, list):
            raise ValueError(f"scene: {part!r} must be a list (it may be empty)")
        for i, o in enumerate(items):
            need = ", ".join(f"{k} ({v})" for k, v in keys.items())
            if not isinstance(o, dict):
                raise ValueError(f"scene: {part}[{i}] must be an object with {need}")
            missing = [k for k, v in keys.items() if k not in o and v != "optional"]
            extra = sorted(set(o) - set(keys))
            if missing or extra:
                what = (f"has no {', '.join(map(repr, missing))}" if missing
                        else f"has unknown key {', '.join(map(repr, extra))}")
                raise ValueError(f"scene: {part}[{i}] {what}; allowed: {need}")
    cam = d.get("camera")
    if cam is not None:
        cam_keys = {f.name for f in fields(CameraSpec)}
        if not isinstance(cam, dict):
            raise ValueError(f"scene: 'camera' must be an object with keys among {', '.join(sorted(cam_keys))}")
        extra = sorted(set(cam) - cam_keys)
        if extra:
            raise ValueError(f"scene: camera has unknown key {', '.join(map(repr, extra))}; allowed: "
                             f"{', '.join(sorted(cam_keys))}")


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _contact_space(p, gravity: bool) -> tuple:
    """Balls rolling on the floor touch in the x,z plane (see physics.simulate); under gravity, in 3-D."""
    return tuple(p) if gravity else (p[0], p[2])


def _finite(name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):  # no "1.5" strings, no true/false
        raise ValueError(f"{name} must be a number, got {v!r}")
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return f


def _vec3(name: str, v) -> tuple[float, float, float]:
    try:
        n = len(v)
    except TypeError:
        n = -1
    if n != 3:
        raise ValueError(f"{name} must have 3 numbers (x, y, z), got {v!r}")
    return tuple(_finite(name, x) for x in v)
