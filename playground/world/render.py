"""Ray-cast renderer, vectorised over frames x pixels: ray-sphere for balls, slab test for boxes, ray-plane for
the floor; the nearest hit wins, so occlusion follows depth exactly.

The look is kept easy to learn: a plain dark sky, a finite floor (the arena) with a coarse two-grey checkerboard
(features for the 3-D consistency probes), flat saturated balls with Lambert shading (ambient 0.55 keeps the
colour recognisable), and light boxes shaded per face. 2x2 supersampling (`ss`) anti-aliases edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scene import OCCLUDER_PALETTE, PALETTE, TILE, Scene

SKY = np.array([22.0, 24.0, 34.0])
FLOOR_DARK = np.array([78.0, 80.0, 88.0])
FLOOR_LIGHT = np.array([108.0, 110.0, 118.0])
AMBIENT = 0.55
LIGHT = np.array([-0.4, 1.0, 0.6]) / np.linalg.norm([-0.4, 1.0, 0.6])
FACE_SHADE = np.array([0.82, 1.0, 0.92])  # box faces whose normal is x, y (top), z
# The paint effect's colour: a muted green, >= 19 degrees in RGB direction from every ball colour (so the object
# parser never takes a marked tile for a ball, nor a floor/mark edge pixel) and clearly off the floor's greys.
MARK = np.array([70.0, 120.0, 95.0])
TILE_OFFSET, TILE_STRIDE = 32, 64  # tile (i, j) -> code (i + 32) * 64 + (j + 32); arenas up to 10 fit

ID_SKY, ID_FLOOR, ID_OCCLUDER = -1, -2, -3
MAX_SIDE = 1024


@dataclass
class RenderOutput:
    """frames (T, H, W, 3) uint8; depth (T, H, W) float32 camera z, inf for sky (nearest of the subsamples);
    ids (T, H*ss, W*ss) int8 per subsample (-1 sky, -2 floor, -3 occluder, k ball k) or None;
    ball_alone (T, N) subsamples each ball covers when rendered alone, ball_visible (T, N) subsamples where it
    is the nearest hit; tiles (T, H*ss, W*ss) int16 the floor tile's code (tile_code) per subsample where the
    floor is the nearest hit, -1 elsewhere; all None unless ids were asked for."""

    frames: np.ndarray
    depth: np.ndarray
    ids: np.ndarray | None = None
    ball_alone: np.ndarray | None = None
    ball_visible: np.ndarray | None = None
    tiles: np.ndarray | None = None


def tile_code(i, j):
    """One integer per floor tile (i, j) (see TILE_OFFSET)."""
    return (np.asarray(i) + TILE_OFFSET) * TILE_STRIDE + (np.asarray(j) + TILE_OFFSET)


def mark_frames(effects, tile_codes: np.ndarray) -> np.ndarray:
    """The frame from which each tile code in `tile_codes` is marked (inf: never), from a list of Effects."""
    made = np.full(TILE_STRIDE * TILE_STRIDE, np.inf)
    for e in effects:
        c = int(tile_code(*e.tile))
        made[c] = min(made[c], e.frame)
    return made[np.clip(tile_codes, 0, len(made) - 1)]


def check_size(height: int, width: int, ss: int) -> None:
    """Raise ValueError for image sizes the renderer does not take."""
    for name, v in (("height", height), ("width", width)):
        if not isinstance(v, (int, np.integer)) or not 1 <= v <= MAX_SIDE:
            raise ValueError(f"{name} must be an integer in [1, {MAX_SIDE}] pixels, got {v!r}")
    if not isinstance(ss, (int, np.integer)) or not 1 <= ss <= 8:
        raise ValueError(f"ss (supersampling per side) must be an integer in [1, 8], got {ss!r}")


def pixel_rays(K: np.ndarray, Rt: np.ndarray, height: int, width: int, ss: int):
    """Unit ray directions (T, P, 3) in world space for the ss x ss subsamples of every pixel (row-major over the
    supersampled image, P = H*ss * W*ss), and 1/|d_cam| (P,) to turn ray length into camera depth."""
    u = (np.arange(width * ss) + 0.5) / ss
    v = (np.arange(height * ss) + 0.5) / ss
    vv, uu = np.meshgrid(v, u, indexing="ij")
    d_cam = np.stack([(uu - K[0, 2]) / K[0, 0], (vv - K[1, 2]) / K[1, 1], np.ones_like(uu)], -1).reshape(-1, 3)
    inv_norm = 1.0 / np.linalg.norm(d_cam, axis=-1)
    d_cam = d_cam * inv_norm[:, None]
    d = np.matmul(d_cam[None], Rt[:, :, :3])  # d_world = R^T d_cam, as rows: (T, P, 3)
    return d, inv_norm


def ray_spheres(o: np.ndarray, d: np.ndarray, centers: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Distance to the first hit of each sphere (T, P, N), inf on a miss. o (T, 3), d (T, P, 3), centers (T, N, 3)."""
    oc = o[:, None, :] - centers  # (T, N, 3)
    b = np.matmul(d, oc.transpose(0, 2, 1))  # (T, P, N)
    c = np.einsum("tnc,tnc->tn", oc, oc) - radii[None] ** 2
    disc = b * b - c[:, None, :]
    with np.errstate(invalid="ignore"):
        t = -b - np.sqrt(disc)
    return np.where((disc > 0) & (t > 1e-9), t, np.inf)


def ray_boxes(o: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slab test: entry distance (T, P, M) (inf on a miss) and the entry face axis (T, P, M) for boxes lo/hi (M, 3)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d  # (T, P, 3)
        t1 = (lo[None, None] - o[:, None, None]) * inv[:, :, None]  # (T, P, M, 3)
        t2 = (hi[None, None] - o[:, None, None]) * inv[:, :, None]
    tmin = np.fmin(t1, t2)  # fmin: a ray parallel to a slab gives nan only when it starts on the slab plane
    tmax = np.fmax(t1, t2)
    t_near = tmin.max(-1)
    t_far = tmax.min(-1)
    hit = (t_near <= t_far) & (t_near > 1e-9)
    return np.where(hit, t_near, np.inf), tmin.argmax(-1)


def ray_floor(o: np.ndarray, d: np.ndarray, half: float) -> np.ndarray:
    """Distance to the floor y = 0 inside the arena |x|, |z| <= half (T, P), inf elsewhere."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -o[:, None, 1] / d[..., 1]
    x = o[:, None, 0] + t * d[..., 0]
    z = o[:, None, 2] + t * d[..., 2]
    ok = (d[..., 1] < 0) & (np.abs(x) <= half) & (np.abs(z) <= half)
    return np.where(ok, t, np.inf)


def render(scene: Scene, positions: np.ndarray, K: np.ndarray, Rt: np.ndarray, height: int, width: int,
           ss: int = 2, with_ids: bool = False, effects=(), frame0: int = 0) -> RenderOutput:
    """Render frames of `scene` with ball centres `positions` (T, N, 3) seen through K (3, 3) and Rt (T, 3, 4);
    `effects` (physics.Effect list) are the marked floor tiles, drawn in MARK from the frame each was made.
    `frame0`: the scene frame that positions[0] is (a later part of a clip rendered alone: marks by their frame)."""
    check_size(height, width, ss)
    T, N = positions.shape[:2]
    radii = np.array([b.radius for b in scene.balls])
    ball_rgb = np.array([PALETTE[b.color] for b in scene.balls], dtype=np.float64)  # (N, 3)
    o = -np.einsum("tji,tj->ti", Rt[:, :, :3], Rt[:, :, 3])  # camera centres (T, 3)
    d, inv_norm = pixel_rays(K, Rt, height, width, ss)  # (T, P, 3), (P,)

    t_balls = ray_spheres(o, d, positions, radii)  # (T, P, N)
    M = len(scene.occluders)
    # The background (floor, occluders) only changes when the camera moves: cast it once for a static camera.
    static = bool(np.all(Rt == Rt[:1]))
    bo, bd = (o[:1], d[:1]) if static else (o, d)
    bg = [ray_floor(bo, bd, scene.arena_half_size)[..., None]]
    if M:
        ctr = np.array([oc.center for oc in scene.occluders])
        half = np.array([oc.size for oc in scene.occluders]) / 2
        t_box, face = ray_boxes(bo, bd, ctr - half, ctr + half)  # (T or 1, P, M)
        bg.insert(0, t_box)
    t_bg_all = np.concatenate(bg, -1)  # (T or 1, P, M + 1): boxes then floor
    bg_idx = t_bg_all.argmin(-1)
    t_bg = np.take_along_axis(t_bg_all, bg_idx[..., None], -1)[..., 0]
    bg_rgb = np.broadcast_to(SKY, bd.shape).copy()  # (T or 1, P, 3)
    is_floor_bg = (bg_idx == M) & np.isfinite(t_bg)
    p_bg = bo[:, None] + bd * np.where(np.isfinite(t_bg), t_bg, 0.0)[..., None]
    ti, tj = np.floor(p_bg[..., 0] / TILE).astype(np.int64), np.floor(p_bg[..., 2] / TILE).astype(np.int64)
    tile = (ti + tj) & 1
    bg_rgb[is_floor_bg] = np.where(tile[is_floor_bg, None] == 1, FLOOR_LIGHT, FLOOR_DARK)
    # floor tile per ray, only where marks are drawn or the ids asked for (the training cache's path needs neither)
    codes = np.where(is_floor_bg, tile_code(ti, tj), -1) if with_ids or len(effects) else None  # (T or 1, P)
    is_box_bg = (bg_idx < M) & np.isfinite(t_bg)
    if M and is_box_bg.any():
        tt, pp = np.nonzero(is_box_bg)
        m = bg_idx[tt, pp]
        box_rgb = np.array([OCCLUDER_PALETTE[oc.color] for oc in scene.occluders], dtype=np.float64)
        bg_rgb[tt, pp] = box_rgb[m] * FACE_SHADE[face[tt, pp, m], None]
    if static:
        t_bg, bg_idx, bg_rgb = (np.broadcast_to(a, (T,) + a.shape[1:]) for a in (t_bg, bg_idx, bg_rgb))
        codes = None if codes is None else np.broadcast_to(codes, (T,) + codes.shape[1:])
    if len(effects):
        made = mark_frames(effects, codes)  # (T, P)
        marked = (codes >= 0) & (made <= frame0 + np.arange(T)[:, None])
        bg_rgb = np.array(bg_rgb)
        bg_rgb[marked] = MARK

    # balls in front of the background win
    if N:
        k_near = t_balls.argmin(-1)  # (T, P)
        t_ball = np.take_along_axis(t_balls, k_near[..., None], -1)[..., 0]
    else:
        k_near, t_ball = np.zeros(t_bg.shape, int), np.full(t_bg.shape, np.inf)
    is_ball = t_ball < t_bg
    t_hit = np.where(is_ball, t_ball, t_bg)
    rgb = np.array(bg_rgb, dtype=np.float64)  # (T, P, 3)
    if is_ball.any():
        tt, pp = np.nonzero(is_ball)
        k = k_near[tt, pp]
        p_hit = o[tt] + d[tt, pp] * t_ball[tt, pp, None]
        nrm = (p_hit - positions[tt, k]) / radii[k, None]
        shade = AMBIENT + (1 - AMBIENT) * np.clip(nrm @ LIGHT, 0.0, 1.0)
        rgb[tt, pp] = ball_rgb[k] * shade[:, None]

    H2, W2 = height * ss, width * ss
    rgb6 = rgb.reshape(T, height, ss, width, ss, 3)
    frames = sum(rgb6[:, :, a, :, b] for a in range(ss) for b in range(ss)) / (ss * ss)  # box filter
    frames = np.clip(np.rint(frames), 0, 255).astype(np.uint8)  # (T, H, W, 3)
    z6 = (t_hit * inv_norm[None]).reshape(T, height, ss, width, ss)
    depth = np.minimum.reduce([z6[:, :, a, :, b] for a in range(ss) for b in range(ss)]).astype(np.float32)
    out = RenderOutput(frames, depth)
    if with_ids:
        ids = np.full((T, H2 * W2), ID_SKY, dtype=np.int8)
        ids[(bg_idx == M) & np.isfinite(t_bg)] = ID_FLOOR
        ids[(bg_idx < M) & np.isfinite(t_bg)] = ID_OCCLUDER
        ids[is_ball] = k_near[is_ball]
        out.ids = ids.reshape(T, H2, W2)
        out.ball_alone = np.isfinite(t_balls).sum(1)  # (T, N)
        out.ball_visible = np.stack([(ids == k).sum(1) for k in range(N)], -1) if N else np.zeros((T, 0), int)
        out.tiles = np.where(ids == ID_FLOOR, codes, -1).astype(np.int16).reshape(T, H2, W2)
    return out
