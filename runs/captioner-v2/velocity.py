"""Pilot: a velocity head trained on the simulator's start-of-clip velocities (CaptionerConfig.velocity_weight),
scored twice on the evaluation clips: with the heading head's word (the head only shares what it learned), and
with each ball's heading worded from the predicted velocity by the grammar's own rule (soft_heading, sharp).

    python runs/captioner-v2/velocity.py '{"steps": 1500, "clips": 6000, "velocity_weight": 1.0}' NAME
        # appends NAME (heading head) and NAME-rule (worded velocity) to runs/captioner-v2/pilots.jsonl
"""

import json
import sys

import torch
from pilot import score, train  # runs/captioner-v2/pilot.py

from playground.captioner import soft_heading

kw, name = json.loads(sys.argv[1]), sys.argv[2]
model, seconds = train(kw)
predict = model.predict


def worded(feats, mirror_average=True):  # the heading from the predicted velocity, by the grammar's rule
    out = predict(feats, mirror_average)
    out["heading"] = torch.log(soft_heading(out["velocity"], soft_deg=0.01, soft_speed=1e-3) + 1e-6)
    return out


score(model, name, kw, seconds)
model.predict = worded
score(model, name + "-rule", kw, seconds)
