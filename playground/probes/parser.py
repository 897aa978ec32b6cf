"""Object parser: find the coloured balls in frames alone (colour masks + connected components), and follow
them through a video (tracks).

Why chromaticity: the renderer shades a ball by multiplying its palette colour by a factor in [0.55, 1]
(Lambert with ambient 0.55), so the *direction* of a ball pixel's RGB vector equals its palette colour's
direction whatever the shading, while its length varies. A pixel is a ball of colour c when its RGB direction
is within `max_angle_deg` of c's and its brightness is within the shading range. The floor (78-118 grey), the
sky (~25) and the occluders (grey (175, 172, 165), brown (150, 110, 70), x 0.82-1 per face) are neutral or far
from every palette direction, except white: white balls are told from the light-grey occluder by being exactly
neutral (max - min channel <= `white_max_spread`; the occluder's warm grey spreads 8-10) and from the floor by
brightness (>= 128; the floor is <= 118). Anti-aliased edge pixels that mix ball and background fall outside the
angle and are dropped on every side alike, which keeps centroids unbiased.

Pixel convention (as the world's ground truth): x = column, y = row, pixel (i, j) has its centre at
(j + 0.5, i + 0.5).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from ..world import PALETTE

COLORS: tuple[str, ...] = tuple(PALETTE)
_PAL = np.array([PALETTE[c] for c in COLORS], dtype=np.float64)  # (C, 3)
_PAL_DIR = _PAL / np.linalg.norm(_PAL, axis=1, keepdims=True)
_PAL_NORM = np.linalg.norm(_PAL, axis=1)
WHITE = COLORS.index("white")


@dataclass(frozen=True)
class ParserConfig:
    """Thresholds of the colour classifier and the blob filter (defaults tuned on the world's renders)."""

    max_angle_deg: float = 7.0  # RGB direction within this of the palette colour (nearest colours are >= 14 deg apart)
    min_shade: float = 0.42  # brightness / palette brightness, below the renderer's ambient 0.55 for slack
    max_shade: float = 1.12
    white_max_spread: float = 6.0  # max - min channel of a white-ball pixel
    white_min_level: float = 128.0  # min channel of a white-ball pixel (the floor is <= 118)
    white_min_peak: float = 175.0  # a white blob needs one lit pixel this bright (occluder/floor edges reach ~146)
    min_area_32: float = 2.0  # smallest blob, in pixels at 32 x 32; scaled by H * W / 32^2


@dataclass
class Detection:
    """One blob: palette colour, centroid (x = column, y = row, px), equivalent radius sqrt(area / pi), visible
    area (px) and the blob's mean RGB."""

    color: str
    x: float
    y: float
    radius: float
    area: float
    mean_rgb: tuple[float, float, float]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean_rgb"] = [round(float(v), 1) for v in self.mean_rgb]
        for k in ("x", "y", "radius"):
            d[k] = round(float(d[k]), 3)
        d["area"] = float(self.area)
        return d


def min_area(height: int, width: int, cfg: ParserConfig = ParserConfig()) -> float:
    """Smallest blob kept at this resolution (scales with the pixel count)."""
    return max(1.0, cfg.min_area_32 * height * width / 1024.0)


def classify_pixels(frames: np.ndarray, cfg: ParserConfig = ParserConfig()) -> np.ndarray:
    """Palette index per pixel (..., H, W) int8, -1 where no ball colour matches. frames (..., H, W, 3) uint8."""
    rgb = np.asarray(frames, dtype=np.float32)
    norm = np.linalg.norm(rgb, axis=-1)  # (..., H, W)
    unit = rgb / np.maximum(norm, 1e-6)[..., None]
    cos = unit @ _PAL_DIR.T.astype(np.float32)  # (..., H, W, C)
    best = cos.argmax(-1)
    best_cos = np.take_along_axis(cos, best[..., None], -1)[..., 0]
    shade = norm / _PAL_NORM[best].astype(np.float32)
    ok = (best_cos >= np.cos(np.radians(cfg.max_angle_deg))) & (shade >= cfg.min_shade) & (shade <= cfg.max_shade)
    # white is the neutral direction, shared with the floor and grey occluders: demand exact neutrality + light
    spread = rgb.max(-1) - rgb.min(-1)
    white_ok = (spread <= cfg.white_max_spread) & (rgb.min(-1) >= cfg.white_min_level)
    ok &= (best != WHITE) | white_ok
    return np.where(ok, best, -1).astype(np.int8)


def parse_frame(frame: np.ndarray, cfg: ParserConfig = ParserConfig(), labels: np.ndarray | None = None
                ) -> list[Detection]:
    """Detections in one frame (H, W, 3) uint8, largest first within each colour."""
    H, W = frame.shape[:2]
    lab = classify_pixels(frame, cfg) if labels is None else labels
    amin = min_area(H, W, cfg)
    out: list[Detection] = []
    for ci in np.unique(lab):
        if ci < 0:
            continue
        mask = (lab == ci).astype(np.uint8)
        n, comp, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
        order = np.argsort(-stats[1:, cv2.CC_STAT_AREA]) + 1
        for j in order:
            area = float(stats[j, cv2.CC_STAT_AREA])
            if area < amin:
                continue
            px = frame[comp == j].reshape(-1, 3)
            if ci == WHITE and px.min(1).max() < cfg.white_min_peak:
                continue  # neutral edge pixels between an occluder and the floor, not a lit ball
            mean_rgb = px.mean(0)
            # cv2 centroids are in index units (pixel centre at j); the world puts pixel centres at j + 0.5
            out.append(Detection(COLORS[ci], float(cents[j, 0]) + 0.5, float(cents[j, 1]) + 0.5,
                                 float(np.sqrt(area / np.pi)), area, tuple(float(v) for v in mean_rgb)))
    return out


def parse_video(frames: np.ndarray, cfg: ParserConfig = ParserConfig()) -> list[list[Detection]]:
    """Detections per frame of a video (T, H, W, 3) uint8."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    labels = classify_pixels(frames, cfg)
    return [parse_frame(f, cfg, lab) for f, lab in zip(frames, labels)]


def ball_mask(frames: np.ndarray, cfg: ParserConfig = ParserConfig(), dilate: int = 1) -> np.ndarray:
    """Boolean (T, H, W): pixels of any ball colour, grown by `dilate` px (for background-only statistics)."""
    m = (classify_pixels(frames, cfg) >= 0).astype(np.uint8)
    if dilate > 0:
        k = np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8)
        m = np.stack([cv2.dilate(f, k) for f in m])
    return m.astype(bool)


# ---------------------------------------------------------------------------- tracks
@dataclass
class Track:
    """One object followed through a video: colour, centroids (T, 2) px, radii (T,), areas (T,); NaN when the
    object is not detected in a frame; mean_rgb (T, 3) of the blob (NaN for track-level predictions)."""

    color: str
    centroids: np.ndarray
    radii: np.ndarray
    areas: np.ndarray
    mean_rgb: np.ndarray | None = None

    @property
    def present(self) -> np.ndarray:
        return np.isfinite(self.centroids[:, 0])

    def to_dict(self) -> dict:
        def lst(a):
            return [None if not np.isfinite(v) else round(float(v), 3) for v in np.ravel(a)]
        return {"color": self.color, "x": lst(self.centroids[:, 0]), "y": lst(self.centroids[:, 1]),
                "radius": lst(self.radii)}


def _empty_track(color: str, T: int) -> Track:
    return Track(color, np.full((T, 2), np.nan), np.full(T, np.nan), np.full(T, np.nan), np.full((T, 3), np.nan))


def color_track(parsed: list[list[Detection]], color: str) -> Track:
    """The one object of `color` (scenes never repeat a colour): per frame the detection of that colour nearest
    to the last position followed (the largest one until there is a last position). Jumps are kept, so a probe
    can see teleports."""
    tr = _empty_track(color, len(parsed))
    last = None
    for t, dets in enumerate(parsed):
        cands = [d for d in dets if d.color == color]
        if not cands:
            continue
        if last is None:
            d = max(cands, key=lambda d: d.area)
        else:
            d = min(cands, key=lambda d: (d.x - last[0]) ** 2 + (d.y - last[1]) ** 2)
        _put(tr, t, d)
        last = (d.x, d.y)
    return tr


def build_tracks(parsed: list[list[Detection]], max_jump: float | None = None) -> list[Track]:
    """Associate detections across frames: by colour, and by nearest centroid (greedy, closest pairs first)
    when a colour repeats. A detection farther than `max_jump` px from every open track of its colour (default:
    a quarter of the longer image side, inferred from the detections) starts a new track. Longest tracks first."""
    T = len(parsed)
    if max_jump is None:
        extent = max([max(d.x, d.y) for dets in parsed for d in dets], default=32.0)
        max_jump = 0.25 * max(32.0, extent)
    tracks: list[Track] = []
    last: list[tuple[float, float]] = []
    for t, dets in enumerate(parsed):
        for color in sorted({d.color for d in dets}):
            cands = [d for d in dets if d.color == color]
            open_ids = [i for i, tr in enumerate(tracks) if tr.color == color]
            pairs = sorted((np.hypot(d.x - last[i][0], d.y - last[i][1]), a, i)
                           for a, d in enumerate(cands) for i in open_ids)
            used_d, used_t = set(), set()
            for dist, a, i in pairs:
                if dist > max_jump or a in used_d or i in used_t:
                    continue
                used_d.add(a), used_t.add(i)
                _put(tracks[i], t, cands[a])
                last[i] = (cands[a].x, cands[a].y)
            for a, d in enumerate(cands):
                if a not in used_d:
                    tracks.append(_empty_track(color, T))
                    last.append((d.x, d.y))
                    _put(tracks[-1], t, d)
    return sorted(tracks, key=lambda tr: -int(tr.present.sum()))


def _put(tr: Track, t: int, d: Detection) -> None:
    tr.centroids[t] = (d.x, d.y)
    tr.radii[t], tr.areas[t] = d.radius, d.area
    tr.mean_rgb[t] = d.mean_rgb
