"""Ground truth per DiT token: what a linear probe on the hidden states is asked to read out.

A token covers `pt` frames and a `px` x `px` pixel square (px = autoencoder compression x patch size). From a
clip's ground truth (depth, 3-D positions, velocities, visibility, cameras) and a ray cast at pixel centres that
says which object each pixel shows, every token gets: its mean camera depth (NaN where it shows sky), the share of
its pixels that show a ball or an occluder, whether a hidden ball sits behind it; every visible ball its token,
3-D position and velocity; every frame group its camera pose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..world.camera import camera_centers
from ..world.groundtruth import HIDDEN
from ..world.render import pixel_rays, ray_boxes, ray_spheres

SKY, FLOOR, OCCLUDER = -1, -2, -3


@dataclass
class TokenTruth:
    """Per-token and per-object truth of one clip on a (T', h', w') token grid.

    depth (T', h', w'): mean camera z of the token's pixels, NaN if any shows sky; ball, occluder (T', h', w'):
    share of its pixels showing a ball / an occluder; hidden_behind (T', h', w') bool: a ball that is hidden
    (visible < HIDDEN over the group) has its image centre in this token; balls: rows (t', y', x', k) of visible
    balls (visible >= 0.5 over the group) with position (M, 3) and velocity (M, 3) world, group means;
    camera (T', 6): camera centre (3) and viewing axis (3), world, group means.
    """

    depth: np.ndarray
    ball: np.ndarray
    occluder: np.ndarray
    hidden_behind: np.ndarray
    ball_tokens: np.ndarray
    ball_position: np.ndarray
    ball_velocity: np.ndarray
    camera: np.ndarray


def pixel_objects(clip) -> np.ndarray:
    """(T, H, W) int: ball index k >= 0, or SKY / FLOOR / OCCLUDER, of the nearest hit at each pixel centre."""
    T, H, W = clip.frames.shape[:3]
    gt = clip.gt
    d, _ = pixel_rays(gt.K, gt.Rt, H, W, 1)  # (T, P, 3)
    o = camera_centers(gt.Rt)  # (T, 3)
    radii = np.array([b.radius for b in clip.scene.balls])
    t_ball = ray_spheres(o, d, gt.positions, radii)  # (T, P, N)
    nearest = np.full(t_ball.shape[:2], np.inf)
    label = np.where(np.isfinite(gt.depth.reshape(T, -1)), FLOOR, SKY)
    if clip.scene.occluders:
        c = np.array([oc.center for oc in clip.scene.occluders], dtype=float)
        s = np.array([oc.size for oc in clip.scene.occluders], dtype=float)
        t_box = ray_boxes(o, d, c - s / 2, c + s / 2)[0].min(-1)  # (T, P)
        nearest = t_box
        label = np.where(np.isfinite(t_box), OCCLUDER, label)
    k = t_ball.argmin(-1)
    tb = t_ball.min(-1)
    label = np.where(tb < nearest, k, label)
    return label.reshape(T, H, W)


def _groups(x: np.ndarray, pt: int) -> np.ndarray:
    """(T, ...) -> (T', pt, ...), the last group padded by repeating its last frame (as the DiT pads time)."""
    T = x.shape[0]
    tg = math.ceil(T / pt)
    idx = np.minimum(np.arange(tg * pt), T - 1)
    return x[idx].reshape(tg, pt, *x.shape[1:])


def token_truth(clip, pt: int, px: int) -> TokenTruth:
    """Ground truth of `clip` on the token grid of a DiT with temporal patch `pt` and `px` pixels per token side."""
    T, H, W = clip.frames.shape[:3]
    gt = clip.gt
    hp, wp = H // px, W // px
    tg = math.ceil(T / pt)

    def per_token(a):  # (T, H, W) -> (T', h', w', pt * px * px)
        g = _groups(a, pt).reshape(tg, pt, hp, px, wp, px)
        return g.transpose(0, 2, 4, 1, 3, 5).reshape(tg, hp, wp, -1)

    depth = per_token(gt.depth.astype(np.float64))
    depth = np.where(np.isfinite(depth).all(-1), np.where(np.isfinite(depth), depth, 0).mean(-1), np.nan)
    obj = per_token(pixel_objects(clip))
    ball = (obj >= 0).mean(-1)
    occluder = (obj == OCCLUDER).mean(-1)

    vis = _groups(gt.visible, pt).mean(1)  # (T', N)
    cen = _groups(gt.centroids, pt).mean(1)  # (T', N, 2) px (x = column, y = row)
    pos = _groups(gt.positions, pt).mean(1)  # (T', N, 3)
    vel = _groups(gt.velocities, pt).mean(1)
    hidden_behind = np.zeros((tg, hp, wp), dtype=bool)
    rows, p_rows, v_rows = [], [], []
    for t in range(tg):
        for k in range(vis.shape[1]):
            x, y = cen[t, k]
            if not (np.isfinite(x) and np.isfinite(y) and 0 <= x < W and 0 <= y < H):
                continue
            ty, tx = int(y // px), int(x // px)
            if vis[t, k] < HIDDEN:
                hidden_behind[t, ty, tx] = True
            elif vis[t, k] >= 0.5:
                rows.append((t, ty, tx, k))
                p_rows.append(pos[t, k])
                v_rows.append(vel[t, k])
    R = gt.Rt[:, :, :3]
    cam = np.concatenate([camera_centers(gt.Rt), R[:, 2, :]], axis=1)  # (T, 6): centre, viewing axis
    return TokenTruth(depth, ball, occluder, hidden_behind, np.array(rows, dtype=int).reshape(-1, 4),
                      np.array(p_rows, dtype=float).reshape(-1, 3), np.array(v_rows, dtype=float).reshape(-1, 3),
                      _groups(cam, pt).mean(1))
