"""Is the captioner limited by the 32x32 frames? The same recipe trained and scored on clips rendered at SIZE x
SIZE (the same seeded scenes: only the resolution differs), against the harness's 32x32 rows.

    python runs/captioner-v2/resolution.py 64 '{"steps": 1500, "clips": 6000}' NAME   # appends to pilots.jsonl
"""

import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

from playground.captioner import GOAL_KEYS, CaptionerConfig, EvalConfig, evaluate_captioner, train_captioner

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

size, kw, name = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
cfg = dataclasses.replace(CaptionerConfig(), size=size,
                          **{k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()})
torch.set_num_threads(2)
t = time.time()
model = train_captioner(cfg, None, REPO / "cache", log=lambda s: None)
seconds = time.time() - t
res = evaluate_captioner(model, EvalConfig(size=size), None, REPO / "cache", log=lambda s: None)
row = {"name": name, "cfg": dict(kw, size=size), "train_s": round(seconds)}
for split, r in res["splits"].items():
    row[split] = {k: round(100 * r["captioner"][k], 1) for k in ("all",) + GOAL_KEYS}
print(json.dumps(row))
with open(HERE / "pilots.jsonl", "a") as f:
    f.write(json.dumps(row) + "\n")
