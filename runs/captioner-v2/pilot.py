"""One captioner pilot: train with CaptionerConfig fields overridden, score on the evaluation clips (captioner only).

    python runs/captioner-v2/pilot.py '{"steps": 1500}' NAME      # appends a line to runs/captioner-v2/pilots.jsonl

Clips are cached in cache/ (the same ones `python -m playground caption train/eval` use). The rows of
docs/captions.md's pilot table were made with this harness while the front end grew; only the shipped front end is
still in the code, so today it reproduces the rows of that front end (e.g. '{"steps": 4000, "clips": 12000}').
The other pilots here (resolution.py, velocity.py) use its pieces. It builds on CaptionerConfig(), the recipe before
start_fits; pass "start_fits": true for the shipped recipe (runs/captioner-v3/README.md).
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


def config(kw: dict) -> CaptionerConfig:
    """CaptionerConfig with `kw`'s fields (JSON lists as tuples)."""
    return dataclasses.replace(CaptionerConfig(), **{k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()})


def train(kw: dict, out_dir: Path | None = None):
    """The captioner of config(kw), on 2 threads (saved to out_dir when given); and its seconds."""
    torch.set_num_threads(2)
    t = time.time()
    model = train_captioner(config(kw), out_dir, REPO / "cache", log=lambda s: None)
    return model, time.time() - t


def score(model, name: str, kw: dict, seconds: float, eval_cfg: EvalConfig = EvalConfig()) -> dict:
    """Score `model` on the evaluation clips, print the row and append it to pilots.jsonl."""
    res = evaluate_captioner(model, eval_cfg, None, REPO / "cache", log=lambda s: None)
    row = {"name": name, "cfg": kw, "train_s": round(seconds)}
    for split, r in res["splits"].items():
        row[split] = {k: round(100 * r["captioner"][k], 1) for k in ("all",) + GOAL_KEYS}
    print(json.dumps(row), flush=True)
    with open(HERE / "pilots.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    return row


if __name__ == "__main__":
    kw, name = json.loads(sys.argv[1]), sys.argv[2]
    model, seconds = train(kw)
    score(model, name, kw, seconds)
