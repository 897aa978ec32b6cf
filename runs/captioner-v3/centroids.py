"""Centroid estimators against the projected true ball centres (still camera, visible, unoccluded balls of caption
eval's in-distribution clips): per-frame error after each ball's own mean is taken out (what moves a velocity).

    python runs/captioner-v3/centroids.py
"""
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from playground.captioner import COLOURS, EvalConfig, _family_batches, _PAL, cached_simulation, mask_centroids, palette_affinity, to_pixels
from playground.world.camera import camera_eye, intrinsics, look_at
from playground.world.clip import batch_scenes
from playground.world.physics import simulate
from playground.world.render import FLOOR_DARK
from playground.world.scene import CameraSpec

e = EvalConfig()
seed = e.seed * 1000 + 1
frames, caps = cached_simulation(Path("cache"), e.clips, seed, split="train", families=e.families, n_frames=e.frames, size=e.size)
scenes = [s for fam, m, s_ in _family_batches(e.clips, seed, e.families) for s in batch_scenes(m, s_, fam, "train", e.frames)]
order = np.random.default_rng(seed).permutation(e.clips)
scenes = [scenes[i] for i in order]
still = lambda sc: sc.camera.motion == "still" or (abs(sc.camera.yaw_speed) < 1e-9 and abs(sc.camera.pan_speed) < 1e-9)
idx = [b for b, sc in enumerate(scenes) if still(sc) and not sc.occluders and not sc.kicks][:400]
x = torch.as_tensor(frames[idx]).float().permute(0, 4, 1, 2, 3)
B, _, T, H, W = x.shape
spec = CameraSpec()
eye = camera_eye(spec, 0.0)
P3 = intrinsics(spec.fov_deg, H, W) @ look_at(eye, np.asarray(spec.look_at, dtype=float))


def chroma_weights(x, aff):
    """Each colour's chroma component orthogonal to the floor's grey, on the 3x3-dilated support of its mask."""
    n = torch.tensor(FLOOR_DARK / np.linalg.norm(FLOOR_DARK), dtype=x.dtype)
    xp = x - torch.einsum("bcthw,c->bthw", x, n)[:, None] * n[None, :, None, None, None]
    pal = _PAL.to(x)
    cp = pal - (pal @ n)[:, None] * n[None]
    w = torch.einsum("bcthw,kc->bkthw", xp, cp / cp.norm(dim=1, keepdim=True) ** 2).clamp(0, 1.5)
    sup = F.max_pool3d((aff > 0.2).float().flatten(0, 1)[:, None], (1, 3, 3), 1, (0, 1, 1))[:, 0].view_as(aff)
    return w * sup


aff = palette_affinity(x)
variants = {"soft affinity (today)": aff, "chroma on dilated support": chroma_weights(x, aff),
            "affinity > 0 support, chroma": chroma_weights(x, aff) * (aff > 0).float()}
errs = {k: [] for k in variants}
for name, m in variants.items():
    mass, cx, cy, _ = mask_centroids(m)
    u, v = to_pixels(cx, cy, H, W)
    for i, b in enumerate(idx):
        sc = scenes[b]
        traj = simulate(sc)
        for k, ball in enumerate(sc.balls):
            ci = COLOURS.index(ball.color)
            Xw = np.concatenate([traj.positions[:, k], np.ones((T, 1))], 1) @ P3.T
            pu, pv = Xw[:, 0] / Xw[:, 2], Xw[:, 1] / Xw[:, 2]
            ok = (pu > 3) & (pu < W - 3) & (pv > 3) & (pv < H - 3) & (mass[i, ci].numpy() > 3)
            if ok.sum() < 4:
                continue
            du, dv = u[i, ci].numpy()[ok] - pu[ok], v[i, ci].numpy()[ok] - pv[ok]
            errs[name].append(np.concatenate([du - du.mean(), dv - dv.mean()]))
for name, e_ in errs.items():
    a = np.abs(np.concatenate(e_))
    print(f"  {name:32s} per-frame error (own mean out): mean {a.mean():.3f} px, p90 {np.percentile(a, 90):.3f} px")

print("signed bias (centroid - projected centre) by apparent radius:")
for name, m in variants.items():
    if "support, chroma" in name:
        continue
    mass, cx, cy, _ = mask_centroids(m)
    u, v = to_pixels(cx, cy, H, W)
    rows = []
    for i, b in enumerate(idx):
        sc = scenes[b]
        traj = simulate(sc)
        for k, ball in enumerate(sc.balls):
            ci = COLOURS.index(ball.color)
            Xw = np.concatenate([traj.positions[:, k], np.ones((T, 1))], 1) @ P3.T
            pu, pv = Xw[:, 0] / Xw[:, 2], Xw[:, 1] / Xw[:, 2]
            rho = P3[0, 0] * ball.radius / Xw[:, 2]
            ok = (pu > 4) & (pu < W - 4) & (pv > 4) & (pv < H - 4) & (mass[i, ci].numpy() > 3)
            for f in np.nonzero(ok)[0]:
                rows.append((rho[f], u[i, ci, f].item() - pu[f], v[i, ci, f].item() - pv[f], pu[f], pv[f]))
    r = np.array(rows)
    for lo, hi in ((1, 2), (2, 3), (3, 4), (4, 6), (6, 12)):
        s = r[(r[:, 0] >= lo) & (r[:, 0] < hi)]
        if len(s):
            print(f"  {name:28s} radius {lo}-{hi} px ({len(s):5d}): du {s[:, 1].mean():+.3f} dv {s[:, 2].mean():+.3f}  (std {s[:, 1].std():.3f}, {s[:, 2].std():.3f})")
    A = np.stack([r[:, 0], r[:, 3] - 16, r[:, 4] - 16, np.ones(len(r))], 1)
    for j, ax in ((1, "du"), (2, "dv")):
        c, *_ = np.linalg.lstsq(A, r[:, j], rcond=None)
        print(f"    {ax} ~ {c[0]:+.3f} rho {c[1]:+.4f} (u-16) {c[2]:+.4f} (v-16) {c[3]:+.3f}; residual std {np.std(r[:, j] - A @ c):.3f}")
