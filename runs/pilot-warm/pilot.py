"""Pilot: warm-start the next-chunk world model from the shipped joint worldsim-s instead of continuing the
worldsim-v2 run trained from scratch on the wider autoencoder. Equal DiT compute, one thread each on its own core:

    taskset -c 0 python runs/pilot-warm/pilot.py warm 20       # worldsim-s's DiT and autoencoder, next-chunk
    taskset -c 1 python runs/pilot-warm/pilot.py warm-wide8 20 # worldsim-s's DiT blocks, wide8 autoencoder
The third arm, worldsim-v2 continued for the same 20 minutes, is runs/pilot-own's `plain` arm (same machine,
same protocol). Scored by runs/pilot-warm/score.sh."""

import json
import sys
from dataclasses import replace

import torch

from playground.paths import REPO_ROOT
from playground.train import CONFIGS, _WIDE8, train

arm, minutes = sys.argv[1], float(sys.argv[2])
torch.set_num_threads(1)
here = REPO_ROOT / "runs" / "pilot-warm"
v2 = CONFIGS["worldsim-v2"]
common = dict(name=f"pilot-{arm}", init_from=None, init_weights="models/worldsim-s", snapshot_every_s=0.0,
              sample_every=10**9, dit_steps=20_000, lr=2e-4, warmup=100)
if arm == "warm":
    cfg = replace(v2, ae_channels=(16, 32), latent_channels=4, vae_init="models/worldsim-s/vae", **common)
elif arm == "warm-wide8":
    cfg = replace(v2, **_WIDE8, **common)
else:
    raise SystemExit(f"unknown arm {arm!r}")
info = train(cfg, here / arm, here / arm / "model", REPO_ROOT / "cache", mixed_precision="auto",
             max_compute_minutes=minutes)
print(json.dumps({"arm": arm, "step": info["step"], "compute_s": info["compute_s"]}))
