"""start_fits read by a fixed rule (the longest span whose RMS residual stays under a threshold), per-ball heading
right by condition, against start_motion's 4-frame window, on caption eval's in-distribution clips.

    python runs/captioner-v3/fits_rule.py
"""
import collections

import numpy as np
import torch

from common import ball_rows, condition, eval_split, heading
from playground.captioner import FIT_SPANS, start_fits, start_motion

torch.set_num_threads(2)
frames, caps, scenes = eval_split("train")
x = torch.as_tensor(frames).float().permute(0, 4, 1, 2, 3)
fits = torch.cat([start_fits(x[i : i + 128], size_radius=False) for i in range(0, len(x), 128)])
fits_r = torch.cat([start_fits(x[i : i + 128], size_radius=True) for i in range(0, len(x), 128)])
sm = torch.cat([start_motion(x[i : i + 128, :, :9]) for i in range(0, len(x), 128)])


def rule(f, tau):
    """The velocity of the longest span that used most of its frames with a residual under tau (else the first)."""
    best = None
    for j in range(len(FIT_SPANS)):
        if f[j, 3] >= 0.6 and f[j, 2] < tau:
            best = j
    return f[best if best is not None else 0, :2]


by = collections.defaultdict(lambda: collections.defaultdict(list))
for r in ball_rows(scenes):
    b, ci, key, truth = r["b"], r["ci"], condition(r), r["truth"]
    by[key]["window 4"].append(heading(sm[b, ci, 3, 2]) == truth)
    for tau in (0.01, 0.02):
        by[key][f"fit rule tau {tau}"].append(heading(rule(fits[b, ci], tau)) == truth)
        by[key][f"own radius, tau {tau}"].append(heading(rule(fits_r[b, ci], tau)) == truth)
for key, d in sorted(by.items(), key=lambda kv: -len(kv[1]["window 4"])):
    print(f"{key} ({len(d['window 4'])} balls): " + ", ".join(f"{n} {np.mean(r):.3f}" for n, r in d.items()))
