"""Inertia, tried as a new user would: one ball rolling in a straight line at an in-distribution speed, away from
the walls, 4 frames observed, 12 predicted. Reports the position error of the model, copy-last and constant
velocity (last two observed points) at each predicted frame, and how often each is within 2 px of the truth
8 frames after the last observed one.

    python runs/worldsim-v2/straight_roll.py [MODEL_DIR] [--steps N] [--guidance G]
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import torch

from playground.paths import DEFAULT_MODEL_DIR
from playground.pipeline import WorldSimPipeline
from playground.probes import parse_video
from playground.world.clip import make_clip
from playground.world.scene import Ball, Scene

COLORS = ("red", "blue", "green", "yellow", "orange", "magenta")


def scenes(speed: float = 0.6) -> list[Scene]:
    """Eight directions, starting 0.48 units behind the centre so that 16 frames (1.6 s) stay off the walls."""
    out = []
    for k in range(8):
        a = 2 * math.pi * k / 8
        d = (math.cos(a), math.sin(a))
        p = (-0.48 * d[0], 0.18, -0.48 * d[1])  # radius 0.18: in the training range
        out.append(Scene(balls=[Ball(COLORS[k % len(COLORS)], 0.18, p, (speed * d[0], 0.0, speed * d[1]))], seed=k))
    return out


def nearest(dets, color, truth):
    c = [d for d in dets if d.color == color]
    if not c:
        return None
    return min(math.hypot(d.x - truth[0], d.y - truth[1]) for d in c)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=str(DEFAULT_MODEL_DIR))
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--obs", type=int, default=4)
    ap.add_argument("--guidance", type=float, default=2.0)
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    pipe = WorldSimPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    k = args.obs
    rows = {"model": [], "copy_last": [], "const_velocity": []}
    for sc in scenes():
        clip = make_clip(sc)
        kw = {} if args.steps is None else {"num_inference_steps": args.steps}
        out = pipe(clip.caption, observed_frames=clip.frames[:k], generator=torch.Generator().manual_seed(sc.seed),
                   guidance_scale=args.guidance, enrich_prompt=False, **kw).frames[0]
        parsed = parse_video(out)
        col = sc.balls[0].color
        c = clip.gt.centroids[:, 0]
        v = c[k - 1] - c[k - 2]
        errs = {name: [] for name in rows}
        for t in range(k, 16):
            e = nearest(parsed[t], col, c[t])
            errs["model"].append(float("nan") if e is None else e)
            errs["copy_last"].append(float(np.hypot(*(c[k - 1] - c[t]))))
            errs["const_velocity"].append(float(np.hypot(*(c[k - 1] + (t - k + 1) * v - c[t]))))
        for name in rows:
            rows[name].append(errs[name])
    res = {}
    for name, r in rows.items():
        a = np.array(r)  # (scenes, predicted frames); NaN = ball not found
        res[name] = {"mean_px": float(np.nanmean(a)), "found": float(np.isfinite(a).mean()),
                     "at_plus8_px": [None if not np.isfinite(x) else round(float(x), 2) for x in a[:, 7]],
                     "within_2px_at_plus8": float((np.nan_to_num(a[:, 7], nan=99.0) <= 2.0).mean())}
    print(json.dumps({"model": args.model, "steps": args.steps, "guidance": args.guidance, **res}, indent=1))


if __name__ == "__main__":
    main()
