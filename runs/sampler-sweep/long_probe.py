"""The sweep's settings on the long rollouts: the long_range (64 frames) and persistence probes on validation
scenes (suite seed 1; the card's probes use seed 0).

    python runs/sampler-sweep/long_probe.py '{"context_sigma": 0.05, "guidance_above": 0.9}' NAME [TRIALS]

Appends one line to runs/sampler-sweep/long_probe.jsonl. Unnamed settings are the pipeline's defaults, as in sweep.py.
"""

import functools
import json
import sys
import time
from pathlib import Path

import torch

from playground.pipeline import WorldSimPipeline
from playground.probes.suite import run_suite

torch.manual_seed(0)
setting, name = json.loads(sys.argv[1]), sys.argv[2]
trials = int(sys.argv[3]) if len(sys.argv) > 3 else 12
pipe = WorldSimPipeline.from_pretrained("models/worldsim-s")
pipe.set_precision("fp32")
pipe.set_progress_bar_config(disable=True)
# the suite calls the pipeline with its own arguments: the setting goes in as the call's defaults
WorldSimPipeline.__call__ = functools.partialmethod(
    WorldSimPipeline.__call__, context_sigma=float(setting.get("context_sigma", 0.0)),
    guidance_min_sigma=float(setting.get("guidance_above", 0.0)))
t0 = time.time()
res = run_suite(pipe, probes=("long_range", "persistence"), trials=trials, seed=int(setting.get("seed", 1)),
                progress=None)
s = res["summary"]
row = {"name": name, "setting": setting, "trials": trials, "seconds": round(time.time() - t0, 1)}
for split in ("train", "heldout"):
    row[split] = {"long_kept": round(s["long_range"][split]["model"]["objects_kept"], 4),
                  "long_kept_late": round(s["long_range"][split]["model"]["objects_kept_late"], 4),
                  "copy_last_long_kept": round(s["long_range"][split]["copy_last"]["objects_kept"], 4),
                  "persisted": round(s["persistence"][split]["model"]["persisted"], 4)}
print(json.dumps(row))
with open(Path(__file__).with_name("long_probe.jsonl"), "a") as f:
    f.write(json.dumps(row) + "\n")
