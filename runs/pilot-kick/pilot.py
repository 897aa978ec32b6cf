"""Pilot: does a model answer kicks when it sees the windows a kick changes more often (kick_window_prob)?

Both arms start from worldsim-v2's checkpoint (step 13,517, 4.15 h of DiT compute) and train for the same DiT
compute, one thread each on its own core, nothing else running:
    taskset -c 0 python runs/pilot-kick/pilot.py plain 0.0 20
    taskset -c 1 python runs/pilot-kick/pilot.py kick 0.25 20
then both are scored by runs/pilot-kick/score.sh."""

import json
import shutil
import sys
from dataclasses import replace

import torch

from playground.paths import REPO_ROOT
from playground.train import CONFIGS, train

arm, prob, minutes = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
torch.set_num_threads(1)
here = REPO_ROOT / "runs" / "pilot-kick"
src = REPO_ROOT / "runs" / "worldsim-v2"
base = json.loads((src / "checkpoint" / "state.json").read_text())
if not (here / arm / "vae").exists():  # the run's own autoencoder, so the cached latents are the ones it trained on
    shutil.copytree(src / "vae", here / arm / "vae")
cfg = replace(CONFIGS["worldsim-v2"], name=f"pilot-kick-{arm}", kick_window_prob=prob, snapshot_every_s=0.0,
              init_from="runs/worldsim-v2", sample_every=10**9)
info = train(cfg, here / arm, here / arm / "model", REPO_ROOT / "cache", mixed_precision="auto",
             max_compute_minutes=base["compute_s"] / 60 + minutes)
print(json.dumps({"arm": arm, "step": info["step"], "steps_in_pilot": info["step"] - base["step"],
                  "compute_s": info["compute_s"] - base["compute_s"]}))
