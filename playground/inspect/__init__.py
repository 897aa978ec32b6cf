"""Inside the model: what the DiT's hidden states hold (linear probes against the world's ground truth, beside
pixel, latent and random-network baselines) and what its attention carries (heads, temporal blocks or a temporal
window switched off at sampling time, measured with the probe suite).

Everything here works on the DiT's block structure (`transformer.blocks`, each with a `kind` and an `attn`),
not on the pipeline's sampling loop, and touches only private copies of the model, never the one being served.
"""

from .ablate import Ablation, ablated_pipeline, ablated_transformer, parse_heads
from .record import LAYER_EMBED, layer_names, record_hidden_states

__all__ = ["Ablation", "LAYER_EMBED", "ablated_pipeline", "ablated_transformer", "layer_names", "parse_heads",
           "record_hidden_states"]
