"""Moving-camera balls (no gravity, not occluded, no wall/collision/kick by frame 4) of caption eval's
in-distribution clips: the start heading from the centroid rays with the registered camera (start_motion's estimate
2, and a line fitted up to the ball's first event) against the same rays through the true camera.

    python runs/captioner-v3/camera_oracle.py
"""
import numpy as np
import torch

from common import ball_rows, eval_split, heading, ls_velocity
from playground.captioner import (NOMINAL_RADIUS, _on_ball_plane, _register, _world_rays, mask_centroids,
                                  palette_affinity, start_motion, to_pixels)
from playground.world.camera import camera_path, intrinsics
from playground.world.captions import _view_axes
from playground.world.scene import CameraSpec

frames, caps, scenes = eval_split("train")
idx = [b for b, sc in enumerate(scenes) if (abs(sc.camera.yaw_speed) > 1e-9 or abs(sc.camera.pan_speed) > 1e-9)
       and not sc.gravity]
x = torch.as_tensor(frames[idx]).float().permute(0, 4, 1, 2, 3)
B, _, T, H, W = x.shape
aff = palette_affinity(x)
mass, cx, cy, _ = mask_centroids(aff)
u, v = to_pixels(cx, cy, H, W)
sm = start_motion(x[:, :, :9])
Kinv = np.linalg.inv(intrinsics(CameraSpec().fov_deg, H, W))
moves, offsets = _register(x.mean(1) / 255.0, (1 - aff.sum(1)).clamp(0, 1), tuple(range(T)))  # frame 0 registered too
reg = _on_ball_plane(*_world_rays(u, v, moves, offsets, H, W), NOMINAL_RADIUS).numpy()  # (B, K, T, 2)

res = {n: [] for n in ("est2 window 3", "est2 window 4", "registered LS to event", "true camera LS to event", "true camera window 4")}
sways = []
for r in ball_rows([scenes[b] for b in idx]):
    if r["occluded"] or r["first"] <= 4:
        continue
    i, ci, sc = r["b"], r["ci"], r["scene"]
    seen = (mass[i, ci] > 0.5).numpy()
    kk = int(min(15, np.floor(r["first"])))
    while kk > 1 and not seen[: kk + 1].all():
        kk -= 1
    Rt = camera_path(sc.camera, T, sc.dt)
    right, fwd = _view_axes(sc)
    pts = []  # the same rays through the true camera, on the plane of a nominal ball's centre, in the first view
    for f in range(T):
        R, t = Rt[f, :, :3], Rt[f, :, 3]
        eye = -R.T @ t
        d = R.T @ (Kinv @ np.array([float(u[i, ci, f]), float(v[i, ci, f]), 1.0]))
        X = eye + (eye[1] - NOMINAL_RADIUS) / max(-d[1], 1e-2) * d
        pts.append([X @ right, -(X @ fwd)])
    pts = np.array(pts)
    res["est2 window 3"].append(heading(sm[i, ci, 2, 2].numpy()) == r["truth"])
    res["est2 window 4"].append(heading(sm[i, ci, 3, 2].numpy()) == r["truth"])
    res["registered LS to event"].append(heading(ls_velocity(reg[i, ci], kk)) == r["truth"])
    res["true camera LS to event"].append(heading(ls_velocity(pts, kk)) == r["truth"])
    res["true camera window 4"].append(heading((pts[4] - pts[0]) / 0.4) == r["truth"])
    sways.append(sc.camera.sway_period > 0)
sways = np.array(sways)
print(f"{len(sways)} moving-camera balls ({sways.sum()} under a swaying camera)")
for n, r in res.items():
    r = np.array(r)
    print(f"  {n:26s} {r.mean():.3f}   steady camera {r[~sways].mean():.3f}   swaying {r[sways].mean() if sways.any() else float('nan'):.3f}")
