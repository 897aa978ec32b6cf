"""start_fits read by a fixed rule (the longest span whose RMS residual stays under a threshold), per-ball heading
right by condition, against start_motion's 4-frame window, on caption eval's in-distribution clips.

    python runs/captioner-v3/fits_rule.py
"""
import collections
from pathlib import Path

import numpy as np
import torch

from playground.captioner import (COLOURS, FIT_SPANS, EvalConfig, _family_batches, cached_simulation, start_fits,
                                  start_motion)
from playground.world.captions import _heading, passes_behind, scene_attributes
from playground.world.clip import batch_scenes
from playground.world.physics import simulate

torch.set_num_threads(2)
e = EvalConfig()
seed = e.seed * 1000 + 1
frames, caps = cached_simulation(Path("cache"), e.clips, seed, split="train", families=e.families, n_frames=e.frames, size=e.size)
scenes = [s for fam, m, s_ in _family_batches(e.clips, seed, e.families) for s in batch_scenes(m, s_, fam, "train", e.frames)]
order = np.random.default_rng(seed).permutation(e.clips)
scenes = [scenes[i] for i in order]
x = torch.as_tensor(frames).float().permute(0, 4, 1, 2, 3)
fits = torch.cat([start_fits(x[i : i + 128], size_radius=False) for i in range(0, len(x), 128)])
fits_r = torch.cat([start_fits(x[i : i + 128], size_radius=True) for i in range(0, len(x), 128)])
sm = torch.cat([start_motion(x[i : i + 128, :, :9]) for i in range(0, len(x), 128)])


def heading(vec):
    return _heading(float(vec[0]), float(vec[1])) or "still"


def rule(f, tau):
    best = None
    for j in range(len(FIT_SPANS)):
        if f[j, 3] >= 0.6 and f[j, 2] < tau:
            best = j
    return f[best if best is not None else 0, :2]


by = collections.defaultdict(lambda: collections.defaultdict(list))
for b, sc in enumerate(scenes):
    traj = simulate(sc)
    at = scene_attributes(sc, traj)
    occ = {k for k, _ in passes_behind(sc, traj)}
    for k, ball in enumerate(sc.balls):
        ci = COLOURS.index(ball.color)
        evs = [ev.time for ev in traj.events if k in ev.balls and ev.kind in ("wall", "collision", "kick")]
        first = min(evs) if evs else 99
        conds = [c for c, on in (("gravity", sc.gravity), ("camera", at.camera != "still"), ("occluded", k in occ),
                                 ("event<=4", first <= 4)) if on]
        key = "+".join(conds) or "plain"
        truth = heading(at.velocities[k])
        by[key]["window 4"].append(heading(sm[b, ci, 3, 2]) == truth)
        for tau in (0.01, 0.02):
            by[key][f"fit rule tau {tau}"].append(heading(rule(fits[b, ci], tau)) == truth)
            by[key][f"own radius, tau {tau}"].append(heading(rule(fits_r[b, ci], tau)) == truth)
for key, d in sorted(by.items(), key=lambda kv: -len(kv[1]["window 4"])):
    print(f"{key} ({len(d['window 4'])} balls): " + ", ".join(f"{n} {np.mean(r):.3f}" for n, r in d.items()))
