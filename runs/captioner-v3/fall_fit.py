"""Falling balls (still camera, not occluded, no wall/collision/kick by frame 4; 259 of caption eval's
in-distribution clips): how well can the start heading of a ball under gravity be read at 32x32? A fit of the
world's own bounce (dropped from rest, elastic floor) to the centroid track over frames 0..k (up to its first
non-floor event), searched over radius, drop height and g, in world space and in pixel space (with the apparent
size), with the true parameters instead of the search, by drift speed, with the frames where the mask touches the
image border left out, and on the exact projections of the true centres (a check of the fit: 100%).

    python runs/captioner-v3/fall_fit.py
"""
from pathlib import Path

import numpy as np
import torch

from playground.captioner import (COLOURS, EvalConfig, _family_batches, cached_simulation, mask_centroids,
                                  palette_affinity, start_motion, to_pixels)
from playground.world.camera import camera_eye, intrinsics, look_at
from playground.world.captions import _heading, passes_behind, scene_attributes
from playground.world.clip import batch_scenes
from playground.world.physics import simulate
from playground.world.scene import CameraSpec

e = EvalConfig()
seed = e.seed * 1000 + 1
frames, caps = cached_simulation(Path("cache"), e.clips, seed, split="train", families=e.families, n_frames=e.frames, size=e.size)
scenes = [s for fam, m, s_ in _family_batches(e.clips, seed, e.families) for s in batch_scenes(m, s_, fam, "train", e.frames)]
order = np.random.default_rng(seed).permutation(e.clips)
scenes = [scenes[i] for i in order]
still = lambda sc: sc.camera.motion == "still" or (abs(sc.camera.yaw_speed) < 1e-9 and abs(sc.camera.pan_speed) < 1e-9)
idx = [b for b, sc in enumerate(scenes) if sc.gravity and still(sc)]
x = torch.as_tensor(frames[idx]).float().permute(0, 4, 1, 2, 3)
B, _, T, H, W = x.shape
aff = palette_affinity(x)
mass, cx, cy, _ = mask_centroids(aff)
u, v = to_pixels(cx, cy, H, W)
sm = start_motion(x[:, :, :9])
spec = CameraSpec()
eye = camera_eye(spec, 0.0)
Rt = look_at(eye, np.asarray(spec.look_at, dtype=float))
K = intrinsics(spec.fov_deg, H, W)
M = Rt[:, :3].T @ np.linalg.inv(K)
# camera view axes in the first frame (yaw 0): right = +x, toward = +z
RS = np.linspace(0.14, 0.22, 5)
HS = np.linspace(0.5, 0.9, 17)
GS = np.linspace(2.0, 4.0, 17)
grid = np.array([(r, h, g) for r in RS for h in HS for g in GS])  # (G, 3)
tt = np.arange(T) * 0.1


def bounce(r, h, g, t):
    """Centre height of a ball dropped from rest at r + h over an elastic floor (G,) x (T,) -> (G, T)."""
    fall = np.sqrt(2 * h / g)  # time to the floor
    ph = np.mod(t[None] + fall[:, None], 2 * fall[:, None]) - fall[:, None]  # time from the apex
    return r[:, None] + h[:, None] - 0.5 * g[:, None] * ph ** 2


Y = bounce(grid[:, 0], grid[:, 1], grid[:, 2], tt)  # (G, T)


def fit(uu, vv, mm, k, size_w=1.0):
    d = np.stack([uu, vv, np.ones_like(uu)], -1) @ M.T  # (T, 3) world rays
    s = (eye[1] - Y[:, : k + 1]) / np.maximum(-d[None, : k + 1, 1], 1e-3)  # (G, k+1)
    P = eye[[0, 2]] + s[..., None] * d[None, : k + 1][..., [0, 2]]  # (G, k+1, 2)
    t = tt[: k + 1]
    A = np.stack([np.ones_like(t), t], 1)
    sol = np.einsum("ij,gjc->gic", np.linalg.pinv(A), P)  # (G, 2, 2)
    res = ((P - np.einsum("ti,gic->gtc", A, sol)) ** 2).sum((1, 2))
    # apparent radius: rho = f r / camera depth; camera depth of the point
    X = np.concatenate([P[..., :1], Y[:, : k + 1, None], P[..., 1:]], -1)
    zc = (X - eye) @ Rt[2, :3]
    rho = K[0, 0] * grid[:, :1] / zc
    rho_obs = np.sqrt(np.maximum(mm[: k + 1], 1e-3) / np.pi)
    res_size = ((rho - rho_obs[None]) ** 2).sum(1) * (zc.mean(1) / K[0, 0]) ** 2
    best = np.argmin(res + size_w * res_size)
    return sol[best, 1], grid[best]


def heading(vec):
    return _heading(float(vec[0]), float(vec[1])) or "still"


rows = []
for i, b in enumerate(idx):
    sc = scenes[b]
    traj = simulate(sc)
    at = scene_attributes(sc, traj)
    occ = {k for k, _ in passes_behind(sc, traj)}
    for k, ball in enumerate(sc.balls):
        evs = [ev.time for ev in traj.events if k in ev.balls and ev.kind != "floor"]
        first = min(evs) if evs else 99
        if k in occ or first <= 4:
            continue
        ci = COLOURS.index(ball.color)
        seen = (mass[i, ci] > 0.5).numpy()
        kk = int(min(15, np.floor(first)))
        while kk > 1 and not seen[: kk + 1].all():
            kk -= 1
        truth = heading(at.velocities[k])
        row = {"truth": truth, "w4": heading(sm[i, ci, 3, 1].numpy()) == truth, "w8": heading(sm[i, ci, 5, 1].numpy()) == truth}
        for sw in (0.0, 1.0, 10.0):
            vel, par = fit(u[i, ci].numpy(), v[i, ci].numpy(), mass[i, ci].numpy(), kk, sw)
            row[f"fit size_w {sw}"] = heading(vel) == truth
        vel, par = fit(u[i, ci].numpy(), v[i, ci].numpy(), mass[i, ci].numpy(), min(kk, 15), 1.0)
        row["par_err"] = np.abs(par - np.array([ball.radius, ball.position[1] - ball.radius, sc.g]))
        rows.append(row)
print(f"{len(rows)} falling balls, still camera")
for key in rows[0]:
    if key not in ("truth", "par_err"):
        print(f"  {key:20s} {np.mean([r[key] for r in rows]):.3f}")
print("  median |radius, drop height, g| error of the fit:", np.round(np.median([r["par_err"] for r in rows], 0), 3))

# with the true radius, drop height and g (the search's ceiling)
ok, ok_lr = [], []
for i, b in enumerate(idx):
    sc = scenes[b]
    traj = simulate(sc)
    at = scene_attributes(sc, traj)
    occ = {k for k, _ in passes_behind(sc, traj)}
    for k, ball in enumerate(sc.balls):
        evs = [ev.time for ev in traj.events if k in ev.balls and ev.kind != "floor"]
        first = min(evs) if evs else 99
        if k in occ or first <= 4:
            continue
        ci = COLOURS.index(ball.color)
        seen = (mass[i, ci] > 0.5).numpy()
        kk = int(min(15, np.floor(first)))
        while kk > 1 and not seen[: kk + 1].all():
            kk -= 1
        grid = np.array([[ball.radius, ball.position[1] - ball.radius, sc.g]])
        Y = bounce(grid[:, 0], grid[:, 1], grid[:, 2], tt)
        vel, _ = fit(u[i, ci].numpy(), v[i, ci].numpy(), mass[i, ci].numpy(), kk, 0.0)
        ok.append(heading(vel) == heading(at.velocities[k]))
print(f"  fit with the true parameters  {np.mean(ok):.3f}")

P3 = K @ Rt  # (3, 4) projection
fpx = K[0, 0]


def fit_px(uu, vv, mm, k, grid, size_w=1.0, iters=2, fw=None):
    """Pixel-space weighted least squares of (x0, z0, vx, vz) for each (r, h, g) of `grid`; -> velocities (G, 2), cost (G,)."""
    Yg = bounce(grid[:, 0], grid[:, 1], grid[:, 2], tt)[:, : k + 1]  # (G, k+1)
    t = tt[: k + 1]
    rho = np.sqrt(np.maximum(mm[: k + 1], 1e-3) / np.pi)
    G = len(grid)
    depth = fpx * grid[:, :1] / rho[None]  # (G, k+1) first guess from the size
    p1, p2, p3 = P3
    rows_u = p1[None] - uu[: k + 1, None] * p3[None]  # (k+1, 4)
    rows_v = p2[None] - vv[: k + 1, None] * p3[None]
    for _ in range(iters):
        A, bvec, w = [], [], []
        for rows in (rows_u, rows_v):
            a = np.stack([rows[:, 0], rows[:, 2], rows[:, 0] * t, rows[:, 2] * t], -1)  # (k+1, 4)
            A.append(np.broadcast_to(a, (G,) + a.shape))
            bvec.append(-(rows[None, :, 1] * Yg + rows[None, :, 3]))
            w.append(1.0 / depth)
        a = np.stack([p3[0] * np.ones_like(t), p3[2] * np.ones_like(t), p3[0] * t, p3[2] * t], -1)
        A.append(np.broadcast_to(a, (G,) + a.shape))
        bvec.append(fpx * grid[:, :1] / rho[None] - p3[1] * Yg - p3[3])
        w.append(size_w * fpx * grid[:, :1] / depth ** 2)
        if fw is not None:
            w = [wi * fw[None, : k + 1] for wi in w]
        A, bvec, w = np.concatenate(A, 1), np.concatenate(bvec, 1), np.concatenate(w, 1)
        Aw = A * w[..., None]
        sol = np.linalg.solve(np.einsum("gni,gnj->gij", Aw, Aw) + 1e-9 * np.eye(4), np.einsum("gni,gn->gi", Aw, bvec * w)[..., None])[..., 0]
        X = np.stack([sol[:, None, 0] + sol[:, None, 2] * t, Yg, sol[:, None, 1] + sol[:, None, 3] * t, np.ones_like(Yg)], -1)
        depth = np.maximum(X @ p3, 0.1)
    cost = (((np.einsum("gni,gi->gn", A, sol) - bvec) * w) ** 2).sum(1)
    return sol[:, 2:], cost


for sw in (0.0, 0.3, 1.0, 3.0):
    ok_true, ok_grid = [], []
    for i, b in enumerate(idx):
        sc = scenes[b]
        traj = simulate(sc)
        at = scene_attributes(sc, traj)
        occ = {k for k, _ in passes_behind(sc, traj)}
        for k, ball in enumerate(sc.balls):
            evs = [ev.time for ev in traj.events if k in ev.balls and ev.kind != "floor"]
            first = min(evs) if evs else 99
            if k in occ or first <= 4:
                continue
            ci = COLOURS.index(ball.color)
            seen = (mass[i, ci] > 0.5).numpy()
            kk = int(min(15, np.floor(first)))
            while kk > 1 and not seen[: kk + 1].all():
                kk -= 1
            args = (u[i, ci].numpy(), v[i, ci].numpy(), mass[i, ci].numpy(), kk)
            vel, _ = fit_px(*args, np.array([[ball.radius, ball.position[1] - ball.radius, sc.g]]), sw)
            ok_true.append(heading(vel[0]) == heading(at.velocities[k]))
            grid2 = np.array([(r, h, g) for r in RS for h in HS for g in GS])
            vel, cost = fit_px(*args, grid2, sw)
            ok_grid.append(heading(vel[cost.argmin()]) == heading(at.velocities[k]))
    print(f"  pixel-space fit, size weight {sw}: true parameters {np.mean(ok_true):.3f}, searched {np.mean(ok_grid):.3f}")

# by true drift speed, the pixel-space fit with the true parameters (size weight 1)
bins = [0, 0.05, 0.1, 0.2, 0.3, 0.45, 1.0]
acc = {j: [] for j in range(len(bins) - 1)}
for i, b in enumerate(idx):
    sc = scenes[b]
    traj = simulate(sc)
    at = scene_attributes(sc, traj)
    occ = {k for k, _ in passes_behind(sc, traj)}
    for k, ball in enumerate(sc.balls):
        evs = [ev.time for ev in traj.events if k in ev.balls and ev.kind != "floor"]
        first = min(evs) if evs else 99
        if k in occ or first <= 4:
            continue
        ci = COLOURS.index(ball.color)
        seen = (mass[i, ci] > 0.5).numpy()
        kk = int(min(15, np.floor(first)))
        while kk > 1 and not seen[: kk + 1].all():
            kk -= 1
        vel, _ = fit_px(u[i, ci].numpy(), v[i, ci].numpy(), mass[i, ci].numpy(), kk, np.array([[ball.radius, ball.position[1] - ball.radius, sc.g]]), 1.0)
        sp = float(np.hypot(*at.velocities[k]))
        acc[int(np.searchsorted(bins, sp, side="right") - 1)].append(heading(vel[0]) == heading(at.velocities[k]))
for j, a in acc.items():
    print(f"  true drift speed {bins[j]:.2f}-{bins[j + 1]:.2f} u/s: {np.mean(a) if a else float('nan'):.3f} of {len(a)}")

# sanity: the same fit on the exact projections of the true centres (and the exact apparent radius)
ok, ok_c = [], []
for i, b in enumerate(idx):
    sc = scenes[b]
    traj = simulate(sc)
    at = scene_attributes(sc, traj)
    occ = {k for k, _ in passes_behind(sc, traj)}
    for k, ball in enumerate(sc.balls):
        evs = [ev.time for ev in traj.events if k in ev.balls and ev.kind != "floor"]
        first = min(evs) if evs else 99
        if k in occ or first <= 4:
            continue
        kk = int(min(15, np.floor(first)))
        Xw = np.concatenate([traj.positions[:, k], np.ones((T, 1))], 1)
        pc = Xw @ P3.T
        uu, vv = pc[:, 0] / pc[:, 2], pc[:, 1] / pc[:, 2]
        mm = np.pi * (fpx * ball.radius / pc[:, 2]) ** 2
        vel, _ = fit_px(uu, vv, mm, kk, np.array([[ball.radius, ball.position[1] - ball.radius, sc.g]]), 1.0)
        ok.append(heading(vel[0]) == heading(at.velocities[k]))
        ci = COLOURS.index(ball.color)
        ok_c.append((np.abs(uu[:kk+1] - u[i, ci, :kk+1].numpy()).mean(), np.abs(vv[:kk+1] - v[i, ci, :kk+1].numpy()).mean()))
print(f"  exact projections, true parameters: {np.mean(ok):.3f}; mean |centroid - projected centre| u, v: {np.round(np.mean(ok_c, 0), 3)} px")

print("misses, true parameters, size weight 0:")
n = 0
for i, b in enumerate(idx):
    sc = scenes[b]
    traj = simulate(sc)
    at = scene_attributes(sc, traj)
    occ = {k for k, _ in passes_behind(sc, traj)}
    for k, ball in enumerate(sc.balls):
        evs = [ev.time for ev in traj.events if k in ev.balls and ev.kind != "floor"]
        first = min(evs) if evs else 99
        if k in occ or first <= 4:
            continue
        ci = COLOURS.index(ball.color)
        seen = (mass[i, ci] > 0.5).numpy()
        kk = int(min(15, np.floor(first)))
        while kk > 1 and not seen[: kk + 1].all():
            kk -= 1
        vel, _ = fit_px(u[i, ci].numpy(), v[i, ci].numpy(), mass[i, ci].numpy(), kk, np.array([[ball.radius, ball.position[1] - ball.radius, sc.g]]), 0.0)
        if heading(vel[0]) != heading(at.velocities[k]) and n < 20:
            n += 1
            Xw = np.concatenate([traj.positions[:, k], np.ones((T, 1))], 1) @ P3.T
            pu, pv = Xw[:, 0] / Xw[:, 2], Xw[:, 1] / Xw[:, 2]
            print(f"  kk {kk:2d} true {np.round(at.velocities[k], 2)} fit {np.round(vel[0], 2)}  du {np.round(u[i, ci, :kk+1].numpy() - pu[:kk+1], 1)}  dv {np.round(v[i, ci, :kk+1].numpy() - pv[:kk+1], 1)}")


border = torch.zeros(H, W, dtype=torch.bool)
border[0], border[-1], border[:, 0], border[:, -1] = True, True, True, True
clipped = (aff[..., border] > 0.05).any(-1).numpy()  # (B, K, T)
for sw in (0.0, 1.0):
    ok_true, ok_grid = [], []
    for i, b in enumerate(idx):
        sc = scenes[b]
        traj = simulate(sc)
        at = scene_attributes(sc, traj)
        occ = {k for k, _ in passes_behind(sc, traj)}
        for k, ball in enumerate(sc.balls):
            evs = [ev.time for ev in traj.events if k in ev.balls and ev.kind != "floor"]
            first = min(evs) if evs else 99
            if k in occ or first <= 4:
                continue
            ci = COLOURS.index(ball.color)
            fw = ((mass[i, ci] > 0.5).numpy() & ~clipped[i, ci]).astype(float)
            kk = int(min(15, np.floor(first)))
            args = (u[i, ci].numpy(), v[i, ci].numpy(), mass[i, ci].numpy(), kk)
            vel, _ = fit_px(*args, np.array([[ball.radius, ball.position[1] - ball.radius, sc.g]]), sw, fw=fw)
            ok_true.append(heading(vel[0]) == heading(at.velocities[k]))
            vel, cost = fit_px(*args, np.array([(r, h, g) for r in RS for h in HS for g in GS]), sw, fw=fw)
            ok_grid.append(heading(vel[cost.argmin()]) == heading(at.velocities[k]))
    print(f"  clipped frames left out, size weight {sw}: true parameters {np.mean(ok_true):.3f}, searched {np.mean(ok_grid):.3f}")
