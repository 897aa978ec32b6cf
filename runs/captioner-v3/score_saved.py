"""Score a saved captioner on the evaluation clips with pilot.py's score (a line in runs/captioner-v2/pilots.jsonl).

    python runs/captioner-v3/score_saved.py MODEL_DIR NAME 'CONFIG_JSON' [TRAIN_SECONDS]
"""
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "captioner-v2"))
from pilot import score  # noqa: E402

from playground.captioner import load_captioner  # noqa: E402

torch.set_num_threads(2)
model_dir, name, kw = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else json.loads(
    (Path(model_dir) / "captioner" / "training.json").read_text())["train_s"]
score(load_captioner(model_dir), name, kw, seconds)
