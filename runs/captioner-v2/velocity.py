"""Pilot: a velocity head trained on the simulator's start-of-clip velocities (CaptionerConfig.velocity_weight),
scored twice on the evaluation clips: with the heading head's word (the head only shares what it learned), and
with each ball's heading worded from the predicted velocity by the grammar's own rule (soft_heading, sharp).

    python runs/captioner-v2/velocity.py '{"steps": 1500, "clips": 6000, "velocity_weight": 1.0}' NAME
        # appends NAME (heading head) and NAME-rule (worded velocity) to runs/captioner-v2/pilots.jsonl
"""

import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

from playground.captioner import (GOAL_KEYS, HEADINGS, CaptionerConfig, EvalConfig, evaluate_captioner,
                                  soft_heading, train_captioner)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

kw, name = json.loads(sys.argv[1]), sys.argv[2]
cfg = dataclasses.replace(CaptionerConfig(), **{k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()})
torch.set_num_threads(2)
t = time.time()
model = train_captioner(cfg, None, REPO / "cache", log=lambda s: None)
seconds = time.time() - t
predict = model.predict


def worded(feats, mirror_average=True):  # the heading from the predicted velocity, by the grammar's rule
    out = predict(feats, mirror_average)
    out["heading"] = torch.log(soft_heading(out["velocity"], soft_deg=0.01, soft_speed=1e-3) + 1e-6)
    assert out["heading"].shape[-1] == len(HEADINGS)
    return out


for suffix, fn in (("", predict), ("-rule", worded)):
    model.predict = fn
    res = evaluate_captioner(model, EvalConfig(), None, REPO / "cache", log=lambda s: None)
    row = {"name": name + suffix, "cfg": kw, "train_s": round(seconds)}
    for split, r in res["splits"].items():
        row[split] = {k: round(100 * r["captioner"][k], 1) for k in ("all",) + GOAL_KEYS}
    print(json.dumps(row), flush=True)
    with open(HERE / "pilots.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
