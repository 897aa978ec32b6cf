"""Where text-to-video fails, frame by frame: for the 24 prompts of evaluate.text_only's validation seed 1, the
share of clips whose frame t shows exactly the prompt's colours and ball count (generators seeded by the clip's
index, the model's default sampler).

    python runs/worldsim-v2-first/first_frames.py [MODEL_DIR]      # default models/worldsim-s
"""

import sys

import numpy as np
import torch

from playground.enrich import prompt_attributes
from playground.evaluate import EVAL_SEED_BASE, _shows_prompt
from playground.pipeline import WorldSimPipeline
from playground.probes.parser import parse_video
from playground.world import sample_clip

pipe = WorldSimPipeline.from_pretrained(sys.argv[1] if len(sys.argv) > 1 else "models/worldsim-s")
pipe.set_progress_bar_config(disable=True)
T, H, W = pipe.defaults["frames"], pipe.defaults["height"], pipe.defaults["width"]
shown = []
for i in range(24):
    clip = sample_clip("mixed", "train", seed=EVAL_SEED_BASE + 10_000 + 5_000 + i, n_frames=T, height=H, width=W)
    a = prompt_attributes(clip.caption)
    out = pipe(clip.caption, num_frames=T, height=H, width=W, generator=torch.Generator().manual_seed(i),
               enrich_prompt=False)
    shown.append(_shows_prompt(parse_video(out.frames[0]), a["colours"], a["count"]))
s = np.array(shown, dtype=float)
print("frame t shows the prompt:", " ".join(f"{v:.2f}" for v in s.mean(0)))
print(f"clips (half their frames or more): {(s.mean(1) >= 0.5).mean():.3f}")
