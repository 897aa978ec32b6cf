"""Frames to pictures: nearest upscaling, frame strips laid out in a grid (with the click-to-pixel inverse),
spacetime patch grids, side-by-side comparisons and parsed tracks drawn over a video."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

GAP_COLOR = (24, 24, 28)


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling of (..., H, W, C) by an integer factor, so small frames stay crisp."""
    if factor <= 1:
        return np.ascontiguousarray(img)
    return np.ascontiguousarray(img.repeat(factor, axis=-3).repeat(factor, axis=-2))


def scale_for(height: int, width: int, target: int = 128) -> int:
    """Integer upscale factor that brings the shorter side of a frame to at least `target` px."""
    return max(1, -(-target // max(1, min(height, width))))


@dataclass(frozen=True)
class StripLayout:
    """Where each frame of a (T, H, W) video lies in a strip image of `cols` frames per row, each frame upscaled
    by `scale` and separated by `gap` px. `locate` inverts a click on the strip back to (frame, x, y) in the
    frame's own pixels (x = column, y = row), which is how the Attention tab turns a click into a token."""

    frames: int
    height: int
    width: int
    scale: int
    cols: int
    gap: int = 4

    @property
    def rows(self) -> int:
        return -(-self.frames // self.cols)

    @property
    def shape(self) -> tuple[int, int]:
        cell_h, cell_w = self.height * self.scale + self.gap, self.width * self.scale + self.gap
        return self.rows * cell_h - self.gap, min(self.cols, self.frames) * cell_w - self.gap

    def origin(self, t: int) -> tuple[int, int]:
        """Top-left (row, col) pixel of frame t in the strip."""
        r, c = divmod(t, self.cols)
        return r * (self.height * self.scale + self.gap), c * (self.width * self.scale + self.gap)

    def locate(self, x: float, y: float) -> tuple[int, float, float] | None:
        """Strip pixel (x, y) -> (frame, x, y) in frame pixels, or None for a click in a gap or past the end."""
        cell_h, cell_w = self.height * self.scale + self.gap, self.width * self.scale + self.gap
        r, oy = divmod(int(y), cell_h)
        c, ox = divmod(int(x), cell_w)
        t = r * self.cols + c
        if c >= self.cols or t >= self.frames or oy >= self.height * self.scale or ox >= self.width * self.scale:
            return None
        return t, (ox + 0.5) / self.scale, (oy + 0.5) / self.scale


def strip_layout(frames: int, height: int, width: int, scale: int | None = None, max_width: int = 1100) -> StripLayout:
    """A layout that fits `max_width` px: as many frames per row as fit at the given (or automatic) scale."""
    scale = scale or scale_for(height, width, 96)
    cols = max(1, min(frames, (max_width + 4) // (width * scale + 4)))
    return StripLayout(frames, height, width, scale, cols)


def frame_strip(frames: np.ndarray, layout: StripLayout | None = None) -> np.ndarray:
    """(T, H, W, 3) uint8 -> one image with all frames laid out by `layout` (default: `strip_layout`)."""
    frames = np.asarray(frames)
    T, H, W = frames.shape[:3]
    layout = layout or strip_layout(T, H, W)
    out = np.empty((*layout.shape, 3), np.uint8)
    out[:] = GAP_COLOR
    big = upscale(frames, layout.scale)
    for t in range(T):
        r, c = layout.origin(t)
        out[r:r + H * layout.scale, c:c + W * layout.scale] = big[t]
    return out


def hstack_videos(*videos: np.ndarray, gap: int = 2) -> np.ndarray:
    """Videos (T, H, W, 3) of equal T and H side by side, `gap` px apart -> (T, H, sum W + gaps, 3)."""
    T, H = videos[0].shape[:2]
    sep = np.empty((T, H, gap, 3), np.uint8)
    sep[:] = GAP_COLOR
    parts = []
    for k, v in enumerate(videos):
        parts += [sep, v] if k else [v]
    return np.concatenate(parts, axis=2)


def pixel_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| per pixel of two uint8 images or videos (..., 3), the largest over the channels: (...) int16."""
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(-1)


def abs_difference(a: np.ndarray, b: np.ndarray, gain: float = 2.0) -> np.ndarray:
    """|a - b| per pixel (max over channels), amplified and shown as a grey image (T, H, W, 3) uint8."""
    d = pixel_difference(a, b).astype(np.float32) * gain
    d = np.clip(d, 0, 255).astype(np.uint8)
    return np.repeat(d[..., None], 3, axis=-1)


def draw_patch_grid(frames: np.ndarray, patch_px: int, patch_t: int, layout: StripLayout | None = None,
                    highlight: tuple[int, int, int] | None = None) -> np.ndarray:
    """Frame strip with the spacetime patch grid drawn over it: thin lines every `patch_px` frame pixels, frames
    of one temporal group (`patch_t` frames share a token) tinted alike and labelled t'=k; `highlight` = a
    token (t', y', x') outlined in every frame of its group."""
    frames = np.asarray(frames)
    T, H, W = frames.shape[:3]
    layout = layout or strip_layout(T, H, W)
    img = frame_strip(frames, layout)
    s = layout.scale
    tints = [(255, 220, 90), (90, 200, 255)]
    for t in range(T):
        r0, c0 = layout.origin(t)
        group = t // patch_t
        color = tints[group % 2]
        for yy in range(0, H + 1, patch_px):
            y = min(r0 + yy * s, r0 + H * s - 1)
            img[y, c0:c0 + W * s] = (0.5 * img[y, c0:c0 + W * s] + 0.5 * np.array(color)).astype(np.uint8)
        for xx in range(0, W + 1, patch_px):
            x = min(c0 + xx * s, c0 + W * s - 1)
            img[r0:r0 + H * s, x] = (0.5 * img[r0:r0 + H * s, x] + 0.5 * np.array(color)).astype(np.uint8)
        label = f"t'={group}" if t % patch_t == 0 else ""
        if label:
            cv2.putText(img, label, (c0 + 3, r0 + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, color, 1, cv2.LINE_AA)
        if highlight is not None and highlight[0] == group:
            _, py, px = highlight
            cv2.rectangle(img, (c0 + px * patch_px * s, r0 + py * patch_px * s),
                          (c0 + (px + 1) * patch_px * s - 1, r0 + (py + 1) * patch_px * s - 1), (255, 60, 60), 2)
    return img


def draw_tracks(frames: np.ndarray, tracks: dict[str, np.ndarray], scale: int,
                truth: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Upscaled frames with parsed centroids (rings, one colour per track, with a short tail) and optionally the
    true centroids (small crosses). tracks / truth: colour name -> (T, 2) px (x, y), NaN where absent."""
    from ..world import PALETTE

    big = upscale(np.asarray(frames), scale).copy()
    for t in range(big.shape[0]):
        for name, xy in (truth or {}).items():
            if np.isfinite(xy[t]).all():
                x, y = (xy[t] * scale).astype(int)
                cv2.drawMarker(big[t], (int(x), int(y)), (255, 255, 255), cv2.MARKER_CROSS, 2 * scale, 1)
        for name, xy in tracks.items():
            col = tuple(int(v) for v in PALETTE.get(name, (255, 255, 255)))
            pts = [(xy[k] * scale).astype(int) for k in range(max(0, t - 4), t + 1) if np.isfinite(xy[k]).all()]
            for a, b in zip(pts[:-1], pts[1:]):
                cv2.line(big[t], tuple(int(v) for v in a), tuple(int(v) for v in b), col, 1, cv2.LINE_AA)
            if np.isfinite(xy[t]).all():
                x, y = (xy[t] * scale).astype(int)
                cv2.circle(big[t], (int(x), int(y)), max(3, 2 * scale), (0, 0, 0), 2, cv2.LINE_AA)
                cv2.circle(big[t], (int(x), int(y)), max(3, 2 * scale), col, 1, cv2.LINE_AA)
    return big


def colorize(values: np.ndarray, vmin: float | None = None, vmax: float | None = None,
             cmap: int = cv2.COLORMAP_INFERNO) -> np.ndarray:
    """Real array (..., H, W) -> (..., H, W, 3) uint8 RGB through an OpenCV colour map."""
    v = np.asarray(values, dtype=np.float32)
    lo = float(np.nanmin(v)) if vmin is None else vmin
    hi = float(np.nanmax(v)) if vmax is None else vmax
    u = np.clip((v - lo) / max(hi - lo, 1e-12), 0, 1)
    u8 = np.nan_to_num(u * 255).astype(np.uint8)
    flat = u8.reshape(-1, u8.shape[-1])
    rgb = cv2.applyColorMap(flat, cmap)[..., ::-1]
    return rgb.reshape(*u8.shape, 3)


def labelled_grid(tiles: list[np.ndarray], labels: list[str], cols: int, gap: int = 4) -> np.ndarray:
    """Equal-sized RGB tiles in a grid, each with a small caption bar on top."""
    th, tw = tiles[0].shape[:2]
    bar = 14
    rows = -(-len(tiles) // cols)
    out = np.empty((rows * (th + bar + gap) - gap, min(cols, len(tiles)) * (tw + gap) - gap, 3), np.uint8)
    out[:] = GAP_COLOR
    for k, (tile, lab) in enumerate(zip(tiles, labels)):
        r, c = divmod(k, cols)
        y0, x0 = r * (th + bar + gap), c * (tw + gap)
        cv2.putText(out, lab, (x0 + 2, y0 + 10), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (230, 230, 230), 1, cv2.LINE_AA)
        out[y0 + bar:y0 + bar + th, x0:x0 + tw] = tile
    return out


def labelled_rows(strips: list[np.ndarray], labels: list[str], label_width: int = 84, gap: int = 6) -> np.ndarray:
    """Equal-sized frame strips stacked as rows, each with its label (e.g. "truth", "seed 3") in a column on the
    left, so every frame of every row stays visible in one image."""
    sh, sw = strips[0].shape[:2]
    out = np.empty((len(strips) * (sh + gap) - gap, label_width + sw, 3), np.uint8)
    out[:] = GAP_COLOR
    for k, (strip, lab) in enumerate(zip(strips, labels)):
        y0 = k * (sh + gap)
        cv2.putText(out, lab, (4, y0 + min(sh, 40) // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1,
                    cv2.LINE_AA)
        out[y0:y0 + sh, label_width:] = strip
    return out
