"""Attention maps as pictures: one query token's attention over all frames, every head of a layer, attention
rollout across layers that respects the space/time factorisation, and the token <-> pixel geometry.

Captured maps come from `playground.models.dit.AttentionCapture`, tokens ordered (t, y, x) on a (T', h', w') grid:
  spatial  (T', H, S, S)  attention within each temporal group of frames
  temporal (S, H, T', T') attention across time at each spatial position
  joint    (H, N, N)      attention over all N = T' * S tokens
"""

from __future__ import annotations

import cv2
import numpy as np

from .frames import StripLayout, colorize, frame_strip, labelled_grid, strip_layout, upscale


def token_of_pixel(grid: tuple[int, int, int], frame: int, x: float, y: float, patch_px: int,
                   patch_t: int) -> tuple[int, int, int]:
    """Frame index and frame pixel (x = column, y = row) -> the token (t', y', x') that covers it."""
    T, h, w = grid
    return (min(T - 1, max(0, frame // patch_t)), min(h - 1, max(0, int(y // patch_px))),
            min(w - 1, max(0, int(x // patch_px))))


def token_index(grid: tuple[int, int, int], tok: tuple[int, int, int]) -> int:
    return (tok[0] * grid[1] + tok[1]) * grid[2] + tok[2]


def _as_np(w) -> np.ndarray:
    return w.float().numpy() if hasattr(w, "numpy") else np.asarray(w, dtype=np.float32)


def per_head_maps(weights, kind: str, grid: tuple[int, int, int], tok: tuple[int, int, int]) -> np.ndarray:
    """Attention of query token `tok` to every token, per head: (H, T', h', w'); zero where the layer's
    factorisation does not let the query look (other frames for spatial, other places for temporal)."""
    w = _as_np(weights)
    T, h, wd = grid
    S = h * wd
    s = tok[1] * wd + tok[2]
    if kind == "spatial":  # (T', H, S, S)
        H = w.shape[1]
        out = np.zeros((H, T, S), np.float32)
        out[:, tok[0]] = w[tok[0], :, s, :]
    elif kind == "temporal":  # (S, H, T', T')
        H = w.shape[1]
        out = np.zeros((H, T, S), np.float32)
        out[:, :, s] = w[s, :, tok[0], :]
    elif kind == "joint":  # (H, N, N)
        H = w.shape[0]
        out = w[:, token_index(grid, tok), :].reshape(H, T, S)
    else:
        raise ValueError(f"unknown attention kind {kind!r}")
    return out.reshape(H, T, h, wd)


def query_map(weights, kind: str, grid, tok, head: int | None = None) -> np.ndarray:
    """(T', h', w') attention of `tok` to all tokens: one head, or the mean over heads (head=None)."""
    maps = per_head_maps(weights, kind, grid, tok)
    return maps.mean(0) if head is None else maps[head]


def layer_matrix(weights, kind: str, grid: tuple[int, int, int]) -> np.ndarray:
    """The layer's head-averaged attention as one (N, N) token -> token matrix, rows = queries, order (t, y, x).
    Spatial layers give a block-diagonal matrix (one block per temporal group), temporal layers link only tokens
    at the same place."""
    w = _as_np(weights)
    T, h, wd = grid
    S = h * wd
    N = T * S
    if kind == "joint":
        return w.mean(0)
    M = np.zeros((N, N), np.float32)
    if kind == "spatial":
        a = w.mean(1)  # (T', S, S)
        for t in range(T):
            M[t * S:(t + 1) * S, t * S:(t + 1) * S] = a[t]
    elif kind == "temporal":
        a = w.mean(1)  # (S, T', T')
        idx = np.arange(T)[None, :] * S + np.arange(S)[:, None]  # (S, T'): token index of (t, s)
        M[idx[:, :, None], idx[:, None, :]] = a
    else:
        raise ValueError(f"unknown attention kind {kind!r}")
    return M


def rollout(matrices: list[np.ndarray], residual: float = 0.5) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): each layer's map mixed with the identity for the residual
    stream, rows renormalised, composed from the first layer to the last. Row q says how much each input token
    flows into output token q. Composing factorised layers (spatial then temporal) is what lets a token 'see'
    other places in other frames, which no single layer does."""
    N = matrices[0].shape[0]
    R = np.eye(N, dtype=np.float64)
    eye = np.eye(N)
    for A in matrices:
        A = residual * eye + (1 - residual) * A.astype(np.float64)
        A = A / A.sum(-1, keepdims=True)
        R = A @ R
    return R.astype(np.float32)


def heat_strip(frames: np.ndarray, heat: np.ndarray, patch_px: int, patch_t: int, tok: tuple[int, int, int] | None,
               layout: StripLayout | None = None, alpha: float = 0.6, frame_offset: int = 0) -> np.ndarray:
    """Frames with a token heatmap (T', h', w') blended over them: each frame shows its temporal group's map,
    one colour scale for all frames (so frames compare); the query patch is outlined in cyan. `frame_offset`: the
    map covers frames frame_offset .. frame_offset + T' * patch_t - 1 (a rollout window); the other frames are shown
    greyed, without heat."""
    frames = np.asarray(frames)
    T, H, W = frames.shape[:3]
    layout = layout or strip_layout(T, H, W)
    s = layout.scale
    vmax = float(heat.max()) or 1.0
    img = frame_strip(frames, layout).astype(np.float32)
    for t in range(T):
        r0, c0 = layout.origin(t)
        region = img[r0:r0 + H * s, c0:c0 + W * s]
        grey = region.mean(-1, keepdims=True)
        g = (t - frame_offset) // patch_t
        if not 0 <= g < heat.shape[0]:  # outside the window the map covers: greyed and dimmed
            img[r0:r0 + H * s, c0:c0 + W * s] = 0.35 * grey
            continue
        hm = colorize(upscale(heat[g][..., None], patch_px * s)[..., 0], 0.0, vmax)[:H * s, :W * s]
        img[r0:r0 + H * s, c0:c0 + W * s] = (1 - alpha) * (0.5 * region + 0.5 * grey) + alpha * hm
    out = np.clip(img, 0, 255).astype(np.uint8)
    if tok is not None:
        for t in range(T):
            if t >= frame_offset and (t - frame_offset) // patch_t == tok[0]:
                r0, c0 = layout.origin(t)
                p = patch_px * s
                cv2.rectangle(out, (c0 + tok[2] * p, r0 + tok[1] * p), (c0 + (tok[2] + 1) * p - 1,
                              r0 + (tok[1] + 1) * p - 1), (0, 255, 255), 2)
    return out


def heads_grid(maps: np.ndarray, cell: int = 12) -> np.ndarray:
    """Per-head maps (H, T', h', w') -> small multiples: one row of T' maps per head, one colour scale per head."""
    H, T, h, w = maps.shape
    s = max(1, cell * 2 // max(h, w)) * 2
    tiles, labels = [], []
    for k in range(H):
        row = [colorize(upscale(maps[k, t][..., None], s)[..., 0], 0.0, float(maps[k].max()) or 1.0)
               for t in range(T)]
        sep = np.full((h * s, 2, 3), 24, np.uint8)
        tiles.append(np.concatenate([x for t in range(T) for x in ((row[t], sep) if t < T - 1 else (row[t],))], 1))
        labels.append(f"head {k}  (t'=0..{T - 1})")
    return labelled_grid(tiles, labels, cols=1 if T > 6 else 2)
