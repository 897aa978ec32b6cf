"""Specifications of the physics probes: the parser finds the balls, every probe scores the ground truth at its
floor, and deliberately broken videos are flagged."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from playground.probes import metrics as M
from playground.probes.parser import color_track, parse_video
from playground.probes.suite import format_table, probe_clip, run_suite, to_markdown, trial_seed
from playground.world import (Ball, CameraSpec, Occluder, Scene, camera_path, intrinsics, make_clip, render,
                              sample_clip)

K_OBS = 4


def video_of(frames):
    H, W = frames.shape[1:3]
    return M.Video(frames, parse_video(frames), H, W)


def clip_with(family, pred, seed=0, split="train"):
    """The first clip of a family (by suite seed) whose ground truth satisfies pred."""
    for i in range(40):
        clip = probe_clip(family, split, trial_seed(seed, family, split, i), 16, 16, 32, 32)
        if pred(clip):
            return clip
    raise AssertionError("no such clip")


# ---------------------------------------------------------------------------- parser
@pytest.mark.parametrize("size", [32, 64])
def test_parser_finds_ball_centroids_within_a_pixel_of_truth(size):
    errs = []
    for fam in ("inertia", "collision", "occlusion", "camera"):
        for seed in range(3):
            clip = sample_clip(fam, "train", seed, 16, size, size)
            parsed = parse_video(clip.frames)
            for b, ball in enumerate(clip.scene.balls):
                tr = color_track(parsed, ball.color)
                full = clip.gt.visible[:, b] >= 0.95
                assert tr.present[full].all(), f"{ball.color} missed in {fam} seed {seed}"
                errs += list(np.linalg.norm(tr.centroids[full] - clip.gt.centroids[full, b], axis=1))
    assert max(errs) < 1.0 and np.mean(errs) < 0.4


def test_parser_reports_only_the_scenes_colours():
    for fam in ("inertia", "gravity", "occlusion", "camera"):
        for seed in range(4):
            clip = sample_clip(fam, "train", seed, 16, 32, 32)
            colours = {b.color for b in clip.scene.balls}
            found = {d.color for dets in parse_video(clip.frames) for d in dets}
            assert found <= colours


def test_parser_finds_no_ball_in_floor_sky_and_occluders():
    # the one ball sits behind the camera: frames show floor, sky and both occluder colours only
    scene = Scene([Ball("white", 0.2, (0.0, 0.2, 0.0))], camera=CameraSpec("orbit", yaw_speed=1.0),
                  occluders=[Occluder((-0.3, 0.3, 0.0), (0.5, 0.6, 0.1), "grey"),
                             Occluder((0.4, 0.2, -0.3), (0.3, 0.4, 0.3), "brown")], n_frames=8)
    for size in (32, 64):
        K = intrinsics(60, size, size)
        Rt = camera_path(scene.camera, 8, 0.1)
        eye = -np.einsum("tji,tj->ti", Rt[:, :, :3], Rt[:, :, 3])
        behind = eye - 0.5 * Rt[:, 2, :3]  # half a unit behind each camera
        frames = render(scene, behind[:, None], K, Rt, size, size).frames
        assert all(dets == [] for dets in parse_video(frames))


def test_track_builder_splits_a_repeated_colour_by_position():
    from playground.probes.parser import Detection, build_tracks

    nan3 = (math.nan,) * 3
    parsed = [[Detection("red", 5 + t, 5, 2, 12, nan3), Detection("red", 25 - t, 20, 2, 12, nan3)] for t in range(6)]
    tracks = build_tracks(parsed)
    assert len(tracks) == 2
    assert {tuple(np.round(tr.centroids[0])) for tr in tracks} == {(5, 5), (25, 20)}
    for tr in tracks:
        assert np.all(np.abs(np.diff(tr.centroids[:, 0])) == 1)


# ---------------------------------------------------------------------------- the truth scores at the floor
def test_truth_scores_at_every_probes_floor():
    r = run_suite(None, trials=3, seed=0, split="train")["summary"]
    t = {p: r[p]["train"]["truth"] for p in r}
    assert t["inertia"]["vel_err_px"] < 0.3 and t["inertia"]["reversals"] == 0 and t["inertia"]["linear_r2"] > 0.97
    assert t["gravity"]["g_rel_err"] < 0.3
    assert t["collision"]["momentum_err"] < 0.1 and t["collision"]["post_vel_err_px"] < 0.3
    assert t["permanence"]["reemergence_rate"] == 1 and t["permanence"]["impossible_events"] == 0
    assert t["permanence"]["colour_kept"] == 1
    assert t["consistency"]["sampson_px"] < 0.2 and t["consistency"]["pairs_ok"] == 1
    assert t["consistency"]["transfer_px"] < 0.5
    assert t["long_range"]["objects_kept"] == 1 and t["long_range"]["loop_closure"] == 0
    assert t["temporal"]["flicker"] == 0


def test_baselines_score_worse_than_truth_on_dynamics():
    r = run_suite(None, probes="inertia,permanence", trials=2, seed=1, split="train")["summary"]
    inertia = r["inertia"]["train"]
    assert inertia["copy_last"]["vel_err_px"] > 3 * inertia["truth"]["vel_err_px"]
    assert inertia["const_velocity"]["pos_err_px"] > inertia["truth"]["pos_err_px"]
    assert r["permanence"]["train"]["const_velocity"]["see_through"] > 0


# ---------------------------------------------------------------------------- broken videos are flagged
def test_permanence_fails_when_the_ball_is_deleted_after_the_occluder():
    clip = clip_with("occlusion", lambda c: len(c.scene.balls) == 1 and any(
        iv["start"] >= K_OBS for iv in c.gt.occlusions))
    iv = clip.gt.occlusions[0]
    frames = clip.frames.copy()
    hidden = frames[iv["start"]]  # the ball is behind the wall: its later path shows plain background here
    yy, xx = np.mgrid[0:32, 0:32] + 0.5
    for t in range(iv["end"] + 1, 16):
        c, r = clip.gt.centroids[t, 0], clip.gt.radii_px[t, 0]
        disc = (xx - c[0]) ** 2 + (yy - c[1]) ** 2 <= (r + 1.5) ** 2
        frames[t][disc] = hidden[disc]
    good = M.permanence_metrics(video_of(clip.frames), clip, K_OBS)
    bad = M.permanence_metrics(video_of(frames), clip, K_OBS)
    assert good["reemergence_rate"] == 1 and good["impossible_events"] == 0
    assert bad["reemergence_rate"] == 0 and bad["vanish_in_open"] > 0


def test_colour_constancy_fails_when_the_colour_swaps_mid_clip():
    clip = clip_with("occlusion", lambda c: any(iv["start"] >= K_OBS for iv in c.gt.occlusions))
    iv = clip.gt.occlusions[0]
    frames = clip.frames.copy()
    after = frames[iv["end"] + 1:]
    frames[iv["end"] + 1:] = after[..., ::-1]  # RGB -> BGR: every ball colour becomes another palette colour
    assert M.permanence_metrics(video_of(clip.frames), clip, K_OBS)["colour_kept"] == 1
    assert M.permanence_metrics(video_of(frames), clip, K_OBS)["colour_kept"] < 0.5


def test_shuffled_frames_raise_velocity_error_reversals_and_roughness():
    clip = clip_with("inertia", lambda c: np.all(c.gt.visible >= 0.95))
    frames = clip.frames.copy()
    perm = np.random.default_rng(0).permutation(np.arange(K_OBS, 16))
    frames[K_OBS:] = clip.frames[perm]
    good, bad = video_of(clip.frames), video_of(frames)
    gi, bi = M.inertia_metrics(good, clip, K_OBS), M.inertia_metrics(bad, clip, K_OBS)
    assert bi["vel_err_px"] > 5 * gi["vel_err_px"]
    assert bi["reversals"] > gi["reversals"] == 0
    assert bi["linear_r2"] < 0.5 < gi["linear_r2"]
    assert M.temporal_metrics(bad, clip, K_OBS)["smoothness_px"] > 5 * M.temporal_metrics(good, clip, K_OBS)["smoothness_px"]


def test_consistency_fails_when_the_cameras_do_not_match_the_frames():
    clip = clip_with("camera", lambda c: c.scene.camera.motion == "orbit")
    cam = clip.scene.camera
    other = make_clip(replace(clip.scene, camera=replace(cam, yaw_speed=-cam.yaw_speed)), 32, 32)
    wrong = replace(clip, gt=replace(clip.gt, Rt=other.gt.Rt))
    good = M.consistency_metrics(video_of(clip.frames), clip, K_OBS)
    bad = M.consistency_metrics(video_of(clip.frames), wrong, K_OBS)
    assert good["pairs_ok"] == 1
    # pairs a frame or two apart barely rotate, so only the share of good pairs drops, not to zero
    assert bad["sampson_px"] > 4 * good["sampson_px"] and bad["pairs_ok"] <= 0.75
    assert bad["transfer_px"] > 4 * good["transfer_px"]


# ---------------------------------------------------------------------------- suite, model row, CLI
def test_model_row_runs_through_the_suite_with_finite_or_undefined_values(tiny_pipe):
    result = run_suite(tiny_pipe, probes="inertia,permanence,long_range", trials=1, seed=0, split="train", steps=2,
                       keep_frames=True)
    rows = result["config"]["rows"]
    assert "model" in rows
    for probe, splits in result["summary"].items():
        model = splits["train"]["model"]
        assert model, probe
        for v in model.values():
            assert v is None or math.isfinite(v)
    trial = result["trials"][0]
    assert result.frames[trial["id"]]["model"].shape == (16, 32, 32, 3)
    json.dumps(result, allow_nan=False)
    assert "| model |" in to_markdown(result) and "model" in format_table(result)


def test_cli_writes_json_and_markdown_without_a_model(tmp_path, capsys):
    import argparse

    from playground.cli_probe import add_probe_parser

    parser = argparse.ArgumentParser()
    add_probe_parser(parser.add_subparsers(dest="command"))
    out, md = tmp_path / "p.json", tmp_path / "p.md"
    args = parser.parse_args(["probe", "--suite", "inertia,occlusion", "--trials", "1", "--no-model",
                              "--json", str(out), "--markdown", str(md), "--quiet"])
    assert args.func(args) == 0
    data = json.loads(out.read_text())
    assert set(data["summary"]) == {"inertia", "permanence"}
    assert set(data["summary"]["inertia"]) == {"train", "heldout"}
    assert "## inertia (train" in md.read_text()
    assert "vel_err_px" in capsys.readouterr().out


def test_cli_rejects_a_missing_model_folder_with_exit_code_2(tmp_path, capsys):
    import argparse

    from playground.cli_probe import add_probe_parser

    parser = argparse.ArgumentParser()
    add_probe_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["probe", "--model", str(tmp_path / "nope"), "--json", str(tmp_path / "p.json")])
    from playground.errors import UserError, run_command

    with pytest.raises(UserError, match="no model folder"):
        args.func(args)
    assert run_command(args.func, args) == 2 and "no model folder" in capsys.readouterr().err


def test_run_suite_rejects_unknown_probes_and_bad_sizes():
    with pytest.raises(ValueError, match="unknown probe"):
        run_suite(None, probes="telepathy")
    with pytest.raises(ValueError, match="observed"):
        run_suite(None, probes="inertia", observed=15)
