"""Falling balls (still camera, not occluded, no wall/collision/kick by frame 4; 259 of caption eval's
in-distribution clips): how well can the start heading of a ball under gravity be read at 32x32? A fit of the
world's own bounce (dropped from rest, elastic floor) to the centroid track over frames 0..k (up to its first
non-floor event), searched over radius, drop height and g, in world space and in pixel space (with the apparent
size), with the true parameters instead of the search, by drift speed, with the frames where the mask touches the
image border left out, and on the exact projections of the true centres (a check of the fit: 100%).

    python runs/captioner-v3/fall_fit.py
"""
import numpy as np
import torch

from common import ball_rows, eval_split, heading, still_camera
from playground.captioner import mask_centroids, palette_affinity, start_motion, to_pixels
from playground.world.camera import camera_eye, intrinsics, look_at
from playground.world.scene import CameraSpec

frames, caps, scenes = eval_split("train")
idx = [b for b, sc in enumerate(scenes) if sc.gravity and still_camera(sc)]
x = torch.as_tensor(frames[idx]).float().permute(0, 4, 1, 2, 3)
B, _, T, H, W = x.shape
aff = palette_affinity(x)
mass, cx, cy, _ = mask_centroids(aff)
u, v = to_pixels(cx, cy, H, W)
sm = start_motion(x[:, :, :9])
border = torch.zeros(H, W, dtype=torch.bool)
border[0], border[-1], border[:, 0], border[:, -1] = True, True, True, True
clipped = (aff[..., border] > 0.05).any(-1).numpy()  # (B, K, T): the mask touches the image border
spec = CameraSpec()
eye = camera_eye(spec, 0.0)
Rt = look_at(eye, np.asarray(spec.look_at, dtype=float))
K = intrinsics(spec.fov_deg, H, W)
M = Rt[:, :3].T @ np.linalg.inv(K)  # pixel -> world ray; the view axes of the first frame: right +x, toward +z
P3 = K @ Rt  # (3, 4) projection
fpx = K[0, 0]
RS, HS, GS = np.linspace(0.14, 0.22, 5), np.linspace(0.5, 0.9, 17), np.linspace(2.0, 4.0, 17)
GRID = np.array([(r, h, g) for r in RS for h in HS for g in GS])  # (G, 3): radius, drop height, g searched
tt = np.arange(T) * 0.1


def bounce(r, h, g, t):
    """Centre height of a ball dropped from rest at r + h over an elastic floor (G,) x (T,) -> (G, T)."""
    fall = np.sqrt(2 * h / g)  # time to the floor
    ph = np.mod(t[None] + fall[:, None], 2 * fall[:, None]) - fall[:, None]  # time from the apex
    return r[:, None] + h[:, None] - 0.5 * g[:, None] * ph ** 2


def fit(uu, vv, mm, k, grid, size_w=1.0):
    """World-space fit: each frame's ray meets the bounce's height, a line through those points; the (r, h, g) of
    `grid` with the least residual (plus size_w times the apparent size's) -> its velocity and parameters."""
    Y = bounce(grid[:, 0], grid[:, 1], grid[:, 2], tt)
    d = np.stack([uu, vv, np.ones_like(uu)], -1) @ M.T  # (T, 3) world rays
    s = (eye[1] - Y[:, : k + 1]) / np.maximum(-d[None, : k + 1, 1], 1e-3)  # (G, k+1)
    P = eye[[0, 2]] + s[..., None] * d[None, : k + 1][..., [0, 2]]  # (G, k+1, 2)
    A = np.stack([np.ones_like(tt[: k + 1]), tt[: k + 1]], 1)
    sol = np.einsum("ij,gjc->gic", np.linalg.pinv(A), P)  # (G, 2, 2)
    res = ((P - np.einsum("ti,gic->gtc", A, sol)) ** 2).sum((1, 2))
    X = np.concatenate([P[..., :1], Y[:, : k + 1, None], P[..., 1:]], -1)
    zc = (X - eye) @ Rt[2, :3]  # camera depth; apparent radius rho = f r / depth
    rho_obs = np.sqrt(np.maximum(mm[: k + 1], 1e-3) / np.pi)
    res_size = ((fpx * grid[:, :1] / zc - rho_obs[None]) ** 2).sum(1) * (zc.mean(1) / fpx) ** 2
    best = np.argmin(res + size_w * res_size)
    return sol[best, 1], grid[best]


def fit_px(uu, vv, mm, k, grid, size_w=1.0, iters=2, fw=None):
    """Pixel-space weighted least squares of (x0, z0, vx, vz) for each (r, h, g) of `grid`, frames weighted by fw;
    -> velocities (G, 2), cost (G,)."""
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


balls = []  # the falling balls that pass behind nothing and meet no wall, ball or kick by frame 4
for r in ball_rows([scenes[b] for b in idx]):
    if r["occluded"] or r["first"] <= 4:
        continue
    i, ci, ball = r["b"], r["ci"], r["ball"]
    seen = (mass[i, ci] > 0.5).numpy()
    r["k_event"] = int(min(15, np.floor(r["first"])))  # the last frame before its first event
    kk = r["k_event"]
    while kk > 1 and not seen[: kk + 1].all():
        kk -= 1
    r["kk"] = kk  # ... and seen in every frame up to it
    r["track"] = (u[i, ci].numpy(), v[i, ci].numpy(), mass[i, ci].numpy())
    r["fw"] = (seen & ~clipped[i, ci]).astype(float)  # frames seen and not cut by the border
    r["true"] = np.array([[ball.radius, ball.position[1] - ball.radius, r["scene"].g]])
    balls.append(r)
print(f"{len(balls)} falling balls, still camera")
print(f"  {'w4':20s} {np.mean([heading(sm[r['b'], r['ci'], 3, 1].numpy()) == r['truth'] for r in balls]):.3f}")
print(f"  {'w8':20s} {np.mean([heading(sm[r['b'], r['ci'], 5, 1].numpy()) == r['truth'] for r in balls]):.3f}")
for sw in (0.0, 1.0, 10.0):
    print(f"  {f'fit size_w {sw}':20s} {np.mean([heading(fit(*r['track'], r['kk'], GRID, sw)[0]) == r['truth'] for r in balls]):.3f}")
par_err = [np.abs(fit(*r["track"], r["kk"], GRID, 1.0)[1] - r["true"][0]) for r in balls]
print("  median |radius, drop height, g| error of the fit:", np.round(np.median(par_err, 0), 3))
# with the true radius, drop height and g (the search's ceiling)
print(f"  fit with the true parameters  {np.mean([heading(fit(*r['track'], r['kk'], r['true'], 0.0)[0]) == r['truth'] for r in balls]):.3f}")
for sw in (0.0, 0.3, 1.0, 3.0):
    ok_true = [heading(fit_px(*r["track"], r["kk"], r["true"], sw)[0][0]) == r["truth"] for r in balls]
    ok_grid = []
    for r in balls:
        vel, cost = fit_px(*r["track"], r["kk"], GRID, sw)
        ok_grid.append(heading(vel[cost.argmin()]) == r["truth"])
    print(f"  pixel-space fit, size weight {sw}: true parameters {np.mean(ok_true):.3f}, searched {np.mean(ok_grid):.3f}")

# by true drift speed, the pixel-space fit with the true parameters (size weight 1)
bins = [0, 0.05, 0.1, 0.2, 0.3, 0.45, 1.0]
acc = {j: [] for j in range(len(bins) - 1)}
for r in balls:
    vel, _ = fit_px(*r["track"], r["kk"], r["true"], 1.0)
    acc[int(np.searchsorted(bins, float(np.hypot(*r["v"])), side="right") - 1)].append(heading(vel[0]) == r["truth"])
for j, a in acc.items():
    print(f"  true drift speed {bins[j]:.2f}-{bins[j + 1]:.2f} u/s: {np.mean(a) if a else float('nan'):.3f} of {len(a)}")


def projected(r):
    """The true centre's pixel u, v and the exact apparent area, per frame."""
    pc = np.concatenate([r["traj"].positions[:, r["k"]], np.ones((T, 1))], 1) @ P3.T
    return pc[:, 0] / pc[:, 2], pc[:, 1] / pc[:, 2], np.pi * (fpx * r["ball"].radius / pc[:, 2]) ** 2


# sanity: the same fit on the exact projections of the true centres (and the exact apparent radius)
ok, ok_c = [], []
for r in balls:
    uu, vv, mm = projected(r)
    k = r["k_event"]
    ok.append(heading(fit_px(uu, vv, mm, k, r["true"], 1.0)[0][0]) == r["truth"])
    ok_c.append((np.abs(uu[: k + 1] - r["track"][0][: k + 1]).mean(), np.abs(vv[: k + 1] - r["track"][1][: k + 1]).mean()))
print(f"  exact projections, true parameters: {np.mean(ok):.3f}; mean |centroid - projected centre| u, v: {np.round(np.mean(ok_c, 0), 3)} px")

print("misses, true parameters, size weight 0:")
misses = [r for r in balls if heading(fit_px(*r["track"], r["kk"], r["true"], 0.0)[0][0]) != r["truth"]]
for r in misses[:20]:
    kk, (pu, pv, _) = r["kk"], projected(r)
    vel = fit_px(*r["track"], kk, r["true"], 0.0)[0][0]
    print(f"  kk {kk:2d} true {np.round(r['v'], 2)} fit {np.round(vel, 2)}  du {np.round(r['track'][0][:kk+1] - pu[:kk+1], 1)}  dv {np.round(r['track'][1][:kk+1] - pv[:kk+1], 1)}")

for sw in (0.0, 1.0):
    ok_true = [heading(fit_px(*r["track"], r["k_event"], r["true"], sw, fw=r["fw"])[0][0]) == r["truth"] for r in balls]
    ok_grid = []
    for r in balls:
        vel, cost = fit_px(*r["track"], r["k_event"], GRID, sw, fw=r["fw"])
        ok_grid.append(heading(vel[cost.argmin()]) == r["truth"])
    print(f"  clipped frames left out, size weight {sw}: true parameters {np.mean(ok_true):.3f}, searched {np.mean(ok_grid):.3f}")
