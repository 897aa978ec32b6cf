"""Centroid estimators against the projected true ball centres (still camera, visible, unoccluded balls of caption
eval's in-distribution clips): per-frame error after each ball's own mean is taken out (what moves a velocity).

    python runs/captioner-v3/centroids.py
"""
import numpy as np
import torch
import torch.nn.functional as F

from common import ball_rows, eval_split, still_camera
from playground.captioner import _PAL, mask_centroids, palette_affinity, to_pixels
from playground.world.camera import camera_eye, intrinsics, look_at
from playground.world.render import FLOOR_DARK
from playground.world.scene import CameraSpec

frames, caps, scenes = eval_split("train")
idx = [b for b, sc in enumerate(scenes) if still_camera(sc) and not sc.occluders and not sc.kicks][:400]
x = torch.as_tensor(frames[idx]).float().permute(0, 4, 1, 2, 3)
B, _, T, H, W = x.shape
spec = CameraSpec()
P3 = intrinsics(spec.fov_deg, H, W) @ look_at(camera_eye(spec, 0.0), np.asarray(spec.look_at, dtype=float))
balls = ball_rows([scenes[b] for b in idx])
for r in balls:  # the true centre projected: pixel u, v and the apparent radius, per frame
    Xw = np.concatenate([r["traj"].positions[:, r["k"]], np.ones((T, 1))], 1) @ P3.T
    r["pu"], r["pv"], r["rho"] = Xw[:, 0] / Xw[:, 2], Xw[:, 1] / Xw[:, 2], P3[0, 0] * r["ball"].radius / Xw[:, 2]


def chroma_weights(x, aff):
    """Each colour's chroma component orthogonal to the floor's grey, on the 3x3-dilated support of its mask."""
    n = torch.tensor(FLOOR_DARK / np.linalg.norm(FLOOR_DARK), dtype=x.dtype)
    xp = x - torch.einsum("bcthw,c->bthw", x, n)[:, None] * n[None, :, None, None, None]
    pal = _PAL.to(x)
    cp = pal - (pal @ n)[:, None] * n[None]
    w = torch.einsum("bcthw,kc->bkthw", xp, cp / cp.norm(dim=1, keepdim=True) ** 2).clamp(0, 1.5)
    sup = F.max_pool3d((aff > 0.2).float().flatten(0, 1)[:, None], (1, 3, 3), 1, (0, 1, 1))[:, 0].view_as(aff)
    return w * sup


def inside(r, margin, mass):
    """Frames where the projected centre is `margin` pixels inside the image and the mask holds 3 pixels."""
    pu, pv = r["pu"], r["pv"]
    return (pu > margin) & (pu < W - margin) & (pv > margin) & (pv < H - margin) & (mass[r["b"], r["ci"]].numpy() > 3)


aff = palette_affinity(x)
variants = {"soft affinity (today)": aff, "chroma on dilated support": chroma_weights(x, aff),
            "affinity > 0 support, chroma": chroma_weights(x, aff) * (aff > 0).float()}
centroids = {}
for name, m in variants.items():
    mass, cx, cy, _ = mask_centroids(m)
    centroids[name] = (mass, *(c.numpy() for c in to_pixels(cx, cy, H, W)))
for name, (mass, u, v) in centroids.items():
    errs = []
    for r in balls:
        ok = inside(r, 3, mass)
        if ok.sum() < 4:
            continue
        du, dv = u[r["b"], r["ci"]][ok] - r["pu"][ok], v[r["b"], r["ci"]][ok] - r["pv"][ok]
        errs.append(np.concatenate([du - du.mean(), dv - dv.mean()]))
    a = np.abs(np.concatenate(errs))
    print(f"  {name:32s} per-frame error (own mean out): mean {a.mean():.3f} px, p90 {np.percentile(a, 90):.3f} px")

print("signed bias (centroid - projected centre) by apparent radius:")
for name, (mass, u, v) in centroids.items():
    if "support, chroma" in name:
        continue
    rows = []
    for r in balls:
        for f in np.nonzero(inside(r, 4, mass))[0]:
            rows.append((r["rho"][f], u[r["b"], r["ci"], f] - r["pu"][f], v[r["b"], r["ci"], f] - r["pv"][f], r["pu"][f], r["pv"][f]))
    r = np.array(rows)
    for lo, hi in ((1, 2), (2, 3), (3, 4), (4, 6), (6, 12)):
        s = r[(r[:, 0] >= lo) & (r[:, 0] < hi)]
        if len(s):
            print(f"  {name:28s} radius {lo}-{hi} px ({len(s):5d}): du {s[:, 1].mean():+.3f} dv {s[:, 2].mean():+.3f}  (std {s[:, 1].std():.3f}, {s[:, 2].std():.3f})")
    A = np.stack([r[:, 0], r[:, 3] - 16, r[:, 4] - 16, np.ones(len(r))], 1)
    for j, ax in ((1, "du"), (2, "dv")):
        c, *_ = np.linalg.lstsq(A, r[:, j], rcond=None)
        print(f"    {ax} ~ {c[0]:+.3f} rho {c[1]:+.4f} (u-16) {c[2]:+.4f} (v-16) {c[3]:+.3f}; residual std {np.std(r[:, j] - A @ c):.3f}")
