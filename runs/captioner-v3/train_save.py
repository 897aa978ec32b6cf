"""Train a pilot captioner (CaptionerConfig overrides as JSON, pilot.py's train) and save it under OUT/captioner,
for misses.py and score_saved.py.

    python runs/captioner-v3/train_save.py '{"steps": 1500, "clips": 6000, "start_fits": true}' /tmp/fits
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "captioner-v2"))
from pilot import train  # noqa: E402

train(json.loads(sys.argv[1]), Path(sys.argv[2]) / "captioner")
