"""How precisely the captioner's front end measures a ball's start-of-clip heading, per estimator, on caption
eval's in-distribution clips (still camera), against the simulator's truth.

    python runs/captioner-v3/front_end.py [split]
"""
import sys
from pathlib import Path

import numpy as np
import torch

from playground.captioner import (COLOURS, START_WINDOWS, EvalConfig, _family_batches, cached_simulation, first_view,
                                  mask_centroids, palette_affinity, start_motion, to_pixels)
from playground.world.captions import _heading, passes_behind, scene_attributes
from playground.world.clip import batch_scenes
from playground.world.physics import simulate

split = sys.argv[1] if len(sys.argv) > 1 else "train"
e = EvalConfig()
seed = e.seed * 1000 + (1 if split == "train" else 2)
frames, caps = cached_simulation(Path("cache"), e.clips, seed, split=split, families=e.families, n_frames=e.frames,
                                 size=e.size)
scenes = [s for fam, m, s_ in _family_batches(e.clips, seed, e.families) for s in batch_scenes(m, s_, fam, split, e.frames)]
order = np.random.default_rng(seed).permutation(e.clips)
scenes = [scenes[i] for i in order]

x = torch.as_tensor(frames).float().permute(0, 4, 1, 2, 3)  # (B, 3, T, H, W)
B, _, T, H, W = x.shape
aff = palette_affinity(x)
mass, cx, cy, _ = mask_centroids(aff)
u, v = to_pixels(cx, cy, H, W)
on_plane, at_depth = first_view(H, W)
plane, d = on_plane(u, v)  # (B, K, T, 2)
sm = start_motion(x[:, :, : max(START_WINDOWS) + 1])  # (B, K, J, 3, 2)

rows = []
for b, sc in enumerate(scenes):
    traj = simulate(sc)
    at = scene_attributes(sc, traj)
    for k, ball in enumerate(sc.balls):
        ci = COLOURS.index(ball.color)
        ev = [ev.time for ev in traj.events if k in ev.balls and ev.kind in ("wall", "collision", "kick")]
        first = min(ev) if ev else 99
        rows.append(dict(b=b, ci=ci, v=np.array(at.velocities[k]), grav=sc.gravity, cam=at.camera, first=first,
                         n=len(sc.balls), occ=k in {j for j, _ in passes_behind(sc, traj)}))
print(f"{split}: {len(rows)} balls")


def heading(vec):
    return _heading(float(vec[0]), float(vec[1])) or "still"


def ls_fit(p, k):
    """Least-squares velocity of positions p (T, 2) over frames 0..k (per frame, dt 0.1)."""
    t = np.arange(k + 1) * 0.1
    A = np.stack([np.ones_like(t), t], 1)
    sol, *_ = np.linalg.lstsq(A, p[: k + 1], rcond=None)
    return sol[1]


def ang_err(a, b):
    return abs((np.degrees(np.arctan2(a[1], a[0]) - np.arctan2(b[1], b[0])) + 180) % 360 - 180)


sel = [r for r in rows if r["cam"] == "still" and not r["grav"] and not r["occ"] and r["first"] > 4]
print(f"still camera, no gravity: {len(sel)} balls")
for name, fn in [(f"window {k} endpoint", (lambda r, j=j: sm[r["b"], r["ci"], j, 0].numpy())) for j, k in enumerate(START_WINDOWS)] + \
        [(f"LS fit 0..{k}", (lambda r, k=k: ls_fit(plane[r["b"], r["ci"]].numpy(), k))) for k in (3, 5, 8, 11, 15)]:
    for cond, rs in (("no event before fit end", None), ("all", None)):
        pass
    ok, errs, ok_clean = [], [], []
    for r in sel:
        est = fn(r)
        ok.append(heading(est) == heading(r["v"]))
        if np.hypot(*r["v"]) > 0.05:
            errs.append(ang_err(est, r["v"]))
    print(f"  {name:22s} heading right {np.mean(ok):.3f}, angle error median {np.median(errs):.1f} deg, p90 {np.percentile(errs, 90):.1f}")



def until_event(r):
    k = int(min(15, np.floor(r["first"])))
    seen = (mass[r["b"], r["ci"]] > 0.5).numpy()
    while k > 1 and not seen[: k + 1].all():
        k -= 1
    return k


for name, fn in [("LS to the first event (oracle)", lambda r: ls_fit(plane[r["b"], r["ci"]].numpy(), until_event(r)))]:
    ok, errs = [], []
    for r in sel:
        est = fn(r)
        ok.append(heading(est) == heading(r["v"]))
        if np.hypot(*r["v"]) > 0.05:
            errs.append(ang_err(est, r["v"]))
    print(f"  {name:22s} heading right {np.mean(ok):.3f}, angle error median {np.median(errs):.1f} deg, p90 {np.percentile(errs, 90):.1f}")
    ks = [until_event(r) for r in sel]
    print("  frames to the first event:", np.bincount(ks))
edges_deg = (26.565, 63.435, 116.565, 153.435, -26.565, -63.435, -116.565, -153.435)
print("oracle misses:")
for r in sel:
    k = until_event(r)
    est = ls_fit(plane[r["b"], r["ci"]].numpy(), k)
    if heading(est) != heading(r["v"]):
        a = np.degrees(np.arctan2(r["v"][1], r["v"][0]))
        marg = min(abs((a - e_ + 180) % 360 - 180) for e_ in edges_deg)
        b, ci = r["b"], r["ci"]
        res = plane[b, ci, : k + 1].numpy() - (plane[b, ci, 0].numpy() + np.arange(k + 1)[:, None] * 0.1 * est)
        print(f"  k {k:2d} speed {np.hypot(*r['v']):.2f} est speed {np.hypot(*est):.2f} ang err {ang_err(est, r['v']):5.1f} margin {marg:4.1f} "
              f"mass0 {float(mass[b, ci, 0]):5.1f} u0 {float(u[b, ci, 0]):5.1f} v0 {float(v[b, ci, 0]):5.1f} n {r['n']} resid {np.abs(res).max():.3f}")
