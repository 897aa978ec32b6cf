"""Specifications of the world simulator: physics, rendering, ground truth, captions, families, CLI."""

import json

import numpy as np
import pytest

from playground.world import (FAMILIES, PALETTE, RANGES, SPLITS, Ball, CameraSpec, Occluder, Scene, make_clip,
                              rich_caption, sample_clip, sample_frames_batch, sample_scene, simulate)
from playground.world.families import occlusion_visibility


def _ball(color="red", r=0.15, x=0.0, z=0.0, vx=0.0, vz=0.0, y=None, vy=0.0):
    return Ball(color, r, (x, r if y is None else y, z), (vx, vy, vz))


def _momentum_energy(scene, traj, f):
    m = np.array([b.radius ** 2 for b in scene.balls])
    v = traj.velocities[f]
    return (m[:, None] * v).sum(0), 0.5 * (m * (v ** 2).sum(1)).sum()


def test_collision_conserves_momentum_and_kinetic_energy():
    scene = Scene([_ball("red", 0.15, -0.5, 0.02, vx=0.9), _ball("blue", 0.22, 0.3, -0.05, vx=-0.4)], n_frames=8)
    traj = simulate(scene.validate())
    assert [e.kind for e in traj.events] == ["collision"]
    p0, e0 = _momentum_energy(scene, traj, 0)
    p1, e1 = _momentum_energy(scene, traj, -1)
    assert np.allclose(p1, p0, rtol=0, atol=1e-9 * np.linalg.norm(p0))
    assert abs(e1 - e0) <= 1e-9 * e0


def test_wall_bounce_flips_normal_velocity_and_keeps_tangential():
    scene = Scene([_ball(x=0.7, vx=1.0, vz=0.3)], n_frames=5).validate()
    traj = simulate(scene)
    assert traj.events[0].kind == "wall"
    assert np.allclose(traj.velocities[-1], [-1.0, 0.0, 0.3])
    assert traj.positions[:, 0, 0].max() <= 1.0 - 0.15 + 1e-12


def test_floor_bounce_flips_vertical_velocity_and_keeps_horizontal():
    scene = Scene([_ball(y=0.4, vx=0.2, vy=-1.0)], gravity=True, g=2.0, n_frames=4).validate()
    traj = simulate(scene)
    floor = [e for e in traj.events if e.kind == "floor"]
    assert floor and floor[0].time < 3
    vy_before = -np.sqrt(1.0 + 2 * 2.0 * (0.4 - 0.15))  # energy: speed at the floor
    t = floor[0].time * scene.dt
    vy_after_end = -vy_before - 2.0 * (3 * scene.dt - t)
    assert np.isclose(traj.velocities[-1, 0, 1], vy_after_end)
    assert np.isclose(traj.velocities[-1, 0, 0], 0.2)
    assert traj.positions[:, 0, 1].min() >= 0.15 - 1e-12


def test_rendered_centroid_matches_projected_ground_truth_at_64px():
    scene = Scene([_ball("red", 0.2, -0.4, 0.3), _ball("blue", 0.15, 0.55, -0.4)], n_frames=1)
    clip = make_clip(scene, 64, 64)
    f = clip.frames[0].astype(int)
    for k, b in enumerate(scene.balls):
        target = np.array(PALETTE[b.color])
        mask = np.abs(f - target * (f.sum(-1, keepdims=True) / target.sum())).max(-1) < 25  # hue match
        mask &= np.abs(f - f.mean(-1, keepdims=True)).max(-1) > 40  # saturated, not the grey floor
        rows, cols = np.nonzero(mask)
        w = np.abs(f[rows, cols] - np.array([90, 92, 100])).sum(-1)  # colour weight: distance from the floor
        centroid = np.array([(cols + 0.5) @ w, (rows + 0.5) @ w]) / w.sum()
        assert np.linalg.norm(centroid - clip.gt.centroids[0, k]) < 0.5


def test_visible_fraction_is_zero_behind_an_occluder_and_one_in_the_open():
    wall = Occluder((0.0, 0.4, 0.3), (0.8, 0.8, 0.06), "grey")
    scene = Scene([_ball("red", 0.15, 0.0, -0.2), _ball("blue", 0.15, 0.5, 0.5)], occluders=[wall], n_frames=2)
    vis = make_clip(scene, 64, 64).gt.visible
    assert np.all(vis[:, 0] == 0.0)
    assert np.all(vis[:, 1] == 1.0)


def test_same_seed_gives_identical_clips_and_different_seeds_differ():
    a, b, c = sample_clip("mixed", "train", 5), sample_clip("mixed", "train", 5), sample_clip("mixed", "train", 6)
    assert a.frames.tobytes() == b.frames.tobytes() and a.caption == b.caption
    assert a.frames.tobytes() != c.frames.tobytes()
    fa, ra, _ = sample_frames_batch(3, seed=1)
    fb, rb, _ = sample_frames_batch(3, seed=1)
    assert fa.shape == (3, 16, 32, 32, 3) and fa.tobytes() == fb.tobytes() and ra == rb


def test_a_scene_at_twice_its_time_step_is_the_scene_seen_every_second_frame():
    """time_scale (the captioner's fast clips): the same scenes, twice as fast - frame f of the fast clip is frame
    2f of the clip twice as long (scenes without kicks: a kick is set at a frame)."""
    from dataclasses import replace

    from playground.world.clip import render_scene

    fast, _, _ = sample_frames_batch(4, seed=3, family="camera", time_scale=2.0)
    for i, child in enumerate(np.random.SeedSequence(3).spawn(4)):
        scene = sample_scene("camera", "train", np.random.default_rng(child), 16)
        slow = render_scene(replace(scene, n_frames=31))[::2]
        assert not scene.kicks and np.abs(fast[i].astype(int) - slow.astype(int)).max() <= 1  # float rounding


def test_caption_names_colours_count_gravity_occluder_and_camera():
    scene = Scene([_ball("green", 0.15, -0.3, -0.3, y=0.6, vx=0.3), _ball("magenta", 0.15, 0.4, 0.0, y=0.5)],
                  gravity=True, occluders=[Occluder((0.0, 0.3, 0.5), (0.3, 0.6, 0.05), "brown")],
                  camera=CameraSpec("orbit", yaw_speed=0.3), n_frames=8)
    text = rich_caption(scene.validate()).lower()
    for word in ("green", "magenta", "two balls", "falls and bounces", "orbits"):
        assert word in text
    occ = sample_scene("occlusion", "train", np.random.default_rng(0))
    assert "passes behind the" in rich_caption(occ)


@pytest.mark.parametrize("mutate, message", [
    (lambda s: setattr(s.balls[0], "radius", -0.1), "radius"),
    (lambda s: setattr(s.balls[0], "position", (1.5, 0.15, 0.0)), "outside the arena"),
    (lambda s: s.balls.extend(_ball(c, 0.05, -0.9 + 0.15 * i, 0.9) for i, c in enumerate(list(PALETTE)[:6])),
     "1 to 6 balls"),
    (lambda s: setattr(s.balls[0], "color", "purple"), "unknown colour"),
    (lambda s: setattr(s, "n_frames", 0), "n_frames"),
    (lambda s: setattr(s.balls[1], "position", (0.1, 0.15, 0.0)), "intersect"),
])
def test_bad_scene_specs_raise_value_error_with_a_helpful_message(mutate, message):
    scene = Scene([_ball("red"), _ball("blue", x=0.6)])
    mutate(scene)
    with pytest.raises(ValueError, match=message):
        scene.validate()


def test_zero_size_frames_are_rejected():
    with pytest.raises(ValueError, match="height must be"):
        make_clip(Scene([_ball()], n_frames=1), 0, 32)


def test_scene_json_round_trip():
    scene = sample_scene("occlusion", "heldout", np.random.default_rng(2))
    assert Scene.from_json(scene.to_json()).to_dict() == scene.to_dict()


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("split", SPLITS)
def test_every_family_and_split_samples_valid_scenes_with_the_event_in_the_clip(family, split):
    for seed in range(3):
        scene = sample_scene(family, split, np.random.default_rng(seed)).validate()
        kinds = [e.kind for e in simulate(scene).events if 0 < e.time < scene.n_frames - 1]
        if family == "collision":
            assert "collision" in kinds
        if family == "gravity":
            assert "floor" in kinds
        if family == "occlusion":
            vis = occlusion_visibility(scene)[:, 0]
            assert vis[0] > 0.5 and vis.min() < 0.05
        if family == "camera":
            assert scene.camera.motion in ("orbit", "pan")


def test_heldout_ranges_are_disjoint_from_training_ranges():
    for family, splits in RANGES.items():
        assert set(splits["train"]) == set(splits["heldout"])
        for param, train in splits["train"].items():
            for lo, hi in splits["heldout"][param]:
                for tlo, thi in train:
                    assert hi < tlo or lo > thi, (family, param)


def test_cli_writes_an_h264_mp4_and_json(tmp_path):
    import imageio_ffmpeg

    from playground.cli_world import main

    out = tmp_path / "clip.mp4"
    assert main(["--family", "occlusion", "--seed", "3", "--frames", "12", "--out", str(out)]) == 0
    n_frames, _ = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert n_frames == 12
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    reader.close()
    assert meta["codec"].startswith("h264") and min(meta["size"]) >= 256
    data = json.loads((tmp_path / "clip.json").read_text())
    assert data["scene"]["metadata"]["family"] == "occlusion" and len(data["ground_truth"]["visible"]) == 12


def test_cli_rejects_bad_arguments_without_traceback(tmp_path, capsys):
    from playground.cli_world import main

    assert main(["--height", "0", "--out", str(tmp_path / "x.mp4")]) == 2
    assert "height must be" in capsys.readouterr().err


def test_every_sub_command_reports_a_user_error_as_one_line_and_status_2(tmp_path):
    """Through the real entry point (`python -m playground` runs __main__ as a script): a sub-command's UserError
    is the entry point's, so it prints one line and exits 2 - no traceback."""
    import subprocess
    import sys

    for argv in (["inspect", "--what", "nothing"], ["emergence", str(tmp_path)],
                 ["world", "--fps", "0", "--out", str(tmp_path / "x.mp4")]):
        p = subprocess.run([sys.executable, "-m", "playground", *argv], capture_output=True, text=True, timeout=120)
        assert p.returncode == 2, (argv, p.stderr)
        assert p.stderr.startswith("error: ") and "Traceback" not in p.stderr, (argv, p.stderr)
