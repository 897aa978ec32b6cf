"""Per-frame ground truth of a rendered clip: 3-D state, 2-D projections, visibility, depth, cameras, events.

Centroids are the exact centres of the spheres' image ellipses (camera.sphere_ellipse), i.e. the centroid of each
ball's unoccluded silhouette, not the projection of the sphere centre (they differ by up to a pixel near the
image border). Projected radii are the radii of circles of the same area as those ellipses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import sphere_ellipse
from .physics import Event
from .render import RenderOutput

HIDDEN = 0.05  # a ball counts as occluded in frames where less than this fraction of it is visible


@dataclass
class GroundTruth:
    """positions, velocities (T, N, 3) world; centroids (T, N, 2) px (x = column, y = row); radii_px (T, N);
    visible (T, N) in [0, 1]; depth (T, H, W) camera z (inf = sky); K (3, 3); Rt (T, 3, 4) world-to-camera;
    events: physical events; occlusions: per ball the [start, end] frame intervals (inclusive) with
    visible < HIDDEN."""

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

    def to_json_dict(self, include_depth: bool = False) -> dict:
        """Numbers as nested lists (NaN -> None); the depth maps only when asked (they are large)."""
        d = {
            "positions": self.positions.tolist(), "velocities": self.velocities.tolist(),
            "centroids": _nan_to_none(self.centroids), "radii_px": _nan_to_none(self.radii_px),
            "visible": self.visible.tolist(), "K": self.K.tolist(), "Rt": self.Rt.tolist(),
            "events": [e.to_dict() for e in self.events], "occlusions": self.occlusions,
        }
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
                 out: RenderOutput, K: np.ndarray, Rt: np.ndarray, height: int, width: int, ss: int) -> GroundTruth:
    """Assemble the GroundTruth of a clip rendered with ids (render(..., with_ids=True))."""
    centers, area, half = sphere_ellipse(positions, radii, K, Rt)
    visible = visible_fraction(out, area, half, centers, height, width, ss)
    return GroundTruth(positions, velocities, centers, np.sqrt(area / np.pi), visible, out.depth, K, Rt,
                       events, hidden_intervals(visible))


def _nan_to_none(a: np.ndarray):
    return np.where(np.isfinite(a), a, None).tolist() if not np.isfinite(a).all() else a.tolist()
