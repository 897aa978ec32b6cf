"""The attention arithmetic of one query token, recomputed readably: QK^T, scale, softmax, weighted V.

The model's forward is replayed up to the chosen block from the recorded latents of a denoising step (using the
model's own modules, nothing stored on them, so concurrent sessions never interfere), then the block's
queries, keys and values are taken from `Attention.qkv_heads`. The fast path of the model is untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..models.dit import SpacetimeDiT


@dataclass
class QueryArithmetic:
    """The numbers behind one row of an attention map."""

    layer: str
    kind: str
    head: int
    query: tuple[int, int, int]
    keys: list[tuple[int, int, int]]  # token of every key the query can see
    scores: np.ndarray  # q . k for each key
    scaled: np.ndarray  # scores / sqrt(d)
    weights: np.ndarray  # softmax(scaled)
    output: np.ndarray  # sum_j weights_j v_j, (d,)
    values: np.ndarray  # v_j, (K, d)
    scale: float

    def top(self, k: int = 5) -> list[int]:
        return [int(i) for i in np.argsort(-self.weights)[:k]]

    def markdown(self, k: int = 5, dims: int = 4) -> str:
        d = self.values.shape[1]
        lines = [
            f"**{self.layer}** ({self.kind}), head {self.head}, query token t'={self.query[0]} y'={self.query[1]} "
            f"x'={self.query[2]}: {len(self.keys)} keys visible, head dim d={d}, scale 1/sqrt(d)={self.scale:.4f}",
            "",
            "| key token (t', y', x') | q·k | ×scale | softmax | v[:%d] |" % dims,
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for i in self.top(k):
            v = ", ".join(f"{x:+.2f}" for x in self.values[i, :dims])
            lines.append(f"| {self.keys[i]} | {self.scores[i]:+.3f} | {self.scaled[i]:+.3f} | "
                         f"{self.weights[i]:.3f} | {v} |")
        rest = 1.0 - float(self.weights[self.top(k)].sum())
        out = ", ".join(f"{x:+.3f}" for x in self.output[:dims])
        lines += ["", f"softmax over all {len(self.keys)} keys: the top {min(k, len(self.keys))} carry "
                  f"{1 - rest:.1%}, the rest {rest:.1%}. Output = Σ softmax_j · v_j = [{out}, …] "
                  f"(|out| = {np.linalg.norm(self.output):.3f}); it goes through the output projection and the "
                  "gated residual."]
        return "\n".join(lines)


@torch.no_grad()
def block_qkv(model: SpacetimeDiT, layer: int, latents: torch.Tensor, sigma: float, text_embeds: torch.Tensor,
              cond_latents: torch.Tensor, cond_mask: torch.Tensor, cond_sigma: torch.Tensor | None = None,
              actions: torch.Tensor | None = None):
    """Replay the forward pass up to block `layer`: -> q, k, v each (B', heads, L, d) in that block's sequence
    layout, and the token grid. latents / cond_latents (1, c, T, h, w), cond_mask (1, T), text_embeds (1, D);
    cond_sigma and actions for the models that take them (a rollout window's Conditioning.model_kwargs())."""
    x, cond, grid = model.embed(latents, torch.full((latents.shape[0],), float(sigma)), text_embeds,
                                cond_latents, cond_mask, cond_sigma, actions)  # (B, N, D), (B, D)
    for block in model.blocks[:layer]:
        x = block(x, cond, grid)
    q, k, v = model.blocks[layer].attn.qkv_heads(model.blocks[layer].attention_input(x, cond, grid))
    return q, k, v, grid


def query_arithmetic(model: SpacetimeDiT, layer: int, head: int, tok: tuple[int, int, int], **inputs) -> QueryArithmetic:
    """QK^T, scale, softmax and weighted V for query token `tok` in block `layer`, head `head`."""
    q, k, v, grid = block_qkv(model, layer, **inputs)
    kind = model.kinds[layer]
    T, h, w = grid
    s = tok[1] * w + tok[2]
    if kind == "spatial":
        seq, pos = tok[0], s
        keys = [(tok[0], j // w, j % w) for j in range(h * w)]
    elif kind == "temporal":
        seq, pos = s, tok[0]
        keys = [(j, tok[1], tok[2]) for j in range(T)]
    else:
        seq, pos = 0, (tok[0] * h + tok[1]) * w + tok[2]
        keys = [(j // (h * w), (j // w) % h, j % w) for j in range(T * h * w)]
    qv = q[seq, head, pos].double()  # (d,)
    K = k[seq, head].double()  # (L, d)
    V = v[seq, head].double()
    scores = K @ qv
    sc = model.blocks[layer].attn.scale
    scaled = scores * sc
    weights = torch.softmax(scaled, dim=0)
    out = weights @ V
    return QueryArithmetic(f"blocks.{layer}.attn", kind, head, tuple(tok), keys, scores.numpy(), scaled.numpy(),
                           weights.numpy(), out.numpy(), V.numpy(), float(sc))
