"""Text-only clips of the shipped model by guidance and steps, on validation prompts (evaluate.text_only's seed 1;
the card's table is seed 0), fp32. `first_chunk_guidance` guides only the context-free first chunk that much (the
later chunks at guidance 2).

    python runs/sampler-sweep/text_only.py [MODEL_DIR]     # default models/worldsim-s

Prints one line per setting: the share of the 24 clips (and of their frames) that show the prompt's colours and
ball count.
"""

import sys

import torch

from playground.evaluate import text_only
from playground.pipeline import WorldSimPipeline

SETTINGS = [dict(steps=4, guidance=2.0), dict(steps=4, guidance=4.0), dict(steps=4, guidance=6.0),
            dict(steps=4, guidance=8.0), dict(steps=20, guidance=2.0), dict(steps=20, guidance=4.0),
            dict(steps=8, guidance=4.0), dict(steps=4, guidance=2.0, first_chunk_guidance=4.0),
            dict(steps=4, guidance=2.0, first_chunk_guidance=6.0)]

torch.manual_seed(0)
pipe = WorldSimPipeline.from_pretrained(sys.argv[1] if len(sys.argv) > 1 else "models/worldsim-s")
pipe.set_precision("fp32")
pipe.set_progress_bar_config(disable=True)
denoise = pipe.denoise
for s in SETTINGS:
    first = s.get("first_chunk_guidance")

    def guided_first(cond, latents, steps, guidance_scale, *a, **kw):  # the window with no context frame
        return denoise(cond, latents, steps, first if int(cond.mask[0].sum()) == 0 else guidance_scale, *a, **kw)

    pipe.denoise = guided_first if first else denoise
    r = text_only(pipe, clips=24, steps=s["steps"], guidance=s["guidance"], seed=1, progress=False)
    m = r["rows"]["model"]
    print(f"{s}: clips {100 * m['clips_shown']:.1f}%, frames {100 * m['frames_shown']:.1f}% "
          f"(truth {100 * r['rows']['truth']['clips_shown']:.1f}%)", flush=True)
