"""How precisely the captioner's front end measures a ball's start-of-clip heading, per estimator, against the
simulator's truth: balls of caption eval's clips that roll under a still camera, pass behind nothing and meet no
wall, ball or kick by frame 4 ("plain" in misses.py). start_motion's windows, straight-line fits over frames 0..k,
a fit up to the ball's true first event (the oracle), and the oracle's misses.

    python runs/captioner-v3/front_end.py [split]
"""
import sys

import numpy as np
import torch

from common import ball_rows, condition, eval_split, heading, ls_velocity
from playground.captioner import START_WINDOWS, first_view, mask_centroids, palette_affinity, start_motion, to_pixels

split = sys.argv[1] if len(sys.argv) > 1 else "train"
frames, caps, scenes = eval_split(split)
x = torch.as_tensor(frames).float().permute(0, 4, 1, 2, 3)  # (B, 3, T, H, W)
B, _, T, H, W = x.shape
mass, cx, cy, _ = mask_centroids(palette_affinity(x))
u, v = to_pixels(cx, cy, H, W)
plane, _ = first_view(H, W)[0](u, v)  # (B, K, T, 2): the first frame's camera, the plane of a nominal ball's centre
sm = start_motion(x[:, :, : max(START_WINDOWS) + 1])  # (B, K, J, 3, 2)
rows = ball_rows(scenes)
print(f"{split}: {len(rows)} balls")
sel = [r for r in rows if condition(r) == "plain"]
print(f"still camera, no gravity: {len(sel)} balls")


def ang_err(a, b):
    return abs((np.degrees(np.arctan2(a[1], a[0]) - np.arctan2(b[1], b[0])) + 180) % 360 - 180)


def until_event(r):
    """The last frame before the ball's first event that it is seen up to."""
    k = int(min(15, np.floor(r["first"])))
    seen = (mass[r["b"], r["ci"]] > 0.5).numpy()
    while k > 1 and not seen[: k + 1].all():
        k -= 1
    return k


def track(r):
    return plane[r["b"], r["ci"]].numpy()


estimators = [(f"window {k} endpoint", lambda r, j=j: sm[r["b"], r["ci"], j, 0].numpy()) for j, k in enumerate(START_WINDOWS)]
estimators += [(f"LS fit 0..{k}", lambda r, k=k: ls_velocity(track(r), k)) for k in (3, 5, 8, 11, 15)]
estimators += [("LS to the first event (oracle)", lambda r: ls_velocity(track(r), until_event(r)))]
for name, fn in estimators:
    est = [fn(r) for r in sel]
    ok = [heading(e) == r["truth"] for e, r in zip(est, sel)]
    errs = [ang_err(e, r["v"]) for e, r in zip(est, sel) if np.hypot(*r["v"]) > 0.05]
    print(f"  {name:22s} heading right {np.mean(ok):.3f}, angle error median {np.median(errs):.1f} deg, p90 {np.percentile(errs, 90):.1f}")
print("  frames to the first event:", np.bincount([until_event(r) for r in sel]))
edges_deg = (26.565, 63.435, 116.565, 153.435, -26.565, -63.435, -116.565, -153.435)
print("oracle misses:")
for r in sel:
    k, b, ci = until_event(r), r["b"], r["ci"]
    est = ls_velocity(track(r), k)
    if heading(est) != r["truth"]:
        a = np.degrees(np.arctan2(r["v"][1], r["v"][0]))
        marg = min(abs((a - e_ + 180) % 360 - 180) for e_ in edges_deg)
        res = track(r)[: k + 1] - (track(r)[0] + np.arange(k + 1)[:, None] * 0.1 * est)
        print(f"  k {k:2d} speed {np.hypot(*r['v']):.2f} est speed {np.hypot(*est):.2f} ang err {ang_err(est, r['v']):5.1f} margin {marg:4.1f} "
              f"mass0 {float(mass[b, ci, 0]):5.1f} u0 {float(u[b, ci, 0]):5.1f} v0 {float(v[b, ci, 0]):5.1f} n {r['n']} resid {np.abs(res).max():.3f}")
