"""Per-frame ground truth of a rendered clip: 3-D state, 2-D projections, visibility, depth, cameras, events.

Persistent effects (marked floor tiles) come with when and by which ball each was made, where its centre
projects, how much of it is in view in every frame, and a per-pixel map of the floor tiles (the probes read a
tile's colour there).

Centroids are the exact centres of the spheres' image ellipses (camera.sphere_ellipse), i.e. the centroid of each
ball's unoccluded silhouette, not the projection of the sphere centre (they differ by up to a pixel near the
image border). Projected radii are the radii of circles of the same area as those ellipses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .camera import project, sphere_ellipse
from .physics import Effect, Event
from .render import RenderOutput, tile_code
from .scene import TILE

HIDDEN = 0.05  # a ball counts as occluded in frames where less than this fraction of it is visible


@dataclass
class GroundTruth:
    """positions, velocities (T, N, 3) world; centroids (T, N, 2) px (x = column, y = row); radii_px (T, N);
    visible (T, N) in [0, 1]; depth (T, H, W) camera z (inf = sky); K (3, 3); Rt (T, 3, 4) world-to-camera;
    events: physical events (kicks included); occlusions: per ball the [start, end] frame intervals (inclusive)
    with visible < HIDDEN. effects: the marked tiles (physics.Effect); effect_exists (T, E) whether effect e has
    been made by frame t; effect_centroids (T, E, 2) px where its tile's centre projects (NaN behind the
    camera); effect_visible (T, E) in [0, 1] the share of the tile's image that is in the image and not hidden;
    tile_map (T, H, W) int16 the tile code (render.tile_code) of pixels that show one floor tile only, -1
    elsewhere."""

    positions: np.ndarray
    velocities: np.ndarray
    centroids: np.ndarray
    radii_px: np.ndarray
    visible: np.ndarray
    depth: np.ndarray
    K: np.ndarray
    Rt: np.ndarray
    events: list[Event]
    occlusions: list[dict]
    effects: list[Effect] = field(default_factory=list)
    effect_exists: np.ndarray | None = None
    effect_centroids: np.ndarray | None = None
    effect_visible: np.ndarray | None = None
    tile_map: np.ndarray | None = None

    def to_json_dict(self, include_depth: bool = False) -> dict:
        """Numbers as nested lists (NaN -> None); the depth maps only when asked (they are large)."""
        d = {
            "positions": self.positions.tolist(), "velocities": self.velocities.tolist(),
            "centroids": _nan_to_none(self.centroids), "radii_px": _nan_to_none(self.radii_px),
            "visible": self.visible.tolist(), "K": self.K.tolist(), "Rt": self.Rt.tolist(),
            "events": [e.to_dict() for e in self.events], "occlusions": self.occlusions,
            "actions": [e.to_dict() for e in self.events if e.kind == "kick"],
            "effects": [e.to_dict() for e in self.effects],
        }
        if self.effects:
            d["effect_centroids"] = _nan_to_none(self.effect_centroids)
            d["effect_visible"] = np.round(self.effect_visible, 4).tolist()
        if include_depth:
            d["depth"] = np.where(np.isfinite(self.depth), self.depth, -1.0).tolist()  # -1 = sky
        return d


def visible_fraction(out: RenderOutput, area_px: np.ndarray, half_px: np.ndarray, centers_px: np.ndarray,
                     height: int, width: int, ss: int) -> np.ndarray:
    """Fraction (T, N) of each ball's silhouette that is visible: not hidden by an occluder or another ball, and
    inside the image.

    visible subsamples / subsamples the ball covers alone gives the unhidden part of its in-image silhouette;
    when the ellipse's bounding box crosses the image border, that is scaled by the in-image share of the exact
    ellipse area (the alone count over area * ss^2), so a ball half out of frame reads 0.5, not 1.
    """
    alone = out.ball_alone.astype(np.float64)
    unhidden = np.where(alone > 0, out.ball_visible / np.maximum(alone, 1), 0.0)
    lo = centers_px - half_px
    hi = centers_px + half_px
    inside = (lo[..., 0] >= 0) & (lo[..., 1] >= 0) & (hi[..., 0] <= width) & (hi[..., 1] <= height)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.clip(alone / (area_px * ss * ss), 0.0, 1.0)
    share = np.where(inside, 1.0, np.nan_to_num(share, nan=0.0))
    return np.clip(unhidden * share, 0.0, 1.0)


def hidden_intervals(visible: np.ndarray, threshold: float = HIDDEN) -> list[dict]:
    """[{ball, start, end}] for every run of frames where a ball's visible fraction is below threshold."""
    out = []
    for k in range(visible.shape[1]):
        hid = np.concatenate([[False], visible[:, k] < threshold, [False]])
        edges = np.flatnonzero(np.diff(hid.astype(np.int8)))
        for s, e in zip(edges[::2], edges[1::2]):
            out.append({"ball": k, "start": int(s), "end": int(e - 1)})
    return out


def ground_truth(radii: np.ndarray, positions: np.ndarray, velocities: np.ndarray, events: list[Event],
                 out: RenderOutput, K: np.ndarray, Rt: np.ndarray, height: int, width: int, ss: int,
                 effects: list[Effect] = (), arena_half_size: float = 1.0) -> GroundTruth:
    """Assemble the GroundTruth of a clip rendered with ids (render(..., with_ids=True))."""
    centers, area, half = sphere_ellipse(positions, radii, K, Rt)
    visible = visible_fraction(out, area, half, centers, height, width, ss)
    T = positions.shape[0]
    effects = list(effects)
    tm = out.tiles.reshape(T, height, ss, width, ss).transpose(0, 1, 3, 2, 4).reshape(T, height, width, ss * ss)
    pure = (tm == tm[..., :1]).all(-1) & (tm[..., 0] >= 0)
    tile_map = np.where(pure, tm[..., 0], -1).astype(np.int16)
    gt = GroundTruth(positions, velocities, centers, np.sqrt(area / np.pi), visible, out.depth, K, Rt,
                     events, hidden_intervals(visible), effects, tile_map=tile_map)
    E = len(effects)
    gt.effect_exists = np.array([[t >= e.frame for e in effects] for t in range(T)], dtype=bool).reshape(T, E)
    gt.effect_centroids = np.full((T, E, 2), np.nan)
    gt.effect_visible = np.zeros((T, E))
    for k, e in enumerate(effects):
        c = np.broadcast_to(np.asarray(e.center, dtype=np.float64), (T, 1, 3))
        uv, z = project(c, K, Rt)
        gt.effect_centroids[:, k] = np.where(z > 1e-6, uv[:, 0], np.nan)
        seen = (out.tiles.reshape(T, -1) == tile_code(*e.tile)).sum(1) / (ss * ss)  # visible px per frame
        quad = tile_image_area(e.tile, arena_half_size, K, Rt)
        with np.errstate(invalid="ignore", divide="ignore"):
            gt.effect_visible[:, k] = np.clip(np.nan_to_num(seen / quad, nan=0.0), 0.0, 1.0)
    return gt


def tile_image_area(tile: tuple[int, int], arena_half_size: float, K: np.ndarray, Rt: np.ndarray) -> np.ndarray:
    """Area (T,) in px of a floor tile's image (the tile clipped to the arena; a planar quad projects to a quad,
    so the shoelace formula is exact), NaN where a corner is behind the camera. Not clipped to the image: the
    part outside it counts as not visible."""
    A = arena_half_size
    x0, x1 = np.clip([tile[0] * TILE, (tile[0] + 1) * TILE], -A, A)
    z0, z1 = np.clip([tile[1] * TILE, (tile[1] + 1) * TILE], -A, A)
    corners = np.array([[x0, 0, z0], [x1, 0, z0], [x1, 0, z1], [x0, 0, z1]], dtype=np.float64)
    uv, z = project(np.broadcast_to(corners, (Rt.shape[0], 4, 3)), K, Rt)  # (T, 4, 2), (T, 4)
    x, y = uv[..., 0], uv[..., 1]
    area = 0.5 * np.abs((x * np.roll(y, -1, 1) - np.roll(x, -1, 1) * y).sum(1))
    return np.where((z > 1e-6).all(1), area, np.nan)


def _nan_to_none(a: np.ndarray):
    return np.where(np.isfinite(a), a, None).tolist() if not np.isfinite(a).all() else a.tolist()
