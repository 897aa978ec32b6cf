"""Pilot: does training on the model's own output (own_context_prob) stop the rollout's drift?

Both arms start from the same worldsim-v2 checkpoint (copied to runs/pilot-own/base) and train for the same
DiT compute, one thread each on their own core:
    taskset -c 0 python runs/pilot-own/pilot.py plain 0.0 20
    taskset -c 1 python runs/pilot-own/pilot.py own 0.5 20
then both are scored by runs/pilot-own/score.sh."""

import json
import sys
from dataclasses import replace

import torch

from playground.paths import REPO_ROOT
from playground.train import CONFIGS, train

arm, prob, minutes = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
torch.set_num_threads(1)
here = REPO_ROOT / "runs" / "pilot-own"
base = json.loads((here / "base" / "checkpoint" / "state.json").read_text())
cfg = replace(CONFIGS["worldsim-v2"], name=f"pilot-own-{arm}", own_context_prob=prob, snapshot_every_s=0.0,
              init_from="runs/pilot-own/base", sample_every=10**9)
info = train(cfg, here / arm, here / arm / "model", REPO_ROOT / "cache", mixed_precision="auto",
             max_compute_minutes=base["compute_s"] / 60 + minutes)
print(json.dumps({"arm": arm, "step": info["step"], "steps_in_pilot": info["step"] - base["step"],
                  "compute_s": info["compute_s"] - base["compute_s"]}))
