"""Play tab: set up a scene by clicking on the floor, start, and roll the world model forward chunk by chunk with
the true simulator beside it; click a ball to kick it. Every action is a named API endpoint (play_scene,
play_place, play_aim, play_start, play_step, play_kick, play_branch, play_reset); a session's game lives in its
own gr.State (a `Session` holding the current playground.play.Game, a value).

A Play streams for seconds, and a person acts while it does: a kick given mid-Play lands on the game's last frame
(the one shown, or the chunk being made when it came) and the stream goes on from the kicked game; Start, Branch
or Reset mid-Play end the stream, which never writes its older game over theirs."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field, replace

import numpy as np
import gradio as gr

from .. import play
from ..world import FAMILIES, PALETTE, Scene, sample_scene
from ..world.scene import CAMERA_MOTIONS, Occluder
from ..video import write_mp4
from ..viz.frames import hstack_videos, upscale
from .events import action, quiet
from .inputs import as_bool, as_float, as_int
from .session import MODEL, AppContext

SCALE = 8  # the editor and the live views show frames at 8x
EMPTY = "empty floor"
MODES = ("place a ball", "aim the last ball", "kick")


@dataclass
class Session:
    """One player's game, shared by the events of their session: `game` the current Game (None before Start);
    `epoch` counts new games (Start, Branch, Reset), so that a running Play knows when its game was replaced.
    Every read and write of the two holds `lock`."""

    game: play.Game | None = None
    epoch: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def replace_game(self, game: play.Game | None) -> "Session":
        with self.lock:
            self.game, self.epoch = game, self.epoch + 1
        return self

    def advance(self, pipe, epoch: int) -> bool:
        """One chunk onto the current game, unless a new game replaced the one of `epoch` (returns False). Holds the
        lock while the chunk is made: a kick that comes meanwhile lands on the game with that chunk."""
        with self.lock:
            if self.epoch != epoch or self.game is None:
                return False
            self.game = play.step(pipe, self.game, 1)
            return True


def scene_json(scene: Scene) -> str:
    return json.dumps(replace(scene, n_frames=1).to_dict(), indent=1)


def read_scene(text: str) -> Scene:
    """The editor's scene JSON. An empty 'balls' list is allowed (the floor before the first click): the rest of
    the scene is validated with a stand-in ball, since a scene to simulate needs one, and the ball is dropped."""
    from .worldsim import parse_scene

    if text is not None and not isinstance(text, str):
        raise ValueError(f"the scene must be JSON text, got {type(text).__name__}")
    try:
        d = json.loads(text) if text and text.strip() else None
    except json.JSONDecodeError as e:
        raise ValueError(f"the scene is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    if isinstance(d, dict) and d.get("balls") == []:
        stand_in = {"color": "red", "radius": 0.1, "position": [0.0, 0.3 if d.get("gravity") else 0.1, 0.0]}
        return replace(parse_scene(json.dumps({**d, "balls": [stand_in]}), 1), balls=[])
    return parse_scene(text, 1)


def editor_image(scene: Scene, height: int, width: int) -> np.ndarray:
    return upscale(play.empty_floor(height, width, scene)[None], SCALE)[0]


def live_views(game: play.Game, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The last frame of the model and of the truth, side by side (model | truth), and the truth's alone (where a
    kick is clicked)."""
    side = hstack_videos(upscale(game.frames[-1:], SCALE), upscale(truth[-1:], SCALE), gap=8)[0]
    return side, upscale(truth[-1:], SCALE)[0]


def build(ctx: AppContext, result: gr.State) -> dict:
    d = ctx.pipe.defaults
    H, W = d["height"], d["width"]
    first = replace(sample_scene("interaction", "train", np.random.default_rng(0), 16), n_frames=1, kicks=[])
    game_state = gr.State(None)  # a Session, made by the first Start
    hears = ("the model is told each kick (an action model)" if ctx.pipe.accepts_actions else
             "this model takes no actions: it is not told about kicks, only the truth is")
    gr.Markdown("Set up a world by clicking on the floor (or draw one), **Start**, then **Step** or **Play**: the "
                "world model rolls the world forward chunk by chunk, the true simulator runs beside it. In *kick* "
                f"mode a click on a ball in the truth view kicks it ({hears}).")
    with gr.Row():
        with gr.Column(scale=2):
            with gr.Row():
                family = gr.Dropdown([EMPTY, *FAMILIES], value="interaction", label="Start from")
                scene_seed = gr.Number(value=0, precision=0, label="Scene seed", minimum=0, maximum=2**31 - 1)
                new_scene = gr.Button("New scene", elem_id="play-new-scene")
            mode = gr.Radio(list(MODES), value=MODES[0], label="A click on the image", elem_id="play-mode")
            editor = gr.Image(editor_image(first, H, W), label="Click: place a ball / aim it / kick", format="png",
                              interactive=False, elem_id="play-editor")
            with gr.Row():
                color = gr.Dropdown(list(PALETTE), value="red", label="Ball colour")
                size = gr.Slider(0.08, 0.3, value=0.16, step=0.01, label="Ball size (radius)")
                speed = gr.Slider(0.0, 2.0, value=0.8, step=0.05, label="Speed when aimed", elem_id="play-speed")
            with gr.Row():
                gravity = gr.Checkbox(value=first.gravity, label="Gravity")
                occluder = gr.Checkbox(value=bool(first.occluders), label="Occluder")
                camera = gr.Dropdown(list(CAMERA_MOTIONS), value=first.camera.motion, label="Camera motion")
            with gr.Row():
                x = gr.Number(value=None, label="click x (px)", elem_id="play-x")
                y = gr.Number(value=None, label="click y (px)", elem_id="play-y")
            edit_status = gr.Markdown("", elem_id="play-edit-status")
            with gr.Accordion("Scene JSON (advanced)", open=False):
                scene_box = gr.Code(scene_json(first), language="json", lines=12, max_lines=24, elem_id="play-scene")
        with gr.Column(scale=3):
            with gr.Row():
                observed = gr.Slider(1, 8, value=4, step=1, label="Observed frames")
                seed = gr.Number(value=0, precision=0, label="Seed", minimum=0, maximum=2**31 - 1)
                steps = gr.Slider(1, 20, value=ctx.pipe.default_steps, step=1, label="Steps per chunk")
                guidance = gr.Slider(0.0, 5.0, value=play.PLAY_GUIDANCE, step=0.1, label="Guidance")
            with gr.Row():
                start_btn = gr.Button("Start", variant="primary", elem_id="play-start")
                step_btn = gr.Button("Step (one chunk)", elem_id="play-step")
                chunks = gr.Slider(1, 32, value=8, step=1, label="Chunks per Play", elem_id="play-chunks")
                play_btn = gr.Button("Play", elem_id="play-play")
                reset_btn = gr.Button("Reset", elem_id="play-reset")
            live = gr.Image(label="model | truth (last frame)", format="png", interactive=False, elem_id="play-live")
            with gr.Row():
                angle = gr.Slider(-180, 180, value=0, step=5, label="Kick direction (degrees, 0 = right, 90 = up)",
                                  elem_id="play-kick-angle")
                strength = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="Kick strength (world units/s)")
            truth_view = gr.Image(label="truth (kick mode: click a ball here)", format="png", interactive=False,
                                  elem_id="play-truth")
            status = gr.Markdown("", elem_id="play-status")
            video = gr.Video(label="the game so far: model | truth", autoplay=True, loop=True, interactive=False,
                             elem_id="play-video")
            with gr.Row():
                branch_frame = gr.Number(value=3, precision=0, label="Branch at frame", minimum=0)
                branch_seed = gr.Number(value=1, precision=0, label="Branch seed", minimum=0, maximum=2**31 - 1)
                branch_btn = gr.Button("Branch", elem_id="play-branch")
            scores = gr.JSON(label="This rollout against the truth", elem_id="play-scores")

    # ------------------------------------------------------------------ the scene editor
    def with_controls(scene: Scene, grav, occ, cam) -> Scene:
        """The scene as the controls say: gravity, an occluder (the scene's own, or one across the middle), the
        camera motion; kicks come from the player."""
        occs = (scene.occluders or [Occluder((0.0, 0.25, -0.1), (0.7, 0.5, 0.12))]) if as_bool("occluder", occ) else []
        if cam not in CAMERA_MOTIONS:
            raise ValueError(f"camera motion must be one of {', '.join(CAMERA_MOTIONS)}, got {cam!r}")
        grav = as_bool("gravity", grav)
        balls = scene.balls
        if grav != scene.gravity:  # balls stand on the floor without gravity and start above it with it
            balls = [replace(b, position=(b.position[0], b.radius * (3 if grav else 1), b.position[2]),
                             velocity=(b.velocity[0], 0.0, b.velocity[2])) for b in balls]
        cam_spec = replace(scene.camera, motion=cam)
        return replace(scene, gravity=grav, occluders=occs, camera=cam_spec, balls=balls, kicks=[], n_frames=1)

    def new_scene_fn(fam, s):
        s = as_int("scene seed", s, 0, 2**31 - 1)
        if fam == EMPTY:
            scene = Scene(balls=[])
        elif fam in FAMILIES:
            scene = replace(sample_scene(fam, "train", np.random.default_rng(s), 16), n_frames=1)
        else:
            raise ValueError(f"start from must be {EMPTY!r} or one of {', '.join(FAMILIES)}, got {fam!r}")
        return (scene_json(scene), editor_image(scene, H, W), scene.gravity, bool(scene.occluders),
                scene.camera.motion, f"{len(scene.balls)} balls.")

    action([new_scene.click], new_scene_fn, [family, scene_seed], [scene_box, editor, gravity, occluder, camera],
           edit_status, "play_scene")

    def place_fn(text, px, py, col, radius, grav, occ, cam):
        scene = with_controls(read_scene(text), grav, occ, cam)
        px, py = as_float("click x", px, 0, W), as_float("click y", py, 0, H)
        scene = play.place_ball(scene, px, py, col, as_float("ball size", radius, 0.05, 0.35), H, W)
        return scene_json(scene), editor_image(scene, H, W), f"Placed a {col} ball ({len(scene.balls)} in all)."

    action([], place_fn, [scene_box, x, y, color, size, gravity, occluder, camera], [scene_box, editor], edit_status,
           "play_place")

    def aim_fn(text, px, py, v, grav, occ, cam):
        scene = with_controls(read_scene(text), grav, occ, cam)
        px, py = as_float("click x", px, 0, W), as_float("click y", py, 0, H)
        scene = play.aim_ball(scene, len(scene.balls) - 1, px, py, as_float("speed", v, 0, 3), H, W)
        return scene_json(scene), editor_image(scene, H, W), f"The {scene.balls[-1].color} ball rolls at {v}."

    action([], aim_fn, [scene_box, x, y, speed, gravity, occluder, camera], [scene_box, editor], edit_status,
           "play_aim")

    def controls_fn(text, grav, occ, cam):
        scene = with_controls(read_scene(text), grav, occ, cam)
        return scene_json(scene), editor_image(scene, H, W), ""

    for ctl in (gravity, occluder, camera):
        ctl.input(quiet(controls_fn, 3), [scene_box, gravity, occluder, camera], [scene_box, editor, edit_status],
                  api_visibility="private")

    # ------------------------------------------------------------------ the game
    def game_outputs(session: Session, note: str, with_video: bool = True):
        game = session.game
        truth = game.truth()
        side, truth_img = live_views(game, truth)
        path = None
        if with_video:
            both = hstack_videos(upscale(game.frames, 4), upscale(truth, 4), gap=4)
            path = str(write_mp4(both, ctx.new_path(".mp4"), upscale_to=128))
        return session, side, truth_img, path if with_video else gr.skip(), play.scores(game, truth), note

    def start_fn(session, text, k, s, n_steps, g, grav, occ, cam):
        scene = with_controls(read_scene(text), grav, occ, cam)
        game = play.start(ctx.pipe, scene, as_int("observed frames", k, 1, 8), as_int("seed", s, 0, 2**31 - 1),
                          ctx.pipe.default_steps if n_steps is None else as_int("steps per chunk", n_steps, 1, 20),
                          as_float("guidance", g, 0, 5), H, W)
        session = (session or Session()).replace_game(game)
        return game_outputs(session, f"Started: {game.observed} frames from the simulator. Step or Play.")

    outs = [game_state, live, truth_view, video, scores]
    action([start_btn.click], start_fn,
           [game_state, scene_box, observed, seed, steps, guidance, gravity, occluder, camera], outs,
           status, "play_start", concurrency_id=MODEL, concurrency_limit=ctx.concurrency_limit)

    def need(session) -> Session:
        if session is None or session.game is None:
            raise ValueError("no game yet: press Start first")
        return session

    def step_fn(session, n):
        session = need(session)
        n = as_int("chunks", n, 1, 32)
        with session.lock:
            game, epoch = session.game, session.epoch
        play.check_room(ctx.pipe, game)
        seen = len(game.events)
        for i in range(n):
            if not session.advance(ctx.pipe, epoch):
                if session.game is None:
                    yield session, gr.skip(), gr.skip(), gr.skip(), gr.skip(), "Play stopped: the game was reset."
                else:
                    yield game_outputs(session, "Play stopped: a new game replaced this one.")
                return
            game = session.game
            last = i == n - 1 or play.is_full(ctx.pipe, game)
            note = f"Frame {game.num_frames - 1}" + (" (done)." if last else "...")
            if len(game.events) > seen:  # kicked (or missed) while playing
                said = "; ".join(game.events[seen:])
                note += f" {said[0].upper()}{said[1:]}."
                seen = len(game.events)
            yield game_outputs(session, note, with_video=last)
            if last:
                return

    action([play_btn.click], step_fn, [game_state, chunks], outs, status, "play_step", concurrency_id=MODEL,
           concurrency_limit=ctx.concurrency_limit)
    def step_one_fn(session):
        yield from step_fn(session, 1)

    action([step_btn.click], step_one_fn, [game_state], outs, status, "play_step_one", concurrency_id=MODEL,
           concurrency_limit=ctx.concurrency_limit)

    def kick_fn(session, px, py, deg, power):
        session = need(session)
        px, py = as_float("click x", px, 0, W), as_float("click y", py, 0, H)
        a = math.radians(as_float("kick direction", deg, -360, 360))
        strength = as_float("kick strength", power, 0, 2)
        with session.lock:  # on the game as it stands (mid-Play: its last frame; Play goes on from it)
            game, msg = play.kick(session.game, px, py, math.cos(a), -math.sin(a), strength)
            session.game = game
        return (*game_outputs(session, "", with_video=False)[:-1], msg[0].upper() + msg[1:] + ". Step or Play on.")

    action([], kick_fn, [game_state, x, y, angle, strength], outs, status, "play_kick")

    def branch_fn(session, f, s):
        session = need(session)
        game = session.game
        game = play.branch(game, as_int("branch frame", f, 0, game.num_frames - 1), as_int("branch seed", s, 0,
                                                                                          2**31 - 1))
        return game_outputs(session.replace_game(game), f"Branched at frame {game.num_frames - 1} with seed "
                            f"{game.seed}.")

    action([branch_btn.click], branch_fn, [game_state, branch_frame, branch_seed], outs, status, "play_branch")

    def reset_fn(session):
        if session is not None:
            session.replace_game(None)
        return session, None, None, None, None, "Reset: set up a scene and Start."

    action([reset_btn.click], reset_fn, [game_state], outs, status, "play_reset")

    # a click fills the coordinates, then does what the mode says
    def on_click(evt: gr.SelectData):
        return round(evt.index[0] / SCALE, 2), round(evt.index[1] / SCALE, 2)

    def by_mode(m, text, px, py, col, radius, v, grav, occ, cam):
        if m == MODES[0]:
            return (*place_fn(text, px, py, col, radius, grav, occ, cam),)
        if m == MODES[1]:
            return (*aim_fn(text, px, py, v, grav, occ, cam),)
        return gr.skip(), gr.skip(), "Kick mode: click a ball in the truth view, on the right."

    editor.select(on_click, None, [x, y], api_visibility="private").then(
        quiet(by_mode, 3), [mode, scene_box, x, y, color, size, speed, gravity, occluder, camera],
        [scene_box, editor, edit_status], api_visibility="private")
    truth_view.select(on_click, None, [x, y], api_visibility="private").then(
        quiet(kick_fn, len(outs) + 1), [game_state, x, y, angle, strength], outs + [status],
        api_visibility="private")
    return {"scene": scene_box}

