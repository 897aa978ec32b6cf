"""Playing the world model (playground.play, the Play tab): a scene set up by clicks, rolled out chunk by chunk
beside the truth, kicked, branched; seeded and per-session; bad actions get a clear message."""

import time
from dataclasses import replace

import numpy as np
import pytest

from playground import play
from playground.world import Scene, sample_scene
from playground.world.actions import kick_to_pixel
from playground.world.clip import render_scene
from playground.world.scene import Kick

from tiny import build_tiny_model_dir, serve


@pytest.fixture(scope="module")
def chunk_pipe(text_encoder, tmp_path_factory):
    from playground.pipeline import WorldSimPipeline

    folder = build_tiny_model_dir(tmp_path_factory.mktemp("tiny-play"), text_encoder, next_chunk=True)
    pipe = WorldSimPipeline.from_pretrained(folder, text_encoder=text_encoder)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _scene():
    return replace(sample_scene("inertia", "train", np.random.default_rng(1), 16), n_frames=1, kicks=[])


def test_a_click_on_the_floor_places_a_ball_there_and_a_second_click_aims_it():
    scene = play.place_ball(Scene(balls=[]), 16, 24, "red", 0.15, 32, 32)
    (b,) = scene.balls
    assert b.color == "red" and b.position[1] == pytest.approx(0.15)
    img = play.empty_floor(32, 32, scene)
    from playground.probes.parser import parse_video

    (det,) = parse_video(img[None])[0]
    assert det.color == "red" and abs(det.x - 16) < 2 and abs(det.y - 24) < 3
    aimed = play.aim_ball(scene, 0, 28, 24, 1.0, 32, 32)  # to the right on the image
    vx, vy, vz = aimed.balls[0].velocity
    assert np.hypot(vx, vz) == pytest.approx(1.0) and vy == 0
    with pytest.raises(ValueError, match="not on the floor"):
        play.place_ball(scene, 16, 0.5, "blue", 0.15, 32, 32)  # the sky
    with pytest.raises(ValueError, match="no room"):
        play.place_ball(scene, 16, 24, "blue", 0.15, 32, 32)  # on top of the red ball
    with pytest.raises(ValueError, match="colour"):
        play.place_ball(scene, 5, 28, "mauve", 0.15, 32, 32)


@pytest.mark.parametrize("family", ["interaction", "camera", "occlusion"])
def test_the_games_truth_and_its_parse_are_the_clips(family):
    """Play's fast paths give exactly what the slow ones do: render_scene = make_clip's frames (kicks, floor
    marks, a moving camera, occluders), parse_frames = parse_video, parsed or from its per-frame cache."""
    from playground.probes.parser import parse_video
    from playground.world.clip import make_clip, render_scene

    scene = sample_scene(family, "train", np.random.default_rng(3), 16)
    frames = make_clip(scene, 32, 32).frames
    assert np.array_equal(render_scene(scene, 32, 32), frames)
    for start in (1, 9, 15):  # a later part rendered alone (Play renders only a game's new frames)
        assert np.array_equal(render_scene(scene, 32, 32, start=start), frames[start:])
    with pytest.raises(ValueError, match="start must be a frame"):
        render_scene(scene, 32, 32, start=16)
    want = [[(d.color, d.x, d.y, d.area) for d in f] for f in parse_video(frames)]
    for _ in range(2):  # the second time from the cache
        got = [[(d.color, d.x, d.y, d.area) for d in f] for f in play.parse_frames(frames)]
        assert got == want


def test_a_game_steps_chunk_by_chunk_the_same_however_it_is_stepped(chunk_pipe):
    game = play.start(chunk_pipe, _scene(), observed=4, seed=3, steps=2)
    assert game.num_frames == 4 and np.array_equal(game.frames, game.truth())
    seen = []
    a = play.step(chunk_pipe, game, 3, on_chunk=lambda g: seen.append(g.num_frames))
    b = play.step(chunk_pipe, play.step(chunk_pipe, game, 1), 2)
    assert seen == [6, 8, 10] and a.num_frames == 10 and game.num_frames == 4  # a Game is a value
    np.testing.assert_array_equal(a.frames, b.frames)
    other = play.step(chunk_pipe, play.start(chunk_pipe, _scene(), observed=4, seed=4, steps=2), 3)
    assert not np.array_equal(a.frames[4:], other.frames[4:])
    assert a.truth().shape == a.frames.shape
    s = play.scores(a)
    assert s["predicted"] == 6 and 0 <= s["objects_kept"] <= 1 and set(s["balls"]) == {x.color for x in a.scene.balls}


def test_a_kick_reaches_the_truth_and_the_model_and_a_miss_changes_nothing(chunk_pipe):
    game = play.step(chunk_pipe, play.start(chunk_pipe, _scene(), observed=4, seed=0, steps=2), 1)
    truth = game.truth()
    f = game.num_frames - 1
    # click the first ball where the truth shows it, kick it toward the image's top
    where = kick_to_pixel(game.scene, Kick(f, 0, (0.01, 0.0, 0.0)), 32, 32)
    kicked, msg = play.kick(game, where.x, where.y, 0.0, -1.0, 1.5)
    assert msg.startswith(f"frame {f}: kicked ball 0") and len(kicked.scene.kicks) == 1
    (told,) = kicked.actions
    assert told.frame == f and told.strength == pytest.approx(1.5, rel=1e-3)
    on = play.step(chunk_pipe, kicked, 2)
    off = play.step(chunk_pipe, game, 2)
    assert not np.array_equal(on.truth()[f + 1:], off.truth()[f + 1:])  # the truth moved the ball
    np.testing.assert_array_equal(on.truth()[: f + 1], truth)  # not before the kick
    assert not np.array_equal(on.frames[f + 1:], off.frames[f + 1:])  # the model was told
    s = play.scores(on)
    assert s["kicks"] == 1 and s["kick_response"][0]["ball"] == game.scene.balls[0].color
    def fresh(g):  # the truth rendered from scratch, not from the frames a game carries
        return render_scene(replace(g.scene, n_frames=g.num_frames), 32, 32)

    for g in (on, off, play.step(chunk_pipe, play.branch(on, f + 1), 1), play.branch(on, f - 1)):
        np.testing.assert_array_equal(g.truth(), fresh(g))  # what a game carries is its truth
    missed, msg = play.kick(game, 1.0, 31.0, 1.0, 0.0, 1.0)  # a corner of the floor
    assert "not a ball: nothing was kicked" in msg and missed.scene.kicks == [] and missed.actions == ()


def test_branching_with_the_same_seed_replays_and_with_another_seed_differs(chunk_pipe):
    game = play.step(chunk_pipe, play.start(chunk_pipe, _scene(), observed=4, seed=5, steps=2), 4)
    again = play.step(chunk_pipe, play.branch(game, 5), 1)
    np.testing.assert_array_equal(again.frames, game.frames[:8])
    other = play.step(chunk_pipe, play.branch(game, 5, seed=9), 1)
    assert other.seed == 9 and not np.array_equal(other.frames[6:], game.frames[6:8])
    with pytest.raises(ValueError, match="branch frame"):
        play.branch(game, 100)


@pytest.mark.parametrize("call, message", [
    (lambda p, g: play.step(p, g, 0), "chunks must be an integer in"),
    (lambda p, g: play.kick(g, 40.0, 5.0, 1.0, 0.0, 1.0), "action x must be a pixel column"),
    (lambda p, g: play.kick(g, 5.0, 5.0, 1.0, 0.0, 1e9), "action strength must be in"),
    (lambda p, g: play.kick(g, 5.0, float("nan"), 1.0, 0.0, 1.0), "action y must be finite"),
    (lambda p, g: play.start(p, Scene(balls=[])), "place a ball"),
])
def test_bad_actions_get_a_clear_message(chunk_pipe, call, message):
    game = play.start(chunk_pipe, _scene(), observed=4, seed=0, steps=1)
    with pytest.raises(ValueError, match=message):
        call(chunk_pipe, game)


def test_a_game_stops_at_its_frame_cap_with_a_message(chunk_pipe, monkeypatch):
    monkeypatch.setattr(play, "MAX_GAME_FRAMES", 8)
    game = play.step(chunk_pipe, play.start(chunk_pipe, _scene(), observed=4, seed=0, steps=1), 5)
    assert game.num_frames == 8
    with pytest.raises(ValueError, match="the most a game keeps is 8"):
        play.step(chunk_pipe, game, 1)


# ---------------------------------------------------------------------------- through the API
@pytest.fixture(scope="module")
def play_url(tmp_path_factory, text_encoder):
    demo, url, _ = serve(build_tiny_model_dir(tmp_path_factory.mktemp("tiny-play-app"), text_encoder,
                                              next_chunk=True))
    yield url
    demo.close()


def _play(url, family, seed, chunks):
    from gradio_client import Client

    c = Client(url, verbose=False)
    scene = c.predict(family, 0, api_name="/play_scene")[0]
    c.predict(scene, 4, seed, 2, 1.0, False, False, "static", api_name="/play_start")
    out = c.predict(chunks, api_name="/play_step")
    return c, out


def test_two_players_at_once_each_get_their_own_seeded_world(play_url):
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    jobs = [("inertia", 1, 2), ("collision", 2, 3), ("inertia", 1, 2)]
    with ThreadPoolExecutor(3) as ex:
        results = list(ex.map(lambda j: _play(play_url, *j), jobs))
    frames = [r[1][3]["frames"] for r in results]
    assert frames == [8, 10, 8]  # each session its own game: 4 observed + 2 chunks, 4 + 3 chunks, 4 + 2
    live = [np.asarray(Image.open(r[1][0])) for r in results]
    np.testing.assert_array_equal(live[0], live[2])  # same scene, same seed: the same world
    assert not np.array_equal(live[0], live[1])


def test_playing_without_a_game_or_with_a_bad_kick_says_what_to_do(play_url):
    from gradio_client import Client

    c = Client(play_url, verbose=False)
    with pytest.raises(Exception, match="press Start first"):
        c.predict(1, api_name="/play_step")
    scene = c.predict("inertia", 0, api_name="/play_scene")[0]
    c.predict(scene, 4, 0, 1, 1.0, False, False, "static", api_name="/play_start")
    with pytest.raises(Exception, match="(?i)click x must be"):
        c.predict(500, 5, 0, 1.0, api_name="/play_kick")
    with pytest.raises(Exception, match="(?i)kick strength must be"):
        c.predict(5, 5, 0, 50.0, api_name="/play_kick")
    out = c.predict(1, api_name="/play_step")  # the game goes on
    assert out[3]["frames"] == 6


def test_a_kick_while_playing_lands_and_the_play_goes_on(play_url):
    """A Play streams for seconds; a kick given meanwhile must reach the game (not be written over by the stream's
    older game), and the stream plays on from the kicked game."""
    from gradio_client import Client

    from playground.ui.play import scene_json

    scene = play.place_ball(Scene(balls=[], gravity=False), 16.0, 22.0, "red", 0.25, 32, 32)  # at rest
    where = kick_to_pixel(scene, Kick(0, 0, (0.01, 0.0, 0.0)), 32, 32)  # where the ball is seen
    c = Client(play_url, verbose=False)
    c.predict(scene_json(scene), 4, 0, 20, 1.0, False, False, "static", api_name="/play_start")  # 20 steps: slow
    job = c.submit(16, api_name="/play_step")
    while len(job.outputs()) < 1:  # the Play is under way
        time.sleep(0.01)
    kicked = c.predict(where.x, where.y, 90.0, 1.5, api_name="/play_kick")[3]
    s = job.result()[3]
    assert kicked["kicks"] == 1 and kicked["frames"] < s["frames"]  # it landed while the Play went on
    assert s["kicks"] == 1 and s["frames"] == 4 + 16 * 2  # the kick kept, and every chunk played
    assert s["kick_response"][0]["frame"] == kicked["frames"] - 1  # on the game's last frame when it came


def test_a_start_while_playing_ends_the_play_and_keeps_the_new_game(play_url):
    from gradio_client import Client

    c = Client(play_url, verbose=False)
    scene = c.predict("inertia", 0, api_name="/play_scene")[0]
    c.predict(scene, 4, 0, 20, 1.0, False, False, "static", api_name="/play_start")  # 20 steps: slow
    job = c.submit(16, api_name="/play_step")
    while len(job.outputs()) < 1:  # the Play is under way
        time.sleep(0.01)
    started = c.predict(scene, 4, 7, 1, 1.0, False, False, "static", api_name="/play_start")[3]
    s = job.result()[3]
    assert started["frames"] == 4 and s["frames"] == 4  # the Play stopped on the new game, not over it
    assert len(job.outputs()) < 16
