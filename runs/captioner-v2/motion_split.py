"""Where the captioner's motion misses are: clip-level motion agreement (every ball's heading right) in clips with
and without gravity, on caption eval's 1,000 clips per split.

    python runs/captioner-v2/motion_split.py [MODEL_DIR]      # default models/worldsim-s
"""
import sys
from pathlib import Path

import numpy as np

from playground.captioner import EvalConfig, cached_simulation, load_captioner
from playground.enrich import prompt_attributes

e = EvalConfig()
cap = load_captioner(sys.argv[1] if len(sys.argv) > 1 else "models/worldsim-s")
for split in ("train", "heldout"):
    frames, caps = cached_simulation(Path("cache"), e.clips, e.seed * 1000 + (1 if split == "train" else 2),
                                     split=split, families=e.families, n_frames=e.frames, size=e.size)
    true = [prompt_attributes(c) for c in caps]
    pred = cap.describe(frames)
    g = np.array([bool(t["gravity"]) for t in true])
    ok = np.array([p["motion"] == t["motion"] for p, t in zip(pred, true)])
    print(f"{split}: motion {ok.mean():.3f}; gravity in {g.mean():.3f} of the clips, motion there {ok[g].mean():.3f}, "
          f"without gravity {ok[~g].mean():.3f}; misses in gravity clips {(~ok & g).sum()} of {(~ok).sum()}")
