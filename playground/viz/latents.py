"""Latent videos as pictures: channels frame by frame, the denoising trajectory as a steps x frames grid, a PCA
of latent tokens coloured by frame, and the 3-D positional code."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .frames import GAP_COLOR, colorize, labelled_grid, upscale


def channel_grid(latents: np.ndarray, scale: int = 8) -> np.ndarray:
    """Latent video (c, T, h, w) -> an image with one row per channel and one column per frame, each channel on
    its own symmetric colour scale (blue negative, red positive)."""
    import cv2

    lat = np.asarray(latents, dtype=np.float32)
    c, T, h, w = lat.shape
    gap = 2
    out = np.empty((c * (h * scale + gap) - gap, T * (w * scale + gap) - gap, 3), np.uint8)
    out[:] = GAP_COLOR
    for ch in range(c):
        m = float(np.abs(lat[ch]).max()) or 1.0
        tiles = colorize(upscale(lat[ch][..., None], scale)[..., 0], -m, m, cmap=cv2.COLORMAP_JET)
        for t in range(T):
            y, x = ch * (h * scale + gap), t * (w * scale + gap)
            out[y:y + h * scale, x:x + w * scale] = tiles[t]
    return out


def trajectory_grid(decoded: np.ndarray, step: int | None = None, scale: int = 2, max_frames: int = 16) -> np.ndarray:
    """Decoded predictions per step (S, T, H, W, 3) -> a steps x frames grid (rows = steps); the row of `step`
    is framed in yellow. Long videos show every k-th frame so the grid stays readable."""
    S, T, H, W = decoded.shape[:4]
    every = max(1, -(-T // max_frames))
    dec = upscale(decoded[:, ::every], scale)
    Tn = dec.shape[1]
    h, w, gap = H * scale, W * scale, 2
    out = np.empty((S * (h + gap) - gap, Tn * (w + gap) - gap, 3), np.uint8)
    out[:] = GAP_COLOR
    for s in range(S):
        for t in range(Tn):
            out[s * (h + gap):s * (h + gap) + h, t * (w + gap):t * (w + gap) + w] = dec[s, t]
    if step is not None and 0 <= step < S:  # yellow bars in the gaps around the chosen step's row
        y = step * (h + gap)
        out[max(0, y - gap):y, :] = (255, 220, 40)
        out[y + h:y + h + gap, :] = (255, 220, 40)
    return out


def latent_tokens(latents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(c, T, h, w) -> vectors (T*h*w, c), frame index and (y, x) of each latent pixel."""
    lat = np.asarray(latents, dtype=np.float32)
    c, T, h, w = lat.shape
    X = lat.reshape(c, -1).T
    t, y, x = np.meshgrid(np.arange(T), np.arange(h), np.arange(w), indexing="ij")
    return X, t.ravel(), np.stack([y.ravel(), x.ravel()], 1)


def pca(X: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Projection of rows of X on their top-k principal axes, and the explained variance ratios."""
    Xc = X - X.mean(0)
    U, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    var = S**2 / max(float((S**2).sum()), 1e-12)
    k = min(k, Vt.shape[0])
    return Xc @ Vt[:k].T, var[:k]


def pca_figure(latents: np.ndarray, dims: int = 3, title: str = "") -> go.Figure:
    """Plotly scatter of latent pixels projected on their principal components, coloured by frame."""
    X, t, yx = latent_tokens(latents)
    P, var = pca(X, dims)
    text = [f"frame {a}, y {b}, x {c}" for a, (b, c) in zip(t, yx)]
    marker = dict(size=3 if dims == 3 else 5, color=t, colorscale="Viridis", colorbar=dict(title="frame"),
                  opacity=0.8)
    if dims == 3 and P.shape[1] >= 3:
        fig = go.Figure(go.Scatter3d(x=P[:, 0], y=P[:, 1], z=P[:, 2], mode="markers", marker=marker, text=text,
                                     hoverinfo="text"))
        fig.update_layout(scene=dict(xaxis_title=f"PC1 {var[0]:.0%}", yaxis_title=f"PC2 {var[1]:.0%}",
                                     zaxis_title=f"PC3 {var[2]:.0%}"))
    else:
        fig = go.Figure(go.Scattergl(x=P[:, 0], y=P[:, 1] if P.shape[1] > 1 else np.zeros(len(P)), mode="markers",
                                     marker=marker, text=text, hoverinfo="text"))
        fig.update_layout(xaxis_title=f"PC1 {var[0]:.0%}", yaxis_title=f"PC2 {var[1]:.0%}" if len(var) > 1 else "")
    fig.update_layout(title=title or "latent pixels (one point per latent pixel and frame), PCA",
                      height=460, margin=dict(l=10, r=10, t=40, b=10), template="plotly_dark")
    return fig


def posenc_image(codes: np.ndarray, max_rows: int = 256, cell: int = 2) -> np.ndarray:
    """Positional codes (N, dim) as a heatmap image: rows = tokens in (t, y, x) order, columns = dimensions."""
    import cv2

    c = np.asarray(codes, dtype=np.float32)[:max_rows]
    return colorize(upscale(c[..., None], cell)[..., 0], -1.0, 1.0, cmap=cv2.COLORMAP_JET)


def similarity_maps(codes: np.ndarray, grid: tuple[int, int, int], tok: tuple[int, int, int], cell: int = 12) -> np.ndarray:
    """Cosine similarity of one token's positional code to every token's, shown per temporal group."""
    T, h, w = grid
    c = np.asarray(codes, dtype=np.float32)
    c = c / np.linalg.norm(c, axis=1, keepdims=True)
    q = c[(tok[0] * h + tok[1]) * w + tok[2]]
    sim = (c @ q).reshape(T, h, w)
    s = max(2, cell * 8 // max(h, w))
    tiles = [colorize(upscale(sim[t][..., None], s)[..., 0], float(sim.min()), 1.0) for t in range(T)]
    return labelled_grid(tiles, [f"t'={t}" for t in range(T)], cols=min(T, 8))
