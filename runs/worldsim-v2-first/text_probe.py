"""Does the frozen text embedding carry the prompt's colours and ball count? A logistic regression per colour (and
one for the count) on the sentence embeddings of 900 rich captions of seeded `mixed` training-range clips, scored
on 300 others. Prints each colour's share of captions and the held-back accuracy.

    python runs/worldsim-v2-first/text_probe.py
"""

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression  # installed with the sentence-transformers text encoder

from playground.enrich import prompt_attributes
from playground.pipeline import shared_text_encoder
from playground.world import sample_clip
from playground.world.scene import PALETTE

torch.set_num_threads(1)
caps = [sample_clip("mixed", "train", seed=900_000 + i, n_frames=2, height=32, width=32).caption for i in range(1200)]
emb = shared_text_encoder().encode(caps).float().numpy()
attrs = [prompt_attributes(c) for c in caps]
for name, y in [(c, np.array([c in a["colours"] for a in attrs])) for c in sorted(PALETTE)] + [
        ("count", np.array([a["count"] for a in attrs]))]:
    fit = LogisticRegression(max_iter=3000, C=10).fit(emb[:900], y[:900])
    share = f"share {y.mean():.2f}, " if name != "count" else ""
    print(f"{name}: {share}held-back accuracy {fit.score(emb[900:], y[900:]):.3f}")
