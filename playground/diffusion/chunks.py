"""The next-chunk objective: training windows for a world model that predicts the next chunk of frames from the
frames before it (the rollout in WorldSimPipeline._rollout is its sampler).

A window is `n_ctx` context frames followed by one chunk (a temporal patch) to predict. The context is noised
with a per-sample level drawn up to `max_context_sigma` and the model is told that level (`cond_sigma`), as
GameNGen and DIAMOND do: at sampling time the context is the model's own output, and a model that only ever saw
clean context drifts on it. Training draws the noise here; sampling adds only what the caller asks for
(`context_sigma`). A share of batches has a shorter context (0 .. n_ctx - 1 frames, 0 = the text-only first
chunk), as the rollout's first chunks have; `first_chunk_prob` adds batches with no context at all.

A kick changes a ball's motion from its frame f to f + 1, so the one window that must read the action map to
predict its chunk is the one whose last context frame is f; cut uniformly from a 16-frame clip, one window in 12
of a kicked clip is that one. `focus` places a window there (the training share is `kick_window_prob`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class ChunkWindow:
    """One batch of windows. x0 (B, c, W, h, w) clean latents; cond_latents the same with the context noised (zeros
    on the chunk); cond_mask (B, W) 1 on context frames; cond_sigma (B, W) the context's noise level; start (B,)
    each window's first frame in its clip; actions (B, A, W, h, w) or None."""

    x0: torch.Tensor
    cond_latents: torch.Tensor
    cond_mask: torch.Tensor
    cond_sigma: torch.Tensor
    start: np.ndarray
    actions: torch.Tensor | None = None


def next_chunk_window(latents: torch.Tensor, rng: np.random.Generator, generator: torch.Generator,
                      context_frames: int, chunk: int, max_context_sigma: float = 0.3,
                      short_context_prob: float = 0.15, actions: torch.Tensor | None = None,
                      focus: np.ndarray | None = None, first_chunk_prob: float = 0.0) -> ChunkWindow:
    """Cut one window per clip from latents (B, c, T, h, w) (actions: (B, A, T, h, w) maps of the same clips).
    focus (B,) int or None: where >= 0, the frame that is to be the window's last context frame (as near as the
    clip allows); elsewhere the window's start is uniform. first_chunk_prob: the share of batches with no context
    at all (the text-only first chunk, cut from the start of each clip, as text-to-video makes it), drawn before
    short_context_prob (no draw when 0, so older runs' streams are unchanged)."""
    b, c, T, h, w = latents.shape
    n_ctx, first = context_frames, False
    if first_chunk_prob and rng.random() < first_chunk_prob:
        n_ctx, first = 0, True
    elif rng.random() < short_context_prob:
        n_ctx = int(rng.integers(0, context_frames))  # the rollout's first chunks see fewer frames
    W = n_ctx + chunk
    if W > T:
        raise ValueError(f"clips of {T} frames cannot hold {n_ctx} context frames and a chunk of {chunk}")
    start = rng.integers(0, T - W + 1, size=b)
    if first:  # what text-to-video makes: the clip's opening frames, the ones its caption describes
        start = np.zeros(b, dtype=start.dtype)
    elif focus is not None:
        start = np.where(focus >= 0, np.clip(focus - n_ctx + 1, 0, T - W), start)
    idx = torch.from_numpy(start)[:, None] + torch.arange(W)[None]  # (B, W)
    gather = idx[:, None, :, None, None].expand(b, c, W, h, w)
    x0 = torch.gather(latents.float(), 2, gather)
    mask = torch.zeros(b, W)
    mask[:, :n_ctx] = 1
    sigma = torch.from_numpy(rng.uniform(0.0, max_context_sigma, size=b)).float()[:, None] * mask  # (B, W)
    noise = torch.randn(x0.shape, generator=generator)
    s = sigma[:, None, :, None, None]
    cond = ((1 - s) * x0 + s * noise) * mask[:, None, :, None, None]
    acts = None
    if actions is not None:
        a = actions.shape[1]
        acts = torch.gather(actions.float(), 2, idx[:, None, :, None, None].expand(b, a, W, h, w))
    return ChunkWindow(x0, cond, mask, sigma, start, acts)


def own_context_window(long: ChunkWindow, made: torch.Tensor, chunk: int, generator: torch.Generator) -> ChunkWindow:
    """Training on the model's own output (a cheap form of Self Forcing): `long` is a window of n_ctx + 2 chunks
    (next_chunk_window with a double chunk), `made` (B, c, chunk, h, w) the model's own sample of its first chunk
    after the context. Returns the window one chunk later - context = the true frames n_ctx - chunk .. of `long`
    followed by the model's chunk, target = the true chunk after it - its context noised at `long`'s levels. The
    target stays the truth: the model learns to continue from the kind of frames a rollout feeds it, and to pull
    them back to the world's."""
    b, c, W, h, w = long.x0.shape
    n_ctx = W - 2 * chunk
    if n_ctx < chunk or made.shape[2] != chunk:
        raise ValueError(f"own context: a window of {W} frames with chunks of {chunk} has no room for the model's own")
    x0 = long.x0[:, :, chunk:]
    mask = torch.zeros(b, n_ctx + chunk)
    mask[:, :n_ctx] = 1  # the context (its last chunk the model's), then the chunk to predict
    sigma = long.cond_sigma[:, :1].expand(b, n_ctx + chunk) * mask
    s = sigma[:, None, n_ctx - chunk:n_ctx, None, None]
    noise = torch.randn(made.shape, generator=generator)
    cond = long.cond_latents[:, :, chunk:].clone()
    cond[:, :, n_ctx - chunk:n_ctx] = (1 - s) * made.float() + s * noise
    acts = None if long.actions is None else long.actions[:, :, chunk:]
    return ChunkWindow(x0, cond, mask, sigma, long.start + chunk, acts)
