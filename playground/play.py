"""Playing the world model: a scene set up by clicking, rolled forward chunk by chunk by the model while the true
simulator runs the same scene and the same kicks beside it (the Play tab, `playground/ui/play.py`).

A Game is a value: every operation (`step`, `kick`, `branch`) returns a new Game and leaves its argument as it
was, so the app keeps it in a per-session `gr.State` and two players never share one. A game is deterministic in
its seed: chunk t's noise is drawn from a generator seeded by (seed, t), so stepping one chunk at a time or
several at once gives the same frames, and a branch from frame j with the same seed and no new kick replays the
game.

The model is given the last `context_frames` frames it made (the simulator's for the observed start) and the
kicks in that window, as pixel actions (what the person clicked); the truth gets the same kicks as world kicks
(`playground.world.actions`). A model without actions (a joint model) is still rolled forward, and told nothing
about kicks: `Game.model_hears_kicks` says which.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .world import PALETTE, Ball, Scene
from .world.actions import PixelAction, apply_pixel_action, floor_point, ground_direction, kick_to_pixel
from .world.camera import camera_path, intrinsics
from .world.clip import make_clip, render_scene
from .world.render import render
from .world.scene import MAX_KICKS

MAX_GAME_FRAMES = 160  # frames kept per game (model and truth); a longer game is refused with a message
MAX_BALLS_PLACED = 6
PLAY_GUIDANCE = 2.0  # the Play tab's default classifier-free guidance on the text


@dataclass(frozen=True)
class Game:
    """One game. `scene`: the world as set up plus the kicks given so far (world kicks), rendered for as many
    frames as the game has; `frames`: the model's video so far (T, H, W, 3), the first `observed` of them the
    simulator's; `actions`: the kicks as pixel actions on the game's timeline (what the model is told)."""

    scene: Scene
    frames: np.ndarray
    observed: int
    seed: int
    steps: int
    guidance: float
    prompt: str
    actions: tuple[PixelAction, ...] = ()
    events: tuple[str, ...] = field(default=())  # what happened, for the log beside the videos
    # the truth's frames rendered so far (a prefix of truth(); only the frames past it are rendered again)
    truth_frames: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    def truth(self) -> np.ndarray:
        """The simulator's frames for the whole game so far, the same kicks applied (make_clip's frames, without
        the ground truth a clip carries: the game needs only the pictures). Frames in `truth_frames` are not
        rendered again: a game that grows by a chunk renders that chunk."""
        T, have = self.num_frames, 0 if self.truth_frames is None else min(len(self.truth_frames), self.num_frames)
        if have == T:
            return self.truth_frames[:T]
        new = render_scene(replace(self.scene, n_frames=T), self.height, self.width, start=have)
        return np.concatenate([self.truth_frames[:have], new]) if have else new

    def with_truth(self) -> "Game":
        """The same game carrying its truth's frames (see `truth`)."""
        return replace(self, truth_frames=self.truth())


@functools.lru_cache(maxsize=8192)
def _parse_frame(data: bytes, height: int, width: int) -> tuple:
    from .probes.parser import parse_video

    return tuple(parse_video(np.frombuffer(data, np.uint8).reshape(1, height, width, 3))[0])


def parse_frames(frames: np.ndarray) -> list[list]:
    """parse_video's detections per frame, each frame parsed once (a frame's detections depend on it alone): the
    running scores re-read a growing game after every chunk, and only its new frames cost anything."""
    return [list(_parse_frame(f.tobytes(), f.shape[0], f.shape[1])) for f in np.ascontiguousarray(frames)]


def empty_floor(height: int, width: int, scene: Scene | None = None) -> np.ndarray:
    """Frame 0 of `scene` (default: an empty floor) as the editor shows it, balls or none."""
    scene = scene or Scene(balls=[])
    K = intrinsics(scene.camera.fov_deg, height, width)
    Rt = camera_path(scene.camera, 1, scene.dt)
    pos = np.array([[b.position for b in scene.balls]], dtype=float).reshape(1, len(scene.balls), 3)
    return render(replace(scene, n_frames=1), pos, K, Rt, height, width).frames[0]


def place_ball(scene: Scene, x: float, y: float, color: str, radius: float, height: int, width: int) -> Scene:
    """The scene with a ball of `color` and `radius` on the floor point under pixel (x, y) of frame 0 (under
    gravity, one diameter above it, so that it falls). Raises ValueError for a click off the floor, on top of
    another ball, or past the ball limit."""
    if color not in PALETTE:
        raise ValueError(f"ball colour must be one of {', '.join(PALETTE)}, got {color!r}")
    if not isinstance(radius, (int, float)) or not 0.05 <= float(radius) <= 0.35:
        raise ValueError(f"ball size must be a radius in [0.05, 0.35] world units, got {radius!r}")
    if len(scene.balls) >= MAX_BALLS_PLACED:
        raise ValueError(f"a scene holds at most {MAX_BALLS_PLACED} balls")
    p = floor_point(replace(scene, n_frames=1), 0, x, y, height, width)
    if p is None:
        raise ValueError(f"pixel ({x:.1f}, {y:.1f}) is not on the floor: click on the checkered floor")
    r = float(radius)
    A = scene.arena_half_size
    px, pz = (float(np.clip(v, -A + r, A - r)) for v in (p[0], p[2]))
    h = r + (2 * r if scene.gravity else 0.0)
    new = replace(scene, balls=[*scene.balls, Ball(color, r, (px, h, pz), (0.0, 0.0, 0.0))], n_frames=1)
    try:
        return new.validate()
    except ValueError as e:
        raise ValueError(f"no room for the ball there: {e}") from None


def aim_ball(scene: Scene, ball: int, x: float, y: float, speed: float, height: int, width: int) -> Scene:
    """The scene with ball `ball` moving at `speed` (world units/s, on the floor plane) toward the floor point
    under pixel (x, y) of frame 0 (a second click after placing it)."""
    if not 0 <= ball < len(scene.balls):
        raise ValueError("place a ball first, then click where it should roll to")
    if not isinstance(speed, (int, float)) or not 0 <= float(speed) <= 3.0:
        raise ValueError(f"speed must be in [0, 3] world units/s, got {speed!r}")
    d = ground_direction(replace(scene, n_frames=1), 0, scene.balls[ball].position, x, y, height, width)
    if d is None:
        raise ValueError(f"pixel ({x:.1f}, {y:.1f}) is not on the floor: click on the floor where the ball should go")
    b = scene.balls[ball]
    v = (float(speed) * d[0], b.velocity[1], float(speed) * d[1])
    balls = list(scene.balls)
    balls[ball] = replace(b, velocity=v)
    return replace(scene, balls=balls).validate()


def start(pipe, scene: Scene, observed: int = 4, seed: int = 0, steps: int | None = None,
          guidance: float = PLAY_GUIDANCE, height: int = 32, width: int = 32, prompt: str | None = None) -> Game:
    """A new game: the simulator renders the first `observed` frames of `scene` (its own kicks dropped: kicks come
    from the player), the model will continue from them. `prompt` None = the scene's rich caption."""
    if not scene.balls:
        raise ValueError("the scene is empty: place a ball on the floor first (or draw a scene)")
    if isinstance(observed, bool) or not isinstance(observed, int) or not 1 <= observed <= 8:
        raise ValueError(f"observed frames must be an integer in [1, 8], got {observed!r}")
    base = replace(scene, kicks=[], n_frames=observed).validate()
    clip = make_clip(base, height, width)
    steps = pipe.default_steps if steps is None else steps
    return Game(base, clip.frames.copy(), observed, int(seed), int(steps), float(guidance),
                clip.caption if prompt is None else prompt, events=(f"started: {observed} frames observed",),
                truth_frames=clip.frames.copy())


def chunk_size(pipe) -> int:
    return int(pipe.transformer.config.patch_size_t)


def context_size(pipe, game: Game) -> int:
    cfg = pipe.transformer.config
    return int(cfg.context_frames) if pipe.rolls_out else game.observed


def is_full(pipe, game: Game) -> bool:
    """True when another chunk would take the game past MAX_GAME_FRAMES."""
    return game.num_frames + chunk_size(pipe) > MAX_GAME_FRAMES


def check_room(pipe, game: Game) -> None:
    """Raise ValueError, saying what to do, when the game has no room for another chunk."""
    if is_full(pipe, game):
        raise ValueError(f"the game has {game.num_frames} frames, the most a game keeps is {MAX_GAME_FRAMES}: "
                         "branch from an earlier frame or start a new game")


def step(pipe, game: Game, chunks: int = 1, on_chunk=None) -> Game:
    """The game `chunks` chunks further: the model predicts each chunk from its last frames and the kicks in that
    window; the scene (truth) is extended to the same length. `on_chunk(game)` is called after every chunk."""
    if isinstance(chunks, bool) or not isinstance(chunks, int) or not 1 <= chunks <= 32:
        raise ValueError(f"chunks must be an integer in [1, 32], got {chunks!r}")
    check_room(pipe, game)
    for _ in range(chunks):
        if is_full(pipe, game):
            break
        game = _one_chunk(pipe, game)
        if on_chunk is not None:
            on_chunk(game)
    return game


def _one_chunk(pipe, game: Game) -> Game:
    T, c = game.num_frames, chunk_size(pipe)
    k = min(context_size(pipe, game), T)
    start_frame = T - k
    extra = {}
    if pipe.accepts_actions:
        extra["actions"] = [replace(a, frame=a.frame - start_frame) for a in game.actions
                            if start_frame <= a.frame < T + c]
    g = torch.Generator().manual_seed(game.seed * 1_000_003 + T)  # chunk noise depends on (seed, where), only
    out = pipe(game.prompt, observed_frames=game.frames[start_frame:], num_frames=k + c, height=game.height,
               width=game.width, num_inference_steps=game.steps, guidance_scale=game.guidance, generator=g,
               enrich_prompt=False, **extra)
    frames = np.concatenate([game.frames, out.frames[0][k:]])
    return replace(game, frames=frames, scene=replace(game.scene, n_frames=frames.shape[0])).with_truth()


def kick(game: Game, x: float, y: float, dx: float, dy: float, strength: float) -> tuple[Game, str]:
    """Kick whatever is at pixel (x, y) of the truth's last frame toward image direction (dx, dy): the truth gets
    the world kick, the model the pixel action. A click that hits no ball changes nothing and says what it hit."""
    if len(game.scene.kicks) >= MAX_KICKS:
        raise ValueError(f"a game takes at most {MAX_KICKS} kicks")
    f = game.num_frames - 1
    action = PixelAction(f, x, y, dx, dy, strength)
    scene, res = apply_pixel_action(game.scene, action, game.height, game.width)
    if res.kick is None:
        return replace(game, events=game.events + (f"frame {f}: {res.message}",)), res.message
    # the model is told the kick as a person would give it: at the ball's image in the truth's frame
    told = kick_to_pixel(scene, res.kick, game.height, game.width)
    msg = f"frame {f}: {res.message} ({scene.balls[res.ball].color})"
    kept = None if game.truth_frames is None else game.truth_frames[:f]  # the kick acts from frame f on
    return replace(game, scene=scene, actions=game.actions + (told,), events=game.events + (msg,),
                   truth_frames=kept), msg


def branch(game: Game, frame: int, seed: int | None = None) -> Game:
    """The game cut back to frames 0 .. `frame` (kicks after it dropped), optionally with another seed, to play
    on from there."""
    if isinstance(frame, bool) or not isinstance(frame, int) or not game.observed - 1 <= frame < game.num_frames:
        raise ValueError(f"branch frame must be an integer in [{game.observed - 1}, {game.num_frames - 1}], "
                         f"got {frame!r}")
    keep = frame + 1
    kicks = [kk for kk in game.scene.kicks if kk.frame < keep]
    actions = tuple(a for a in game.actions if a.frame < keep)
    scene = replace(game.scene, kicks=kicks, n_frames=keep)
    truth = None if game.truth_frames is None else game.truth_frames[:keep]  # kicks before `keep` stay: same frames
    return replace(game, scene=scene, frames=game.frames[:keep].copy(), actions=actions, truth_frames=truth,
                   seed=game.seed if seed is None else int(seed),
                   events=game.events + (f"branched at frame {frame}" + ("" if seed is None else f", seed {seed}"),))


def scores(game: Game, truth: np.ndarray | None = None) -> dict:
    """The running scores of this rollout against the truth: objects kept over the predicted frames (the right
    colours, as evaluate counts them), each ball's mean position error, and after each kick the kicked ball's
    velocity error and whether the model moved it the truth's way."""
    from .probes.parser import color_track

    truth = game.truth() if truth is None else truth
    k, T = game.observed, game.num_frames
    out: dict = {"frames": T, "predicted": T - k, "kicks": len(game.actions)}
    if T <= k:
        return out
    pm, pt = parse_frames(game.frames), parse_frames(truth)
    kept = [sorted(d.color for d in pm[t]) == sorted(d.color for d in pt[t]) for t in range(k, T)]
    out["objects_kept"] = round(float(np.mean(kept)), 3)
    def seen(track, t) -> bool:
        return bool(np.isfinite(track.centroids[t]).all())

    balls = {}
    for b in game.scene.balls:
        tm, tt = color_track(pm, b.color), color_track(pt, b.color)
        ok = [t for t in range(k, T) if seen(tm, t) and seen(tt, t)]
        err = [float(np.hypot(*(tm.centroids[t] - tt.centroids[t]))) for t in ok]
        balls[b.color] = {"position_err_px": round(float(np.mean(err)), 2) if err else None,
                          "frames_seen": f"{len(ok)}/{T - k}"}
    out["balls"] = balls
    responses = []
    for kk, a in zip(game.scene.kicks, game.actions):
        color = game.scene.balls[kk.ball].color
        tm, tt = color_track(pm, color), color_track(pt, color)
        f0, f1 = kk.frame, min(T - 1, kk.frame + 4)
        if f1 - f0 < 2 or not all(seen(tr, f) for tr in (tm, tt) for f in (f0, f1)):
            responses.append({"frame": kk.frame, "ball": color, "velocity_err_px": None})
            continue
        vm = (tm.centroids[f1] - tm.centroids[f0]) / (f1 - f0)
        vt = (tt.centroids[f1] - tt.centroids[f0]) / (f1 - f0)
        agree = float(np.dot(vm, vt)) / max(1e-6, float(np.linalg.norm(vm) * np.linalg.norm(vt)))
        responses.append({"frame": kk.frame, "ball": color,
                          "velocity_err_px": round(float(np.linalg.norm(vm - vt)), 2),
                          "same_direction": bool(agree > math.cos(math.radians(45)))})
    out["kick_response"] = responses
    return out
