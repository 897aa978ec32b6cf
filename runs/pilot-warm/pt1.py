"""Pilot: one frame per temporal patch (patch_size_t 1: the model predicts the next frame, the seed's framing)
against two, both continuing worldsim-v2's weights. The pt=1 arm starts from the plain arm of runs/pilot-own
(its exported model) by warm_start (blocks copied, the embedding's temporal taps summed, the output layer's first
frame kept); the pt=2 arm continues that arm's checkpoint. 20 minutes of DiT compute each, one thread each:

    taskset -c 0 python runs/pilot-warm/pt1.py pt1 20
    taskset -c 1 python runs/pilot-warm/pt1.py pt2 20
"""

import json
import sys
from dataclasses import replace

import torch

from playground.paths import REPO_ROOT
from playground.train import CONFIGS, train

arm, minutes = sys.argv[1], float(sys.argv[2])
torch.set_num_threads(1)
here = REPO_ROOT / "runs" / "pilot-warm"
v2 = CONFIGS["worldsim-v2"]
if arm == "pt1":
    cfg = replace(v2, name="pilot-pt1", patch_size_t=1, init_from=None, init_weights="runs/pilot-own/plain/model",
                  snapshot_every_s=0.0, sample_every=10**9, dit_steps=20_000, lr=2e-4, warmup=100)
    budget = minutes
elif arm == "pt2":
    cfg = replace(v2, name="pilot-pt2", init_from="runs/pilot-own/plain", snapshot_every_s=0.0, sample_every=10**9)
    budget = json.loads((REPO_ROOT / "runs/pilot-own/plain/checkpoint/state.json").read_text())["compute_s"] / 60 + minutes
else:
    raise SystemExit(f"unknown arm {arm!r}")
info = train(cfg, here / arm, here / arm / "model", REPO_ROOT / "cache", mixed_precision="auto",
             max_compute_minutes=budget)
print(json.dumps({"arm": arm, "step": info["step"], "compute_s": info["compute_s"]}))
