"""Sampler settings of the shipped next-frame model, measured on validation seeds (evaluate's seed 1: clips
EVAL_SEED_BASE + 10,000 + i, disjoint from the card's seed 0 and from training's stream).

    python runs/sampler-sweep/sweep.py '{"context_sigma": 0.1, "guidance": 2, "steps": 4, "sampler": "stochastic"}' NAME

Unnamed settings are the pipeline's defaults (context noise 0, guidance on every step).
`guidance_above` is the pipeline's `guidance_min_sigma` (the sweep first ran it as a patch of `_predict_x0` that did
the same: the conditional half of the batch alone on the steps at or below it). `reencode` (decode each chunk to
uint8 and encode it again before it joins the context) was an option of the pipeline during the sweep; it did not
help and was removed.

Appends one line per setting to runs/sampler-sweep/sweep.jsonl: the setting and evaluate's headline rows.
"""

import json
import sys
import time
from pathlib import Path

import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from playground.evaluate import evaluate
from playground.pipeline import WorldSimPipeline

torch.manual_seed(0)
setting = json.loads(sys.argv[1])
name = sys.argv[2]
trials = int(setting.get("trials", 24))
pipe = WorldSimPipeline.from_pretrained("models/worldsim-s")
pipe.set_precision(setting.get("precision", "fp32"))
pipe.set_progress_bar_config(disable=True)
sched = {"stochastic_sampling": setting.get("sampler", "stochastic") == "stochastic"}
if "shift" in setting:
    sched["shift"] = float(setting["shift"])
pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(pipe.scheduler.config, **sched)
t0 = time.time()
res = evaluate(pipe, trials=trials, steps=int(setting.get("steps", 4)), guidance=float(setting.get("guidance", 2.0)),
               seed=int(setting.get("seed", 1)), progress=False, context_sigma=float(setting.get("context_sigma", 0.0)),
               guidance_min_sigma=float(setting.get("guidance_above", 0.0)))
row = {"name": name, "setting": setting, "seconds": round(time.time() - t0, 1)}
for split, rows in res["splits"].items():
    m = rows["model"]
    row[split] = {"kept": round(m["objects_kept"], 4), "v": round(m["velocity_err_px"], 3),
                  "p": round(m["position_err_px"], 3), "missing": round(m["failures"]["missing"], 4),
                  "copy_last_kept": round(rows["copy_last"]["objects_kept"], 4)}
print(json.dumps(row))
with open(Path(__file__).with_name("sweep.jsonl"), "a") as f:
    f.write(json.dumps(row) + "\n")
