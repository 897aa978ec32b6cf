"""Moving-camera balls (no gravity, not occluded, no event by frame 4): the start heading from the centroid rays
with the registered camera (start_motion's estimate 2) against the same rays through the true camera.

    python runs/captioner-v3/camera_oracle.py
"""
from pathlib import Path

import numpy as np
import torch

from playground.captioner import (COLOURS, NOMINAL_RADIUS, EvalConfig, _family_batches, cached_simulation,
                                  mask_centroids, palette_affinity, register_camera, start_motion, to_pixels)
from playground.world.camera import camera_path, intrinsics
from playground.world.captions import _heading, _view_axes, passes_behind, scene_attributes
from playground.world.clip import batch_scenes
from playground.world.physics import simulate
from playground.world.scene import CameraSpec

split = "train"
e = EvalConfig()
seed = e.seed * 1000 + 1
frames, caps = cached_simulation(Path("cache"), e.clips, seed, split=split, families=e.families, n_frames=e.frames, size=e.size)
scenes = [s for fam, m, s_ in _family_batches(e.clips, seed, e.families) for s in batch_scenes(m, s_, fam, split, e.frames)]
order = np.random.default_rng(seed).permutation(e.clips)
scenes = [scenes[i] for i in order]
idx = [b for b, sc in enumerate(scenes) if sc.camera.motion != "still" and (abs(sc.camera.yaw_speed) > 1e-9 or abs(sc.camera.pan_speed) > 1e-9) and not sc.gravity]
x = torch.as_tensor(frames[idx]).float().permute(0, 4, 1, 2, 3)
B, _, T, H, W = x.shape
aff = palette_affinity(x)
mass, cx, cy, _ = mask_centroids(aff)
u, v = to_pixels(cx, cy, H, W)
sm = start_motion(x[:, :, :9])
Kinv = np.linalg.inv(intrinsics(CameraSpec().fov_deg, H, W))
poses = register_camera(x.mean(1) / 255.0, (1 - aff.sum(1)).clamp(0, 1), tuple(range(T)))


def heading(vec):
    return _heading(float(vec[0]), float(vec[1])) or "still"


def ls(p, k):
    t = np.arange(k + 1) * 0.1
    return np.linalg.lstsq(np.stack([np.ones_like(t), t], 1), p[: k + 1], rcond=None)[0][1]


res = {n: [] for n in ("est2 window 3", "est2 window 4", "registered LS to event", "true camera LS to event", "true camera window 4")}
sways = []
for i, b in enumerate(idx):
    sc = scenes[b]
    traj = simulate(sc)
    at = scene_attributes(sc, traj)
    occ = {k for k, _ in passes_behind(sc, traj)}
    Rt = camera_path(sc.camera, T, sc.dt)
    right, fwd = _view_axes(sc)
    for k, ball in enumerate(sc.balls):
        evs = [ev.time for ev in traj.events if k in ev.balls]
        first = min(evs) if evs else 99
        if k in occ or first <= 4:
            continue
        ci = COLOURS.index(ball.color)
        seen = (mass[i, ci] > 0.5).numpy()
        kk = int(min(15, np.floor(first)))
        while kk > 1 and not seen[: kk + 1].all():
            kk -= 1
        pts = []
        for f in range(T):
            R, t = Rt[f, :, :3], Rt[f, :, 3]
            eye = -R.T @ t
            d = R.T @ (Kinv @ np.array([float(u[i, ci, f]), float(v[i, ci, f]), 1.0]))
            X = eye + (eye[1] - NOMINAL_RADIUS) / max(-d[1], 1e-2) * d
            pts.append([X @ right, -(X @ fwd)])
        pts = np.array(pts)
        # registered camera positions, in the first view frame of captioner coordinates
        from playground.captioner import camera_pose
        reg = []
        for f in range(T):
            Rr, er = camera_pose(*poses[i][f])
            d = Rr.T @ (Kinv @ np.array([float(u[i, ci, f]), float(v[i, ci, f]), 1.0]))
            X = er + (er[1] - NOMINAL_RADIUS) / max(-d[1], 1e-2) * d
            reg.append([X[0], X[2]])
        reg = np.array(reg)
        truth = heading(at.velocities[k])
        res["est2 window 3"].append(heading(sm[i, ci, 2, 2].numpy()) == truth)
        res["est2 window 4"].append(heading(sm[i, ci, 3, 2].numpy()) == truth)
        res["registered LS to event"].append(heading(ls(reg, kk)) == truth)
        res["true camera LS to event"].append(heading(ls(pts, kk)) == truth)
        res["true camera window 4"].append(heading((pts[4] - pts[0]) / 0.4) == truth)
        sways.append(sc.camera.sway_period > 0)
sways = np.array(sways)
print(f"{len(sways)} moving-camera balls ({sways.sum()} under a swaying camera)")
for n, r in res.items():
    r = np.array(r)
    print(f"  {n:26s} {r.mean():.3f}   steady camera {r[~sways].mean():.3f}   swaying {r[sways].mean() if sways.any() else float('nan'):.3f}")
