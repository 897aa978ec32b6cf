"""Train a pilot captioner (CaptionerConfig overrides as JSON) and save it under OUT/captioner, for misses.py.

    python runs/captioner-v3/train_save.py '{"steps": 1500, "clips": 6000, "start_fits": true}' /tmp/fits
"""
import dataclasses
import json
import sys
from pathlib import Path

import torch

from playground.captioner import CaptionerConfig, train_captioner

REPO = Path(__file__).resolve().parents[2]
kw = json.loads(sys.argv[1])
cfg = dataclasses.replace(CaptionerConfig(), **{k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()})
torch.set_num_threads(2)
train_captioner(cfg, Path(sys.argv[2]) / "captioner", REPO / "cache", log=lambda s: None)
