"""World interaction: kicks (actions), the pixel <-> world action mapping, the paint effect, and the probes that
measure both."""

import json
import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from playground.probes import metrics as M
from playground.probes.parser import parse_video
from playground.probes.suite import copy_last, no_action_video, run_suite
from playground.world import (FAMILIES, RANGES, Ball, CameraSpec, Kick, Occluder, PixelAction, Scene, ball_mass,
                              kick_to_pixel, make_clip, pixel_to_kick, sample_clip, sample_frames_batch, sample_scene,
                              simulate)
from playground.world.families import MIXED_KICK_RATE
from playground.world.render import FLOOR_DARK, MARK
from playground.world.scene import MAX_KICK_DV, MAX_KICKS


def rolling(kicks=(), **kw) -> Scene:
    balls = [Ball("red", 0.2, (-0.3, 0.2, 0.1), (0.5, 0.0, 0.0)), Ball("blue", 0.15, (0.4, 0.15, -0.4), (0.0, 0.0, 0.3))]
    return Scene(balls, kicks=list(kicks), **kw).validate()


# ---------------------------------------------------------------------------- kicks in the physics
def test_kick_changes_exactly_that_ball_velocity_at_that_frame():
    kick = Kick(6, 0, (0.01, 0.0, -0.02))
    a, b = simulate(rolling()), simulate(rolling([kick]))
    np.testing.assert_array_equal(a.positions[:7], b.positions[:7])  # the kick's frame shows the kick's position
    np.testing.assert_array_equal(a.velocities[:6], b.velocities[:6])
    dv = b.velocities[6] - a.velocities[6]
    np.testing.assert_allclose(dv[0], np.array(kick.impulse) / ball_mass(0.2), atol=1e-12)
    np.testing.assert_array_equal(dv[1], 0.0)  # the other ball is untouched
    assert not np.allclose(a.positions[7:, 0], b.positions[7:, 0])


def test_kick_is_an_event_with_its_impulse():
    traj = simulate(rolling([Kick(3, 1, (0.0, 0.0, 0.01))]))
    kicks = [e for e in traj.events if e.kind == "kick"]
    assert len(kicks) == 1 and kicks[0].time == 3.0 and kicks[0].balls == (1,)
    np.testing.assert_allclose(kicks[0].position, traj.positions[3, 1])
    assert kicks[0].to_dict()["impulse"] == [0.0, 0.0, 0.01]


def test_momentum_and_energy_change_only_by_the_kicks():
    """In a big arena (no walls reached) two balls collide; momentum and energy are conserved except at the kicks,
    where momentum changes by exactly the impulse and energy by the kick's work."""
    balls = [Ball("red", 0.2, (-0.6, 0.2, 0.0), (0.8, 0.0, 0.0)), Ball("blue", 0.15, (0.3, 0.15, 0.02), (-0.4, 0.0, 0.0))]
    kicks = [Kick(4, 0, (0.0, 0.0, 0.012)), Kick(9, 1, (-0.01, 0.0, 0.005))]
    scene = Scene(balls, kicks=kicks, arena_half_size=10.0, n_frames=16).validate()
    traj = simulate(scene)
    assert any(e.kind == "collision" for e in traj.events)
    m = np.array([ball_mass(b.radius) for b in balls])
    P = (m[None, :, None] * traj.velocities).sum(1)  # (T, 3)
    E = 0.5 * (m[None] * (traj.velocities ** 2).sum(-1)).sum(1)
    expected_P = np.array(P[0])
    for f in range(1, 16):
        for kick in kicks:
            if kick.frame == f:
                expected_P = expected_P + np.array(kick.impulse)
        np.testing.assert_allclose(P[f], expected_P, atol=1e-12)
        if f not in (4, 9):
            assert abs(E[f] - E[f - 1]) < 1e-12
    v_before = traj.velocities[3, 0] - 0  # the collision happens after frame 4 here or later; check the kick's work
    pre = simulate(replace(scene, kicks=kicks[1:]))
    work = 0.5 * m[0] * (np.sum(traj.velocities[4, 0] ** 2) - np.sum(pre.velocities[4, 0] ** 2))
    assert abs((E[4] - E[3]) - work) < 1e-12 and v_before is not None


def test_gravity_kick_pops_the_ball_up():
    scene = Scene([Ball("green", 0.2, (0.0, 0.6, 0.0))], gravity=True, kicks=[Kick(2, 0, (0.0, 0.02, 0.0))]).validate()
    a, b = simulate(replace(scene, kicks=[])), simulate(scene)
    assert b.velocities[2, 0, 1] == pytest.approx(a.velocities[2, 0, 1] + 0.02 / 0.04)
    assert b.positions[5, 0, 1] > a.positions[5, 0, 1]


@pytest.mark.parametrize("kick, words", [
    (Kick(16, 0, (0.01, 0, 0)), ["frame", "[0, 15]"]),
    (Kick(-1, 0, (0.01, 0, 0)), ["frame", "[0, 15]"]),
    (Kick(3, 5, (0.01, 0, 0)), ["ball", "[0, 1]"]),
    (Kick(3, 0, (math.nan, 0, 0)), ["impulse", "finite"]),
    (Kick(3, 0, (1e12, 0, 0)), ["velocity", f"at most {MAX_KICK_DV}"]),
    (Kick(3, 0, (0.01, 0.01, 0)), ["y must be 0"]),
    (Kick(3, 0, (0.01, 0)), ["impulse", "3 numbers"]),
])
def test_bad_kicks_get_a_clear_error(kick, words):
    with pytest.raises(ValueError) as e:
        rolling([kick])
    for w in words:
        assert w in str(e.value), str(e.value)


def test_too_many_kicks_are_refused():
    with pytest.raises(ValueError, match=f"at most {MAX_KICKS} kicks"):
        rolling([Kick(1, 0, (0.001, 0, 0))] * (MAX_KICKS + 1))


def test_kicks_and_paint_round_trip_through_json():
    scene = rolling([Kick(3, 1, (0.0, 0.0, 0.01))], paint=True)
    back = Scene.from_json(scene.to_json())
    assert back.kicks == scene.kicks and back.paint


# ---------------------------------------------------------------------------- pixel actions
CAMERAS = [CameraSpec(), CameraSpec("orbit", yaw0=0.4, yaw_speed=0.3),
           CameraSpec("look", yaw_speed=1.5, sway_period=1.2), CameraSpec("pan", pan_speed=0.3)]


@pytest.mark.parametrize("camera", CAMERAS, ids=lambda c: c.motion)
@pytest.mark.parametrize("gravity", [False, True])
def test_pixel_world_pixel_round_trip_within_half_a_pixel(camera, gravity):
    balls = [Ball("red", 0.2, (0.1, 0.5 if gravity else 0.2, 0.2), (0.3, 0.0, 0.0)),
             Ball("blue", 0.15, (-0.4, 0.6 if gravity else 0.15, -0.3), (0.0, 0.0, 0.2))]
    scene = Scene(balls, gravity=gravity, camera=camera).validate()
    rng = np.random.default_rng(0)
    for _ in range(6):
        f, b = int(rng.integers(0, 12)), int(rng.integers(2))
        a = rng.uniform(0, 2 * np.pi)
        s = rng.uniform(0.3, 2.0)
        dv = np.array([s * np.cos(a), 0.5 * s if gravity else 0.0, s * np.sin(a)])
        kick = Kick(f, b, tuple(ball_mass(balls[b].radius) * dv))
        act = kick_to_pixel(scene, kick, 64, 64)
        res = pixel_to_kick(scene, act, 64, 64)
        assert res.hit == "ball" and res.ball == b
        np.testing.assert_allclose(res.kick.impulse, kick.impulse, atol=1e-9)
        again = kick_to_pixel(scene, res.kick, 64, 64)
        assert math.hypot(again.x - act.x, again.y - act.y) <= 0.5
        # the direction's end point one strength-length away stays within half a pixel too
        assert math.hypot(again.dx - act.dx, again.dy - act.dy) * 10 <= 0.5


def test_click_on_a_ball_anywhere_kicks_that_ball():
    scene = rolling()
    clip = make_clip(scene, 64, 64)
    ys, xs = np.nonzero(np.all(clip.frames[5].astype(int) == clip.frames[5, 0, 0], -1) == False)  # noqa: E712
    cx, cy = clip.gt.centroids[5, 0]
    res = pixel_to_kick(scene, PixelAction(5, cx + 1.0, cy - 1.0, 1.0, 0.0, 1.0), 64, 64)
    assert res.kick is not None and res.ball == 0 and res.kick.frame == 5
    assert ys.size and xs.size


@pytest.mark.parametrize("where, hit", [((3.0, 62.0), "floor"), ((32.0, 1.0), "sky")])
def test_click_on_empty_floor_or_sky_is_a_no_op(where, hit):
    res = pixel_to_kick(rolling(), PixelAction(4, *where, 1.0, 0.0, 1.0), 64, 64)
    assert res.kick is None and res.hit == hit and "nothing was kicked" in res.message


def test_click_on_an_occluder_in_front_of_a_ball_is_a_no_op():
    ball = Ball("red", 0.2, (0.0, 0.2, -0.5), (0.0, 0.0, 0.0))
    wall = Occluder((0.0, 0.4, 0.0), (0.8, 0.8, 0.06))
    scene = Scene([ball], occluders=[wall]).validate()
    clip = make_clip(scene, 64, 64)
    x, y = clip.gt.centroids[0, 0]
    assert clip.gt.visible[0, 0] < 0.05
    res = pixel_to_kick(scene, PixelAction(0, x, y, 1.0, 0.0, 1.0), 64, 64)
    assert res.kick is None and res.hit == "occluder"


@pytest.mark.parametrize("field, value, words", [
    ("frame", 99, "frame must be an integer in [0, 15]"), ("x", 70.0, "x must be a pixel column in [0, 64]"),
    ("y", -1.0, "y must be a pixel row"), ("strength", 1e9, f"strength must be in [0, {MAX_KICK_DV}]"),
    ("dx", math.nan, "dx must be finite"), ("strength", "hard", "strength must be a number"),
])
def test_bad_pixel_actions_get_a_clear_error(field, value, words):
    act = replace(PixelAction(3, 30.0, 40.0, 1.0, 0.0, 1.0), **{field: value})
    with pytest.raises(ValueError) as e:
        pixel_to_kick(rolling(), act, 64, 64)
    assert words in str(e.value)


# ---------------------------------------------------------------------------- the paint effect
def test_effects_persist_in_truth_and_renders_after_the_ball_leaves_and_while_the_camera_looks_away():
    ball = Ball("red", 0.15, (-0.7, 0.15, 0.3), (1.2, 0.0, 0.0))
    cam = CameraSpec("look", yaw_speed=2.4, sway_period=1.4)
    clip = make_clip(Scene([ball], paint=True, camera=cam, n_frames=24), 32, 32)
    gt = clip.gt
    first = gt.effects[0]
    assert first.frame == 0 and first.ball == 0 and first.tile == (-2, 0)
    assert gt.effect_exists[:, 0].all()
    # the ball has left the first tile, and the camera looks away from it and back
    assert np.floor(gt.positions[-1, 0, 0] / 0.5) != -2
    vis = gt.effect_visible[:, 0]
    away = np.flatnonzero(vis < 0.05)
    assert away.size and (vis[away[-1] + 1:] > 0.5).any()
    code = (first.tile[0] + 32) * 64 + (first.tile[1] + 32)
    for t in range(clip.frames.shape[0]):
        px = gt.tile_map[t] == code
        if px.any():
            np.testing.assert_array_equal(clip.frames[t][px], np.broadcast_to(MARK, (px.sum(), 3)).astype(np.uint8))
    # every effect is in the JSON ground truth with its ball, frame and projection
    d = json.loads(json.dumps(clip.to_json_dict()))["ground_truth"]
    assert len(d["effects"]) == len(gt.effects) and len(d["effect_visible"]) == 24


def test_no_paint_no_marks_and_old_families_are_unchanged():
    for fam in FAMILIES[:5]:
        scene = sample_scene(fam, "train", 3)
        assert not scene.paint and not scene.kicks
        assert simulate(scene).effects == []


def test_parser_finds_the_balls_on_a_marked_floor():
    for seed in range(6):
        clip = sample_clip("interaction", "train", seed)
        assert clip.gt.effects
        m = M.inertia_metrics(M.Video(clip.frames, parse_video(clip.frames), 32, 32), clip, 1)
        assert m["coverage"] >= 0.95 and m["pos_err_px"] < 0.5
        colours = {b.color for b in clip.scene.balls}
        assert all(d.color in colours for dets in parse_video(clip.frames) for d in dets)


# ---------------------------------------------------------------------------- families
def test_interaction_family_kicks_and_paints_with_disjoint_ranges():
    for split in ("train", "heldout"):
        for seed in range(5):
            s = sample_scene("interaction", split, seed)
            assert s.paint and 1 <= len(s.kicks) <= 2
            (lo, hi), = RANGES["interaction"][split]["kick_strength"]
            for kick in s.kicks:
                dv = np.array(kick.impulse) / ball_mass(s.balls[kick.ball].radius)
                assert lo - 1e-9 <= math.hypot(dv[0], dv[2]) <= hi + 1e-9
    (tr_lo, tr_hi), = RANGES["interaction"]["train"]["kick_time"]
    (ho_lo, ho_hi), = RANGES["interaction"]["heldout"]["kick_time"]
    assert tr_hi < ho_lo


def test_mixed_family_kicks_at_its_stated_rate():
    scenes = [sample_scene("mixed", "train", s) for s in range(300)]
    other = [s for s in scenes if s.metadata["family"] != "interaction"]
    rate = np.mean([bool(s.kicks) for s in other])
    assert abs(rate - MIXED_KICK_RATE) < 0.07
    assert any(s.metadata["family"] == "interaction" for s in scenes)


# ---------------------------------------------------------------------------- probes
def test_persistence_probe_scores_truth_perfectly_and_flags_vanishing_marks():
    clip = sample_clip("interaction", "train", 2, n_frames=16)
    k = 4
    truth = M.persistence_metrics(M.Video(clip.frames, parse_video(clip.frames), 32, 32), clip, k)
    assert truth["persisted"] == 1.0 and truth["spurious_marks"] == 0.0
    wiped = clip.frames.copy()
    marks = M.marked_pixels(wiped)
    marks[:k] = False
    wiped[marks] = FLOOR_DARK.astype(np.uint8)
    bad = M.persistence_metrics(M.Video(wiped, parse_video(wiped), 32, 32), clip, k)
    assert bad["persisted"] <= 0.1


def test_persistence_probe_flags_marks_where_nothing_happened():
    clip = sample_clip("interaction", "train", 2, n_frames=16)
    painted = clip.frames.copy()
    floor = clip.gt.tile_map >= 0
    painted[floor] = MARK.astype(np.uint8)
    m = M.persistence_metrics(M.Video(painted, parse_video(painted), 32, 32), clip, 4)
    assert m["spurious_marks"] > 0.9


def test_kick_probe_flags_a_rollout_that_ignores_the_kick():
    k = 4
    followed = {"truth": [], "no_action": [], "copy_last": []}
    for seed in range(6):
        clip = sample_clip("interaction", "train", 10 + seed)
        videos = {"truth": M.Video(clip.frames, parse_video(clip.frames), 32, 32), "no_action": no_action_video(clip, k)}
        cl = copy_last(clip.frames, k)
        videos["copy_last"] = M.Video(cl, parse_video(cl), 32, 32)
        for r, v in videos.items():
            followed[r].append(M.kick_metrics(v, clip, k)["kick_followed"])
    mean = {r: np.nanmean(v) for r, v in followed.items()}
    assert mean["truth"] >= 0.9
    assert mean["copy_last"] == 0.0 and mean["no_action"] < mean["truth"] - 0.3


def test_suite_runs_the_interaction_probes_with_a_no_action_row():
    r = run_suite(None, probes="kick,persistence", trials=2, split="train")
    assert set(r["summary"]["kick"]["train"]) == {"truth", "copy_last", "const_velocity", "no_action"}
    assert "no_action" not in r["summary"]["persistence"]["train"]
    assert r["summary"]["persistence"]["train"]["truth"]["persisted"] == 1.0
    assert all("actions" in t for t in r["trials"])


def test_suite_says_when_the_model_takes_no_actions(tiny_pipe):
    r = run_suite(tiny_pipe, probes="kick", trials=1, split="train", steps=2)
    assert r["config"]["model_actions"] is False
    from playground.probes.suite import format_table, to_markdown
    assert "takes no actions" in to_markdown(r) and "takes no actions" in format_table(r)


def test_world_cli_writes_an_interaction_clip_with_actions_and_effects(tmp_path):
    out = tmp_path / "clip.mp4"
    subprocess.run([sys.executable, "-m", "playground", "world", "--family", "interaction", "--seed", "3",
                    "--out", str(out)], check=True, capture_output=True)
    d = json.loads(out.with_suffix(".json").read_text())
    assert out.stat().st_size > 0
    assert d["scene"]["kicks"] and d["scene"]["paint"] is True
    assert d["ground_truth"]["actions"] and d["ground_truth"]["effects"]


# ---------------------------------------------------------------------------- scene input at the boundary
BALL = {"color": "red", "radius": 0.2, "position": [0.0, 0.2, 0.0], "velocity": [0.5, 0.0, 0.0]}


@pytest.mark.parametrize("d, words", [
    ({"balls": [{"color": "red", "radius": 0.2}]}, ["balls[0] has no 'position'", "every ball needs"]),
    ({"balls": [BALL], "foo": 1}, ["unknown key 'foo'", "allowed keys"]),
    ({"balls": [BALL], "gravity": "yes"}, ["gravity must be true or false"]),
    ({"balls": [{**BALL, "velocity": [1e12, 0.0, 0.0]}]}, ["speed must be at most"]),
    ({"balls": [{**BALL, "radius": "0.2"}]}, ["radius must be a positive number"]),
    ({"balls": [BALL], "kicks": [{"frame": 3, "ball": 0}]}, ["kicks[0] has no 'impulse'"]),
    ({"balls": [BALL], "camera": {"motion": "static", "zoom": 2}}, ["camera has unknown key 'zoom'"]),
    ({"balls": [BALL], "g": "3"}, ["g must be a number"]),
])
def test_scene_dict_errors_name_the_field_and_what_is_allowed(d, words):
    with pytest.raises(ValueError) as e:
        Scene.from_dict(d)
    for w in words:
        assert w in str(e.value), str(e.value)


def test_training_batches_can_carry_each_clips_kicks_as_pixel_actions():
    frames, rich, short, acts = sample_frames_batch(6, seed=1, family="interaction", with_actions=True)
    plain = sample_frames_batch(6, seed=1, family="interaction")
    np.testing.assert_array_equal(frames, plain[0])
    assert len(acts) == 6 and all(1 <= len(a) <= 2 for a in acts)
    assert all(0 <= a.x <= 32 and 0 <= a.y <= 32 for clip_acts in acts for a in clip_acts)
