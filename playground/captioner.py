"""A learned captioner: frames in, the caption grammar's attributes out, worded by the grammar itself.

The Sora report (after DALL-E 3) re-captions its training set with a captioner trained on descriptive captions.
Here the rich captions come from a grammar over attribute records (playground.world.captions), so the captioner
predicts the record's labels - which colours are there, and per colour its heading, speed, wall bounce,
collision, occlusion and kick - plus the scene's gravity, camera motion, occluder look and floor marks; the
grammar then words them (`attributes_from_labels` -> `caption_from_attributes`). Its targets are read from the
training clips' rich captions with `prompt_attributes`, exactly as its outputs are scored.

The network reads each palette colour as a track. A fixed, parameter-free front end (`clip_features`, the probes'
parser's colour rule made soft) gives per colour and frame its mask's mass, centroid, spread and motion, the
distance to the nearest other colour, and its mask on an 8x8 grid; small per-frame and temporal convolutions over
the frames and masks give clip features, pooled under each colour's mask. A temporal convolution shared by all
colours reads each track; global heads read the clip features and the tracks of the colours seen. (A first
version that found the colours itself, with learned colour queries over learned features, learned them far too
slowly for a few minutes of CPU: docs/captions.md.)

    python -m playground caption train --out models/worldsim-s/captioner   # seeded, minutes on 2 cores
    python -m playground caption eval --model models/worldsim-s            # writes captioner/eval.json
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from einops import rearrange

from .enrich import COLOURS, prompt_attributes
from .world.captions import (CAMERA_MOTIONS, HEADINGS, SPEEDS, attributes_from_labels, caption_from_attributes)
from .world.render import MARK
from .world.scene import MAX_BALLS, OCCLUDER_PALETTE, PALETTE

CAPTIONER_VERSION = 2  # the network's inputs and layers; a cached captioner of another version is trained anew
KINDS = ("wall", "box")
OCCLUDER_COLOURS = tuple(OCCLUDER_PALETTE)
# The attributes the goals name (agreement of each, and of all at once), and the finer ones a caption also
# states (reported, no goal).
GOAL_KEYS = ("colours", "count", "motion", "gravity", "occluder", "camera_motion", "collision", "kicked", "marks")
DETAIL_KEYS = ("speed", "walls", "collisions", "occlusions", "kicks")
PER_COLOUR_FLAGS = ("wall", "collide", "behind", "kicked")


# --------------------------------------------------------------------------- targets
def label_targets(labels: list[dict]) -> dict[str, torch.Tensor]:
    """prompt_attributes dicts of rich captions -> training targets (B = len(labels), K = 8 palette colours)."""
    B, K = len(labels), len(COLOURS)
    present = torch.zeros(B, K)
    heading = torch.zeros(B, K, dtype=torch.long)
    speed = torch.zeros(B, K, dtype=torch.long)
    kick_heading = torch.zeros(B, K, dtype=torch.long)
    flags = torch.zeros(B, K, len(PER_COLOUR_FLAGS))
    glob = torch.zeros(B, 3)  # gravity, marks, occluder present
    camera = torch.zeros(B, dtype=torch.long)
    occ_colour = torch.zeros(B, dtype=torch.long)
    occ_kind = torch.zeros(B, dtype=torch.long)
    for i, lab in enumerate(labels):
        collide = {c for p in lab["collisions"] for c in p.split("+")}
        behind = {o.split(" ")[0]: o.split(" ") for o in lab["occlusions"]}
        for k, c in enumerate(COLOURS):
            if c not in lab["colours"]:
                continue
            present[i, k] = 1
            heading[i, k] = HEADINGS.index(lab["motion"].get(c, "still"))
            speed[i, k] = SPEEDS.index(lab["speed"].get(c, ""))
            kicks = lab["kicks"].get(c, [])
            kick_heading[i, k] = HEADINGS.index(kicks[0] or "still") if kicks else 0
            flags[i, k] = torch.tensor([c in lab["walls"], c in collide, c in behind, bool(kicks)], dtype=torch.float)
        if behind:
            _, _, oc, kind = next(iter(behind.values()))
            occ_colour[i], occ_kind[i] = OCCLUDER_COLOURS.index(oc), KINDS.index(kind)
        glob[i] = torch.tensor([lab["gravity"], lab["marks"], bool(behind)], dtype=torch.float)
        camera[i] = CAMERA_MOTIONS.index(lab.get("camera_motion", "still"))
    return {"present": present, "heading": heading, "speed": speed, "kick_heading": kick_heading, "flags": flags,
            "global": glob, "camera": camera, "occ_colour": occ_colour, "occ_kind": occ_kind}


def captioner_loss(out: dict[str, torch.Tensor], tgt: dict[str, torch.Tensor],
                   velocity_weight: float = 0.0) -> torch.Tensor:
    """Cross-entropy / BCE per head; per-colour heads only count the colours in the clip (kick heading: only
    kicked ones); with a velocity head and target, a smooth L1 on each colour's start velocity."""
    m = tgt["present"]  # (B, K)
    n = m.sum().clamp(min=1)

    def ce(logits, target, mask):  # logits (B, K, C)
        loss = F.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none").view_as(mask)
        return (loss * mask).sum() / mask.sum().clamp(min=1)

    loss = F.binary_cross_entropy_with_logits(out["present"], m)
    loss = loss + ce(out["heading"], tgt["heading"], m) + 0.5 * ce(out["speed"], tgt["speed"], m)
    loss = loss + ce(out["kick_heading"], tgt["kick_heading"], tgt["flags"][..., 3])
    bce = F.binary_cross_entropy_with_logits(out["flags"], tgt["flags"], reduction="none").sum(-1)
    loss = loss + (bce * m).sum() / n
    loss = loss + F.binary_cross_entropy_with_logits(out["global"], tgt["global"]) * 3
    loss = loss + F.cross_entropy(out["camera"], tgt["camera"])
    occ = tgt["global"][:, 2]
    for key in ("occ_colour", "occ_kind"):
        loss = loss + (F.cross_entropy(out[key], tgt[key], reduction="none") * occ).sum() / occ.sum().clamp(min=1)
    if "velocity" in out and "velocity" in tgt:
        err = F.smooth_l1_loss(out["velocity"], tgt["velocity"], reduction="none", beta=0.1).sum(-1)
        loss = loss + velocity_weight * (err * m).sum() / n
    return loss


# --------------------------------------------------------------------------- the network
GEO = 21  # geometry features per colour and frame (clip_features)
FLOW_GRID = 4  # the floor's motion is estimated on a FLOW_GRID x FLOW_GRID grid of cells
_PAL = torch.tensor([PALETTE[c] for c in COLOURS], dtype=torch.float32)  # (K, 3)
_MARK = torch.tensor(MARK, dtype=torch.float32)  # the colour of a marked floor tile (the paint effect)


def palette_affinity(x: torch.Tensor, width_deg: float = 10.0) -> torch.Tensor:
    """Soft palette masks (B, K, T, H, W) in [0, 1] from frames x (B, 3, T, H, W) in [0, 255].

    The probes' parser's rule made soft: a pixel is colour k as far as its RGB direction is within `width_deg` of
    k's (the renderer's shading only scales a ball's colour) and its brightness is within the shading range; white
    shares its direction with the floor's greys, so it also needs neutrality and light."""
    norm = x.norm(dim=1).clamp(min=1e-3)  # (B, T, H, W)
    cos = torch.einsum("bcthw,kc->bkthw", x / norm[:, None], F.normalize(_PAL.to(x), dim=1))
    ang = torch.rad2deg(torch.acos(cos.clamp(-1, 1)))
    aff = (1 - ang / width_deg).clamp(0, 1)
    shade = norm[:, None] / _PAL.to(x).norm(dim=1)[None, :, None, None, None]
    aff = aff * ((shade - 0.35) / 0.1).clamp(0, 1) * ((1.25 - shade) / 0.1).clamp(0, 1)
    spread = x.amax(1) - x.amin(1)  # (B, T, H, W)
    white = ((12 - spread) / 6).clamp(0, 1) * ((x.amin(1) - 120) / 10).clamp(0, 1)
    k = COLOURS.index("white")
    return torch.cat([aff[:, :k], (aff[:, k] * white)[:, None], aff[:, k + 1 :]], 1)


def floor_flow(x: torch.Tensor, aff: torch.Tensor, grid: int = FLOW_GRID, ridge: float = 0.05) -> torch.Tensor:
    """The image motion of the floor from each frame to the next, (B, T, 2, 2, grid, grid) in pixels per frame
    (x right, y down), from frames x (B, 3, T, H, W) in [0, 255] and their palette masks aff (B, K, T, H, W).

    Lucas-Kanade with one constant flow per cell: least squares of I_x u + I_y v + I_t = 0 over the cell's floor
    pixels (the balls masked out), ridge-regularised toward no motion where the floor has no texture; at full
    resolution and at half (for motions over a pixel, in full-resolution pixels). Last frame: the flow before it.
    A moving camera moves the whole floor; how that motion varies over the picture tells an orbit (the near floor
    sweeps faster than the far) from a pan or a turn."""
    B, _, T, H, W = x.shape
    out = torch.zeros(B, T, 2, 2, grid, grid, dtype=x.dtype)
    if T < 2:
        return out
    gray = x.mean(1) / 255.0  # (B, T, H, W)
    floor = (1 - aff.sum(1)).clamp(0, 1)
    for s, scale in enumerate((1, 2)):
        g, w = gray, floor
        if scale > 1:
            g, w = F.avg_pool2d(g, scale), F.avg_pool2d(w, scale)
        g0, g1 = g[:, :-1], g[:, 1:]
        m = (w[:, :-1] * w[:, 1:]) ** 2  # floor in both frames
        avg = (g0 + g1) / 2
        ix = F.pad(avg[..., :, 2:] - avg[..., :, :-2], (1, 1)) / 2
        iy = F.pad(avg[..., 2:, :] - avg[..., :-2, :], (0, 0, 1, 1)) / 2
        it = g1 - g0

        def cell(v):  # sum over each cell of the grid
            return F.adaptive_avg_pool2d(v * m, grid) * (v.shape[-1] * v.shape[-2] / grid ** 2)

        a, b, c = cell(ix * ix), cell(ix * iy), cell(iy * iy)
        p, q = -cell(ix * it), -cell(iy * it)
        r = ridge * ridge * (g.shape[-1] * g.shape[-2] / grid ** 2) / 64  # regularise toward zero motion
        a, c = a + r, c + r
        det = (a * c - b * b).clamp(min=1e-8)
        u, v = (c * p - b * q) / det, (a * q - b * p) / det
        out[:, :-1, s] = torch.stack([u, v], 2).clamp(-3, 3) * scale
    out[:, -1] = out[:, -2]
    return out


NOMINAL_RADIUS = 0.18  # world units: the middle of the training range of ball radii


def mask_centroids(aff: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Soft masks (B, K, T, H, W) -> their mass in pixels, centroid x, y in [-1, 1] (pixel centres from -1 to 1)
    and the normalised weights, (B, K, T) each but the weights (as aff)."""
    H, W = aff.shape[-2:]
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing="ij")
    mass = aff.sum((3, 4))
    wgt = aff / mass.clamp(min=1e-3)[..., None, None]
    return mass, (wgt * xs).sum((3, 4)), (wgt * ys).sum((3, 4)), wgt


def to_pixels(cx: torch.Tensor, cy: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Centroids in [-1, 1] -> pixel coordinates u, v (pixel centres at k + 0.5), as the camera's K takes them."""
    return 0.5 + (cx + 1) / 2 * (width - 1), 0.5 + (cy + 1) / 2 * (height - 1)


def first_view(height: int, width: int, dtype=torch.float32):
    """The world's camera as it stands in every scene's first frame (CameraSpec's pose, in the frame of its own
    yaw: right is +x, toward the camera +z): on_plane(u, v) -> (ground point (..., 2) where the pixel's ray meets
    the plane of a ball's centre at the nominal radius, the ray (..., 3)); at_depth(ray, mass) -> the ground point
    of a ball of the nominal radius whose mask has that mass (pixels)."""
    from .world.camera import camera_eye, intrinsics, look_at
    from .world.scene import CameraSpec

    spec = CameraSpec()
    eye = camera_eye(spec, 0.0)
    Rt = look_at(eye, np.asarray(spec.look_at, dtype=float))
    K = intrinsics(spec.fov_deg, height, width)
    M = torch.as_tensor(Rt[:, :3].T @ np.linalg.inv(K), dtype=dtype)  # pixel (u, v, 1) -> world ray

    def on_plane(u, v):
        d = torch.stack([u, v, torch.ones_like(u)], -1) @ M.T  # world ray, unit camera depth
        t = (eye[1] - NOMINAL_RADIUS) / (-d[..., 1]).clamp(min=1e-2)
        return torch.stack([eye[0] + t * d[..., 0], eye[2] + t * d[..., 2]], -1).clamp(-4, 4), d

    def at_depth(d, mass):
        rho = (mass.clamp(min=1e-3) / np.pi).sqrt()  # apparent radius, pixels
        depth = (K[0, 0] * NOMINAL_RADIUS / rho).clamp(max=8)
        return torch.stack([eye[0] + depth * d[..., 0], eye[2] + depth * d[..., 2]], -1)

    return on_plane, at_depth


START_WINDOWS = (1, 2, 3, 4, 6, 8)  # frames after the first over which start_motion measures
CAMERA_MOVES = ("orbit", "look", "pan")  # how the world's camera moves (CameraSpec.motion); register_camera's search
CAMERA_OFFSETS = np.linspace(-0.6, 0.6, 31)  # rad (orbit, look) or world units (pan) away from the first frame


def camera_pose(move: str, offset: float) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera rotation R (3, 3) and eye (3,) of the world's camera moved `offset` from its first-frame
    pose (yaw 0) by `move` - the poses playground.world.camera.camera_path passes through."""
    from .world.camera import camera_path
    from .world.scene import CameraSpec

    spec = CameraSpec("pan", pan_speed=offset) if move == "pan" else CameraSpec(move, yaw_speed=offset)
    Rt = camera_path(spec, 11, 0.1)[10]  # one second at the offset per second
    R = Rt[:, :3]
    return R, -R.T @ Rt[:, 3]


def camera_poses(moves: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """camera_pose for many (move index into CAMERA_MOVES, offset) pairs at once: R (N, 3, 3), eye (N, 3). An orbit
    turns the first-frame camera about the world's y axis through the point it looks at (the origin), a turn in
    place turns its axes alone, a pan moves it along its right axis (a test checks these against camera_pose)."""
    R0, e0 = camera_pose("pan", 0.0)
    moves, offsets = np.asarray(moves), np.asarray(offsets, dtype=np.float64)
    c, s = np.cos(offsets), np.sin(offsets)
    Q = np.zeros(offsets.shape + (3, 3))
    Q[..., 0, 0], Q[..., 0, 2], Q[..., 1, 1], Q[..., 2, 0], Q[..., 2, 2] = c, s, 1.0, -s, c
    pan = moves == CAMERA_MOVES.index("pan")
    orbit = (moves == CAMERA_MOVES.index("orbit"))[..., None]
    Q[pan] = np.eye(3)
    R = R0 @ np.where(orbit[..., None], np.swapaxes(Q, -1, -2), Q)
    eye = np.where(orbit, Q @ e0, e0) + np.where(pan, offsets, 0.0)[..., None] * R0[0]
    return R, eye


def _floor_warps(height: int, width: int) -> torch.Tensor:
    """For every (move, offset) of the search: where each pixel of the moved camera's image finds the same floor
    point in the first frame's image, as grid_sample coordinates (len(CAMERA_MOVES) * len(CAMERA_OFFSETS), H, W, 2);
    pixels that see no floor point in front of both cameras get coordinates outside the image."""
    from .world.camera import intrinsics
    from .world.scene import CameraSpec

    key = (height, width)
    if key not in _WARPS:
        K = intrinsics(CameraSpec().fov_deg, height, width)
        R0, e0 = camera_pose("pan", 0.0)
        vv, uu = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
        pix = np.stack([uu, vv, np.ones_like(uu)], -1) @ np.linalg.inv(K).T  # (H, W, 3) camera rays
        grids = []
        for move in CAMERA_MOVES:
            for off in CAMERA_OFFSETS:
                R, e = camera_pose(move, float(off))
                d = pix @ R  # world rays (R^T d_cam)
                t = -e[1] / np.minimum(d[..., 1], -1e-6)
                X = e + t[..., None] * d  # floor points
                c = (X - e0) @ R0.T
                uv = (c @ K.T)[..., :2] / np.maximum(c[..., 2:3], 1e-6)
                bad = (d[..., 1] >= -1e-3) | (c[..., 2] <= 1e-3)
                g = np.stack([uv[..., 0] / width * 2 - 1, uv[..., 1] / height * 2 - 1], -1)
                g[bad] = 3.0
                grids.append(g)
        _WARPS[key] = torch.as_tensor(np.stack(grids), dtype=torch.float32)
    return _WARPS[key]


_WARPS: dict = {}


def _register(gray: torch.Tensor, floor: torch.Tensor, frames: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """The camera's move and offset from the first frame to each of `frames` that the clip has, found by
    registering the floor:
    for every (move, offset) of the search, the first frame warped through the floor plane's homography is compared
    with frame k on the pixels that are floor in both (mean squared difference; the still camera is offset 0 of
    every move); the best one, its offset refined by a parabola through its neighbours. gray (B, T, H, W) in [0, 1],
    floor (B, T, H, W) in [0, 1]. Returns the move (index into CAMERA_MOVES) and offset, (B, F) each.

    The weighted squared differences of all warps and frames are three batched matrix products (the warped
    frame's floor weight times its value squared, its value, and 1, against frame k's floor weight times 1, twice
    its value and its value squared), so registering every frame of a clip costs little more than one."""
    B, T, H, W = gray.shape
    grids = _floor_warps(H, W)  # (G, H, W, 2)
    G, n_off = grids.shape[0], len(CAMERA_OFFSETS)
    ref = gray[:, :1].mean((2, 3), keepdim=True)  # centred: the squares' expansion keeps its precision in float32
    src = torch.cat([gray[:, :1], floor[:, :1]], 1)  # (B, 2, H, W)
    warped = F.grid_sample(src.repeat_interleave(G, 0), grids.repeat(B, 1, 1, 1), align_corners=False,
                           padding_mode="zeros").view(B, G, 2, H * W)
    a, wf = warped[:, :, 0] - ref.flatten(1)[:, :, None], warped[:, :, 1]  # the warped first frame, its floor weight
    ks = [k for k in frames if k < T]
    fk = (floor[:, ks] ** 2).flatten(2).transpose(1, 2)  # (B, P, F): frame k's floor weight
    bk = (gray[:, ks] - ref).flatten(2).transpose(1, 2)
    sq = torch.bmm(wf * a * a, fk) - 2 * torch.bmm(wf * a, fk * bk) + torch.bmm(wf, fk * bk * bk)  # sum of w (a - b)^2
    seen = torch.bmm(wf, fk)  # (B, G, F): sum of w
    err = sq.clamp(min=0) / seen.clamp(min=1.0) + 1e3 * (seen < 0.25 * H * W)  # too little floor in both: not this move
    err = err.view(B, len(CAMERA_MOVES), n_off, len(ks))
    best = err.flatten(1, 2).argmin(1)  # (B, F)
    m, i = best // n_off, best % n_off
    c = n_off // 2  # offset 0: the still camera, the same pose for every move
    near = err[:, :, [c - 1, c + 1]].amin(2).argmin(1)  # (B, F): the move whose small offsets fit best
    m = torch.where(i == c, near, m)
    inner = (i > 0) & (i < n_off - 1)
    e3 = torch.stack([err.gather(2, (i + d).clamp(0, n_off - 1)[:, None, None].expand(-1, len(CAMERA_MOVES), 1, -1))[:, :, 0]
                      for d in (-1, 0, 1)], -1)  # (B, moves, F, 3)
    e_m, e_0, e_p = e3.gather(1, m[:, None, :, None].expand(-1, 1, -1, 3))[:, 0].unbind(-1)  # (B, F)
    curv = e_m - 2 * e_0 + e_p
    step = 0.5 * (e_m - e_p) / curv.where(curv > 1e-12, torch.ones_like(curv))
    step = step.clamp(-0.5, 0.5) * ((curv > 1e-12) & inner)
    off = torch.as_tensor(CAMERA_OFFSETS)[i] + step * (CAMERA_OFFSETS[1] - CAMERA_OFFSETS[0])
    return m, off


def register_camera(gray: torch.Tensor, floor: torch.Tensor, frames: tuple[int, ...]) -> list[list[tuple]]:
    """The camera's move and offset from the first frame to each of `frames` (see _register), per clip a list of
    (move, offset) per frame in `frames`; ("pan", 0.0) for frames the clip does not have."""
    B, T = gray.shape[:2]
    m, off = _register(gray, floor, frames)
    out = [[] for _ in range(B)]
    j = 0
    for k in frames:
        for b in range(B):
            out[b].append((CAMERA_MOVES[int(m[b, j])], float(off[b, j])) if k < T else ("pan", 0.0))
        j += k < T
    return out


def _world_rays(u: torch.Tensor, v: torch.Tensor, moves: torch.Tensor, offsets: torch.Tensor, height: int,
                width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The world rays through pixels u, v (B, K, F) seen by each clip's camera of each frame, moved (moves, offsets
    (B, F), as _register gives them) from the first-frame pose: rays (B, K, F, 3) with unit camera depth, and the
    cameras' centres (B, F, 3)."""
    from .world.camera import intrinsics
    from .world.scene import CameraSpec

    R, eye = (torch.as_tensor(a, dtype=u.dtype) for a in camera_poses(moves.numpy(), offsets.numpy()))
    Kinv = torch.as_tensor(np.linalg.inv(intrinsics(CameraSpec().fov_deg, height, width)), dtype=u.dtype)
    ray = torch.stack([u, v, torch.ones_like(u)], -1) @ Kinv.T  # camera rays
    return torch.einsum("bkfc,bfcw->bkfw", ray, R), eye


def _on_ball_plane(ray: torch.Tensor, eye: torch.Tensor, radius) -> torch.Tensor:
    """Where rays (B, K, F, 3) from cameras at eye (B, F, 3) meet the plane of a ball's centre at `radius` (a number
    or (B, K, F)): ground points (B, K, F, 2), right and toward."""
    s = (eye[:, None, :, 1] - radius) / (-ray[..., 1]).clamp(min=1e-2)
    return (eye[:, None, :, [0, 2]] + s[..., None] * ray[..., [0, 2]]).clamp(-4, 4)


START_ESTIMATES = 3  # start_motion's estimates per window


def start_motion(xi: torch.Tensor, dt: float = 0.1) -> torch.Tensor:
    """How each colour starts to move: (B, K, len(START_WINDOWS), START_ESTIMATES, 2) velocities (right, toward;
    world units per second) from the first frame to frame k for each k in START_WINDOWS, from full-rate frames xi
    (B, 3, T, H, W) in [0, 255]; zero where the colour is not seen in every frame up to k. Three estimates, each
    right somewhere:

    0. the centroid's ray on the plane of a ball's centre, first frame's camera: a rolling ball, still camera;
    1. the ray followed to the depth the apparent size gives: noisy, but right for a ball in the air too;
    2. as 0, with the camera of frame k as register_camera finds it: a rolling ball under a moving camera.

    The caption words a ball's velocity at the start of the clip; a longer window averages out the centroid's
    pixel noise, a shorter one ends before a wall bounce, a collision or a kick: the network sees them all. (A
    straight ground track fitted to every frame's ray did not help a falling ball: its motion toward or away from
    the camera keeps the ray's direction, so only the apparent size or a floor contact shows it.)"""
    B, _, T, H, W = xi.shape
    K = len(COLOURS)
    aff = palette_affinity(xi)
    mass, cx, cy, _ = mask_centroids(aff)  # (B, K, T)
    u, v = to_pixels(cx, cy, H, W)
    alive = torch.cumprod((mass > 0.5).float(), -1)  # seen in every frame so far
    on_plane, at_depth = first_view(H, W, xi.dtype)
    plane, d = on_plane(u, v)  # (B, K, T, 2)
    sized = at_depth(d, mass)
    windows = [k for k in START_WINDOWS if k < T]
    moves, offsets = _register(xi.mean(1) / 255.0, (1 - aff.sum(1)).clamp(0, 1), tuple(windows))
    ray, eye = _world_rays(u[..., windows], v[..., windows], moves, offsets, H, W)  # the camera of each window's end
    pos = _on_ball_plane(ray, eye, NOMINAL_RADIUS)  # (B, K, windows, 2)
    out = torch.zeros(B, K, len(START_WINDOWS), START_ESTIMATES, 2, dtype=xi.dtype)
    for j, k in enumerate(windows):
        ok = alive[:, :, k, None] / (k * dt)
        out[:, :, j, 0] = (plane[:, :, k] - plane[:, :, 0]) * ok
        out[:, :, j, 1] = (sized[:, :, k] - sized[:, :, 0]) * ok
        out[:, :, j, 2] = (pos[:, :, j] - plane[:, :, 0]) * ok
    return out.clamp(-5, 5)


FIT_SPANS = (2, 3, 4, 5, 6, 8, 10, 12, 15)  # start_fits' spans: frames 0..k for each k
FIT_FEATURES = 4  # per span: velocity (right, toward), RMS residual, share of the span's frames used


APPARENT_RADIUS = 0.935  # a ball's mask radius sqrt(mass / pi) over its projected radius (runs/captioner-v3/radius.py)


def ground_positions(xi: torch.Tensor, size_radius: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each colour's ground track through every frame's camera: positions (B, K, T, 2) (right, toward; world units, in
    the first frame's view), the frames to use (B, K, T) and each colour's radius (B, K), from full-rate frames xi
    (B, 3, T, H, W) in [0, 255].

    Each frame's centroid ray is taken to the plane of the ball's centre through that frame's camera as _register
    finds it, at the ball's own radius (`size_radius`: where on its ray its apparent size fits, the median over the
    frames; under a still camera a wrong radius only scales the track about the camera's foot, which keeps its
    heading, but a moving camera's foot moves, and a nominal radius then adds a share of the camera's motion to the
    ball's). A frame is used where the colour is seen and its mask does not touch the image border (a ball cut by
    the border has its centroid pulled inward)."""
    from .world.camera import intrinsics
    from .world.scene import CameraSpec

    B, _, T, H, W = xi.shape
    aff = palette_affinity(xi)
    mass, cx, cy, _ = mask_centroids(aff)  # (B, K, T)
    u, v = to_pixels(cx, cy, H, W)
    edge = torch.zeros(H, W, dtype=torch.bool)
    edge[0], edge[-1], edge[:, 0], edge[:, -1] = True, True, True, True
    use = ((mass > 0.5) & ~(aff[..., edge] > 0.05).any(-1)).to(xi.dtype)  # (B, K, T)
    m, off = _register(xi.mean(1) / 255.0, (1 - aff.sum(1)).clamp(0, 1), tuple(range(1, T)))
    m = torch.cat([torch.full((B, 1), CAMERA_MOVES.index("pan")), m], 1)
    off = torch.cat([torch.zeros(B, 1, dtype=off.dtype), off], 1)
    ray, eye = _world_rays(u, v, m, off, H, W)  # (B, K, T, 3) through each frame's camera, (B, T, 3)
    radius = torch.full_like(u, NOMINAL_RADIUS)
    if size_radius:  # each ball's own radius: on its ray at the depth where its apparent size fits, median of frames
        f = float(intrinsics(CameraSpec().fov_deg, H, W)[0, 0])
        rho = (mass.clamp(min=1e-3) / np.pi).sqrt() / APPARENT_RADIUS
        depth = eye[:, None, :, 1] / (-ray[..., 1] + rho / f).clamp(min=1e-2)
        r = (rho * depth / f).where(use > 0, torch.full_like(u, float("nan"))).nanmedian(-1).values
        radius = r.nan_to_num(NOMINAL_RADIUS).clamp(0.05, 0.4)[..., None].expand_as(u)
    return _on_ball_plane(ray, eye, radius), use, radius[..., 0]


def _line_fits(p: torch.Tensor, w: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                                           torch.Tensor]:
    """Weighted least-squares lines through points p (..., n, 2) at times t (n,) or (..., n), weights w (..., n):
    the velocity (..., 2), the RMS residual (...), the weights' sum (...) and where the fit is defined (...)."""
    s0, s1, s2 = w.sum(-1), (w * t).sum(-1), (w * t * t).sum(-1)
    sp, stp = (w[..., None] * p).sum(-2), (w[..., None] * t[..., None] * p).sum(-2)
    det = s0 * s2 - s1 * s1
    ok = (s0 >= 2) & (det > 1e-6)
    vel = (s0[..., None] * stp - s1[..., None] * sp) / det.where(ok, torch.ones_like(det))[..., None]
    icpt = (sp - vel * s1[..., None]) / s0.clamp(min=1)[..., None]
    res = p - icpt[..., None, :] - vel[..., None, :] * t[..., None]
    rms = ((w * res.pow(2).sum(-1)).sum(-1) / s0.clamp(min=1)).sqrt()
    return vel, rms, s0, ok


def start_fits(xi: torch.Tensor, dt: float = 0.1, size_radius: bool = True, track=None) -> torch.Tensor:
    """Straight-line fits of each colour's ground track from the start of the clip: (B, K, len(FIT_SPANS), 4) =
    the least-squares velocity (right, toward; world units per second) over frames 0..k for each k in FIT_SPANS,
    the RMS residual of the fit (world units) and the share of the span's frames it used, from full-rate frames xi
    (B, 3, T, H, W) in [0, 255] (or their ground_positions, `track`); zeros where fewer than two frames are usable.

    A rolling ball keeps its velocity until a wall, another ball or a kick changes it (the world has no friction),
    so its ground track is a straight line up to its first event: the longest span whose residual stays at the
    pixel noise gives its start heading far more precisely than the first few frames (measured in
    docs/captions.md), and a residual that jumps says where the line ends. The track is ground_positions'; the fit
    bridges frames in which the ball is hidden."""
    B, T = xi.shape[0], xi.shape[2]
    K = len(COLOURS)
    pos, use, _ = ground_positions(xi, size_radius) if track is None else track
    out = torch.zeros(B, K, len(FIT_SPANS), FIT_FEATURES, dtype=xi.dtype)
    tt = torch.arange(T, dtype=xi.dtype) * dt
    for j, k in enumerate(FIT_SPANS):
        k = min(k, T - 1)
        vel, rms, s0, ok = _line_fits(pos[:, :, : k + 1], use[..., : k + 1], tt[: k + 1])
        okf = ok.to(xi.dtype)
        out[:, :, j, :2] = vel.clamp(-5, 5) * okf[..., None]
        out[:, :, j, 2] = rms.clamp(max=1) * okf
        out[:, :, j, 3] = s0 / (k + 1)
    return out


EVENT_WINDOW = 3  # event_fits: the frames before and after each frame that its two lines are fitted to
EVENT_FEATURES = 11


def event_fits(track, dt: float = 0.1) -> torch.Tensor:
    """What changes a ball's motion, frame by frame: (B, K, T, EVENT_FEATURES) from ground_positions' track = per
    colour and frame f, the least-squares velocity of frames f - EVENT_WINDOW..f and of f..f + EVENT_WINDOW (right,
    toward; world units per second), the change of speed and the size of the velocity change between them, both
    lines' RMS residuals and whether each is defined, and the ground gap to the nearest other colour (centre distance
    less both radii, at most 1; 1 where none is seen).

    The world has no friction: a ball's ground velocity changes only at a wall, another ball or a kick. An elastic
    wall turns it and keeps its speed, a collision changes two balls' velocities where their gap closes, and a kick
    changes a ball's speed anywhere: the lines' change says which, where image motion alone mixes them with the
    camera's and with perspective."""
    pos, use, radius = track
    B, K, T, _ = pos.shape
    w = EVENT_WINDOW
    out = [None] * 2
    for side, offs in enumerate((torch.arange(-w, 1), torch.arange(0, w + 1))):
        idx = torch.arange(T)[:, None] + offs[None]  # (T, w + 1)
        inside = ((idx >= 0) & (idx < T)).to(pos.dtype)
        idx = idx.clamp(0, T - 1)
        p = pos[:, :, idx]  # (B, K, T, w + 1, 2)
        wt = use[:, :, idx] * inside
        vel, rms, _, ok = _line_fits(p, wt, offs.to(pos.dtype) * dt)
        okf = ok.to(pos.dtype)
        out[side] = (vel.clamp(-5, 5) * okf[..., None], rms.clamp(max=1) * okf, okf)
    (vb, rb, ob), (vf, rf, of) = out
    both = ob * of
    dspeed = (vf.norm(dim=-1) - vb.norm(dim=-1)) * both
    dvel = (vf - vb).norm(dim=-1) * both
    seen = use > 0
    gap = (pos[:, :, None] - pos[:, None]).norm(dim=-1) - radius[:, :, None, None] - radius[:, None, :, None]
    pair = seen[:, :, None] & seen[:, None] & ~torch.eye(K, dtype=torch.bool)[None, :, :, None]  # (B, K, K, T)
    gap = gap.where(pair, torch.ones_like(gap)).amin(2).clamp(max=1)  # (B, K, T)
    return torch.cat([vb, vf, torch.stack([dspeed, dvel, rb, rf, ob, of, gap], -1)], -1)


def ground_tracks(cx: torch.Tensor, cy: torch.Tensor, mass: torch.Tensor, seen: torch.Tensor, rel: torch.Tensor,
                  height: int, width: int, dt: float = 0.1) -> torch.Tensor:
    """Where a colour is on the floor, seen through the world's camera as it stands in the first frame: (..., 8) =
    ground position (to the right, toward the camera), its velocity, the velocity found from the apparent size
    instead, and the velocity of the image motion against the floor's (`rel`, (..., T, 2) pixels per frame), in
    world units (per second), from centroids cx, cy in [-1, 1] and mask masses (..., T) in pixels.

    Every scene's first frame has the same camera (CameraSpec's pose at its own yaw), and the caption words a
    ball's motion in that view, along the floor; perspective makes the same image motion mean different headings at
    different places in the picture. Two parameter-free inversions, which the network weighs: the centroid's ray
    meets the plane of a ball's centre (a nominal radius; right for a rolling ball), or the ray is followed to the
    depth that the apparent radius gives (right for a falling one too, noisier; its heading does not depend on the
    radius assumed). A moving camera moves the picture too: the network also has the floor's motion (floor_flow)."""
    on_plane, at_depth = first_view(height, width, cx.dtype)
    u, v = to_pixels(cx, cy, height, width)
    plane, d = on_plane(u, v)
    moved, _ = on_plane(u + rel[..., 0], v + rel[..., 1])
    against = ((moved - plane) * seen[..., None] / dt).clamp(-5, 5)  # the ball's own motion, the camera's removed
    sized = at_depth(d, mass)
    both = (seen[..., 1:] * seen[..., :-1])[..., None]

    def vel(p):
        out = torch.zeros_like(p)
        if p.shape[-2] > 1:
            out[..., :-1, :] = (p[..., 1:, :] - p[..., :-1, :]) * both / dt
            out[..., -1, :] = out[..., -2, :]
        return out.clamp(-5, 5)

    return torch.cat([plane * seen[..., None], vel(plane), vel(sized), against], -1)


@torch.no_grad()
def clip_features(frames, size: int = 32, frame_stride: int = 1, chunk: int = 64,
                  fits: bool = False, events: bool = False) -> dict[str, torch.Tensor]:
    """The captioner's parameter-free inputs from frames (B, T, H, W, 3) or (T, H, W, 3) uint8, resized (nearest)
    to size x size, every frame_stride-th frame (float16, to cache a training set):

    half (B, 3 + K + 1, T, size/2, size/2): frames in [-1, 1], palette masks and a floor-mark mask, 2x2-averaged;
    geo (B, K, T, GEO): per colour and frame, log(1 + mask mass), centroid x, y and spread x, y in [-1, 1] (0 where
        the colour is not seen), distance to the nearest other seen colour, distance of the centroid to the edge,
        centroid velocity x, y to the next frame in pixels per frame;
    m8 (B, K, T, size/4, size/4): each colour's mask on the feature grid, summing to 1 where it is seen;
    flow: the floor's image motion (floor_flow); start: start_motion from the full-rate frames; with `fits`, also
    fits: start_fits from the full-rate frames; with `events`, also events: event_fits from the same tracks."""
    x = torch.as_tensor(np.ascontiguousarray(frames))
    if x.dim() == 4:
        x = x[None]
    out: dict[str, list] = {"half": [], "geo": [], "m8": [], "flow": [], "start": []}
    if fits:
        out["fits"] = []
    if events:
        out["events"] = []
    for i in range(0, x.shape[0], chunk):
        xf = rearrange(x[i : i + chunk, : max(START_WINDOWS) + 1].float(), "b t h w c -> b c t h w")
        xi = rearrange(x[i : i + chunk, ::frame_stride].float(), "b t h w c -> b c t h w")
        if xi.shape[-2:] != (size, size):
            xi = F.interpolate(xi, size=(xi.shape[2], size, size), mode="nearest")
            xf = F.interpolate(xf, size=(xf.shape[2], size, size), mode="nearest")
        out["start"].append(start_motion(xf).half())
        if fits or events:
            xa = rearrange(x[i : i + chunk].float(), "b t h w c -> b c t h w")
            if xa.shape[-2:] != (size, size):
                xa = F.interpolate(xa, size=(xa.shape[2], size, size), mode="nearest")
            track = ground_positions(xa)
            if fits:
                out["fits"].append(start_fits(xa, track=track).half())
            if events:
                out["events"].append(event_fits(track).half())
        B, _, T, H, W = xi.shape
        K = len(COLOURS)
        aff = palette_affinity(xi)  # (B, K, T, H, W)
        marks = (1 - (xi - _MARK.to(xi)[:, None, None, None]).norm(dim=1, keepdim=True) / 40).clamp(0, 1)
        half = F.avg_pool2d(rearrange(torch.cat([xi / 127.5 - 1, aff, marks], 1), "b c t h w -> (b t) c h w"), 2)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing="ij")
        mass, cx, cy, wgt = mask_centroids(aff)  # (B, K, T)
        sx = ((wgt * (xs - cx[..., None, None]) ** 2).sum((3, 4)) + 1e-4).sqrt()
        sy = ((wgt * (ys - cy[..., None, None]) ** 2).sum((3, 4)) + 1e-4).sqrt()
        seen = (mass > 0.5).float()
        ctr = torch.stack([cx, cy], -1).transpose(1, 2)  # (B, T, K, 2)
        d = torch.cdist(ctr, ctr) + 10 * (1 - seen.transpose(1, 2)[:, :, None, :]) + 10 * torch.eye(K)
        near = d.amin(-1).transpose(1, 2).clamp(max=3)  # (B, K, T)
        edge = (1 - torch.maximum(cx.abs(), cy.abs())) * seen
        vx, vy = torch.zeros_like(cx), torch.zeros_like(cy)  # centroid motion to the next frame, pixels
        if T > 1:
            both = seen[..., 1:] * seen[..., :-1]  # seen in both frames
            vx[..., :-1], vy[..., :-1] = (cx.diff(dim=-1) * both * W / 2), (cy.diff(dim=-1) * both * H / 2)
            vx[..., -1], vy[..., -1] = vx[..., -2], vy[..., -2]
        m8 = F.adaptive_avg_pool3d(aff, (T, H // 4, W // 4))
        m8 = m8 / m8.sum((3, 4), keepdim=True).clamp(min=1e-4)
        flow = floor_flow(xi, aff)  # (B, T, 2 scales, 2, g, g): the floor's image motion, frame to next frame
        # the floor's motion under each colour (finest scale, on the mask grid) and the colour's motion against it:
        # a ball's own motion, with the camera's taken out
        local = torch.einsum("bkthw,btchw->bktc", m8, F.interpolate(
            flow[:, :, 0].flatten(0, 1), size=m8.shape[-2:], mode="nearest").unflatten(0, (B, T)))
        local = local * seen[..., None]
        rel = torch.stack([vx, vy], -1) - local
        geo = torch.stack([torch.log1p(mass), cx * seen, cy * seen, sx * seen, sy * seen, near, edge, vx, vy], -1)
        geo = torch.cat([geo, local, rel, ground_tracks(cx, cy, mass, seen, rel, H, W, 0.1 * frame_stride)], -1)
        out["half"].append(rearrange(half, "(b t) c h w -> b c t h w", b=B).half())
        out["geo"].append(geo.half()), out["m8"].append(m8.half()), out["flow"].append(flow.half())
    return {k: torch.cat(v) for k, v in out.items()}


def mirror_features(feats: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inputs of the left-right mirrored clips."""
    geo = feats["geo"].clone()
    # x: the centroid, its velocity, the floor's motion under it, the motion against it, the ground tracks'
    for i in (1, 7, 9, 11, 13, 15, 17, 19):
        geo[..., i] = -geo[..., i]
    flow = feats["flow"].flip(-1).clone()
    flow[:, :, :, 0] = -flow[:, :, :, 0]
    start = feats["start"].clone()
    start[..., 0] = -start[..., 0]
    out = {"half": feats["half"].flip(-1), "geo": geo, "m8": feats["m8"].flip(-1), "flow": flow, "start": start}
    if "fits" in feats:
        out["fits"] = feats["fits"].clone()
        out["fits"][..., 0] = -out["fits"][..., 0]
    if "events" in feats:  # the two lines' velocities to the right
        out["events"] = feats["events"].clone()
        out["events"][..., [0, 2]] = -out["events"][..., [0, 2]]
    return out


_SECTORS = torch.tensor([0.0, 45, 90, 135, 180, -135, -90, -45])  # HEADINGS[1:]'s centres, degrees
_HALF = torch.tensor([np.degrees(np.arctan(0.5)), 45 - np.degrees(np.arctan(0.5))] * 4)  # their half-widths


def soft_heading(v: torch.Tensor, soft_deg: float = 4.0, soft_speed: float = 0.03) -> torch.Tensor:
    """The caption grammar's heading of view-plane velocities v (..., 2) (right, toward; world units per second)
    as soft class memberships (..., len(HEADINGS)): "still" below the grammar's STILL speed, else the sector of the
    angle (a ratio of 2 between the components is a sector edge), each edge blurred by `soft_deg`."""
    from .world.captions import STILL

    ang = torch.rad2deg(torch.atan2(v[..., 1], v[..., 0]))
    off = ((ang[..., None] - _SECTORS.to(v) + 180) % 360 - 180).abs()
    m = torch.sigmoid((_HALF.to(v) - off) / soft_deg)
    m = m / m.sum(-1, keepdim=True).clamp(min=1e-6)
    moving = torch.sigmoid((v.norm(dim=-1, keepdim=True) - STILL) / soft_speed)
    return torch.cat([1 - moving, moving * m], -1)


class Captioner(ModelMixin, ConfigMixin):
    """Frames (B, T, H, W, 3) uint8 -> logits for the caption grammar's attributes (see `describe`).

    Per palette colour, a track: the colour's soft mask (palette_affinity) gives, frame by frame, its mass,
    centroid and spread, the distance to the nearest other colour, and the learned clip features pooled under the
    mask; a temporal convolution shared by all colours reads each track. The clip features come from per-frame
    convolutions with temporal ones between them, on the frames and the masks."""

    @register_to_config
    def __init__(self, channels: tuple[int, ...] = (24, 24, 24), head_hidden: int = 64, size: int = 32,
                 frame_stride: int = 2, segments: int = 8, velocity_head: bool = False, start_fits: bool = False,
                 event_fits: bool = False):
        super().__init__()
        c1, c2, c3 = channels  # the clip features: light, the tracks carry the objects
        K = len(COLOURS)
        self.spatial = nn.Sequential(  # per frame, on the frames and masks at half resolution
            nn.Conv2d(3 + K + 1, c1, 3, stride=2, padding=1), nn.GELU(),  # (8, 8)
            nn.Conv2d(c1, c2, 1), nn.GELU(),
        )
        self.temporal = nn.Conv1d(c2, c3, 3, padding=1)  # per grid cell, over frames
        e = c3 + GEO + 3 * len(HEADINGS)  # pooled clip features, the mask's geometry, its headings (soft_heading)
        self.track = nn.Sequential(nn.Conv1d(e + K, head_hidden, 3, padding=1), nn.GELU(),
                                   nn.Conv1d(head_hidden, head_hidden, 3, padding=1), nn.GELU())
        n_start = len(START_WINDOWS) * START_ESTIMATES * (2 + len(HEADINGS))  # start_motion's velocities and their headings
        if start_fits:  # start_fits' velocities, residuals, shares and headings
            n_start += len(FIT_SPANS) * (FIT_FEATURES + len(HEADINGS))
        if event_fits:  # event_fits read over the full-rate frames, pooled by the mean and maximum over the clip
            self.events = nn.Sequential(nn.Conv1d(EVENT_FEATURES, head_hidden, 3, padding=1), nn.GELU(),
                                        nn.Conv1d(head_hidden, head_hidden, 3, padding=1), nn.GELU())
            n_start += head_hidden * 2
        self.colour_head = nn.Sequential(nn.Linear(head_hidden * (segments + 1) + n_start, head_hidden), nn.GELU())
        self.refine = nn.Sequential(nn.Linear(2 * head_hidden, head_hidden), nn.GELU())
        self.present = nn.Linear(head_hidden, 1)
        self.heading = nn.Linear(head_hidden, len(HEADINGS))
        self.speed = nn.Linear(head_hidden, len(SPEEDS))
        self.kick_heading = nn.Linear(head_hidden, len(HEADINGS))
        self.flags = nn.Linear(head_hidden, len(PER_COLOUR_FLAGS))
        self.flow = nn.Sequential(nn.Conv1d(2 * 2 * FLOW_GRID ** 2, c3, 3, padding=1), nn.GELU(),  # the floor's motion
                                  nn.Conv1d(c3, c3, 3, padding=1), nn.GELU())
        self.global_head = nn.Sequential(nn.Linear(2 * c3 * segments + 3 * c3 + 2 * head_hidden, head_hidden),
                                         nn.GELU(),
                                         nn.Linear(head_hidden, head_hidden), nn.GELU())
        self.glob = nn.Linear(head_hidden, 3)
        self.camera = nn.Linear(head_hidden, len(CAMERA_MOTIONS))
        self.occ_colour = nn.Linear(head_hidden, len(OCCLUDER_COLOURS))
        self.occ_kind = nn.Linear(head_hidden, len(KINDS))
        # each colour's start-of-clip velocity in the first frame's view (right, toward), trained on the
        # simulator's own (CaptionerConfig.velocity_weight); a pilot, off in the shipped captioner
        self.velocity = nn.Linear(head_hidden, 2) if velocity_head else None

    def prepare(self, frames) -> dict[str, torch.Tensor]:
        """(B, T, H, W, 3) or (T, H, W, 3) uint8 frames -> the network's inputs (`clip_features`)."""
        return clip_features(frames, self.config.size, self.config.frame_stride, fits=self.config.start_fits,
                             events=self.config.event_fits)

    def forward(self, feats: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        half, geo, m8 = feats["half"].float(), feats["geo"].float(), feats["m8"].float()
        B, T, K, S = half.shape[0], half.shape[2], len(COLOURS), self.config.segments
        f = self.spatial(rearrange(half, "b c t h w -> (b t) c h w"))  # (B*T, C, h, w)
        h = f.shape[-2]
        f = rearrange(f, "(b t) c h w -> (b h w) c t", b=B)
        f = rearrange(self.temporal(f), "(b h w) c t -> b c t h w", b=B, h=h)  # (B, C, T, h, w)
        pooled = torch.einsum("bkthw,bcthw->bktc", m8, f)  # (B, K, T, C): clip features under each colour's mask
        onehot = torch.eye(K).to(f)[None, :, None].expand(B, K, T, K)
        heads = [soft_heading(geo[..., i : i + 2]) for i in (15, 17, 19)]  # the grammar's word for each estimate
        tr = torch.cat([pooled, geo, *heads, onehot], -1)  # (B, K, T, C + GEO + 27 + K)
        tr = self.track(rearrange(tr, "b k t e -> (b k) e t"))  # (B*K, hidden, T)
        summary = torch.cat([F.adaptive_avg_pool1d(tr, S), tr.amax(-1, keepdim=True)], -1)
        start = feats["start"].float()  # (B, K, windows, 3, 2)
        start = torch.cat([start, soft_heading(start)], -1).flatten(2)
        if self.config.start_fits:
            fits = feats["fits"].float()  # (B, K, spans, 4)
            fits = torch.cat([fits[..., :2], 20 * fits[..., 2:3], fits[..., 3:], soft_heading(fits[..., :2])], -1)
            start = torch.cat([start, fits.flatten(2)], -1)
        if self.config.event_fits:
            ev = feats["events"].float()  # (B, K, T, EVENT_FEATURES)
            ev = torch.cat([ev[..., :6], 20 * ev[..., 6:8], ev[..., 8:10], 4 * ev[..., 10:]], -1)
            ev = self.events(rearrange(ev, "b k t e -> (b k) e t"))
            ev = torch.cat([ev.mean(-1, keepdim=True), ev.amax(-1, keepdim=True)], -1)
            start = torch.cat([start, rearrange(ev, "(b k) e s -> b k (s e)", b=B)], -1)
        c = self.colour_head(torch.cat([rearrange(summary, "(b k) e s -> b k (s e)", b=B), start], -1))
        # the clip: its features over time, and the tracks of the colours seen in it (how the balls move says
        # gravity; all of them moving alike says the camera moves)
        seen = (geo[..., 0].amax(-1) > 0.4).float()[..., None]  # (B, K, 1)
        c_mean = (c * seen).sum(1) / seen.sum(1).clamp(min=1)
        c_max = (c - 1e4 * (1 - seen)).amax(1).clamp(min=-1e3) * (seen.sum(1) > 0)
        g_seq = F.adaptive_avg_pool1d(f.mean((3, 4)), S).flatten(1)  # (B, C*S)
        fl = self.flow(rearrange(feats["flow"].float(), "b t s c h w -> b (s c h w) t"))  # (B, C, T)
        fl_seq = F.adaptive_avg_pool1d(fl, S).flatten(1)
        g = self.global_head(torch.cat([g_seq, f.amax((2, 3, 4)), f.std((3, 4)).mean(2), fl_seq, fl.amax(-1),
                                        c_mean, c_max], 1))
        c = c + self.refine(torch.cat([c, g[:, None].expand(B, K, -1)], -1))  # each track seen with the clip
        out = {"present": self.present(c)[..., 0], "heading": self.heading(c), "speed": self.speed(c),
               "kick_heading": self.kick_heading(c), "flags": self.flags(c), "global": self.glob(g),
               "camera": self.camera(g), "occ_colour": self.occ_colour(g), "occ_kind": self.occ_kind(g)}
        if self.velocity is not None:
            out["velocity"] = self.velocity(c)
        return out

    @torch.no_grad()
    def predict(self, feats: dict[str, torch.Tensor], mirror_average: bool = True) -> dict[str, torch.Tensor]:
        """The outputs for `feats`, averaged with those of the left-right mirrored clip mapped back (headings and
        camera sides swapped): the world has no preferred side, and the average reads a clip the same whichever
        way it faces (measured in docs/captions.md)."""
        out = self(feats)
        if not mirror_average:
            return out
        back = self(mirror_features(feats))
        perm = {"heading": _MIRROR_HEADING, "kick_heading": _MIRROR_HEADING, "camera": _MIRROR_CAMERA}
        if "velocity" in back:  # the mirror's "right" is our left
            back["velocity"] = back["velocity"] * torch.tensor([-1.0, 1.0])
        return {k: (v + (back[k][..., perm[k]] if k in perm else back[k])) / 2 for k, v in out.items()}

    @torch.no_grad()
    def describe(self, frames, batch: int = 64) -> list[dict]:
        """Frames (B, T, H, W, 3) uint8 -> one label dict per clip, in `prompt_attributes`' form."""
        self.eval()
        frames = np.asarray(frames)
        if frames.ndim == 4:
            frames = frames[None]
        out = []
        for i in range(0, len(frames), batch):
            out += outputs_to_labels(self.predict(self.prepare(frames[i : i + batch])))
        return out


def outputs_to_labels(o: dict[str, torch.Tensor]) -> list[dict]:
    """Network outputs -> label dicts (colours present where the logit > 0; one to MAX_BALLS balls)."""
    labels = []
    for i in range(o["present"].shape[0]):
        order = [int(k) for k in o["present"][i].argsort(descending=True)]  # surest first, at most MAX_BALLS
        present = sorted([k for k in order[:MAX_BALLS] if o["present"][i, k] > 0] or order[:1])
        colours = [COLOURS[k] for k in present]
        fl = o["flags"][i] > 0  # (K, 4)
        glob = o["global"][i] > 0
        collide = [COLOURS[k] for k in present if fl[k, 1]]
        collisions = []
        if len(collide) >= 2:  # pair the two surest colliders (the families collide one pair)
            top = sorted(present, key=lambda k: -float(o["flags"][i, k, 1]))[:2]
            collisions = ["+".join(sorted(COLOURS[k] for k in top))]
        occ_c = OCCLUDER_COLOURS[int(o["occ_colour"][i].argmax())]
        kind = KINDS[int(o["occ_kind"][i].argmax())]
        occlusions = sorted(f"{COLOURS[k]} behind {occ_c} {kind}" for k in present if fl[k, 2])
        kicks = {}
        for k in present:
            if fl[k, 3]:
                h = HEADINGS[int(o["kick_heading"][i, k].argmax())]
                kicks[COLOURS[k]] = ["" if h == "still" else h]
        motion = {COLOURS[k]: HEADINGS[int(o["heading"][i, k].argmax())] for k in present}
        speed = {c: (SPEEDS[int(o["speed"][i, k].argmax())] if motion[c] != "still" else "")
                 for c, k in zip(colours, present)}
        cam = CAMERA_MOTIONS[int(o["camera"][i].argmax())]
        labels.append({
            "colours": sorted(colours), "count": len(colours), "gravity": bool(glob[0]), "occluder": bool(occlusions),
            "camera": cam != "still", "collision": bool(collisions), "kicked": bool(kicks), "marks": bool(glob[1]),
            "motion": motion, "speed": speed, "walls": sorted(COLOURS[k] for k in present if fl[k, 0]),
            "collisions": collisions, "occlusions": occlusions, "kicks": kicks, "camera_motion": cam,
        })
    return labels


def caption_labels_text(labels: dict, seed: int = 0) -> str:
    """A label dict worded by the caption grammar."""
    return caption_from_attributes(attributes_from_labels(labels), np.random.default_rng(seed))


def describe_video(captioner: Captioner, frames: np.ndarray) -> tuple[str, dict]:
    """What the captioner sees in one clip (T, H, W, 3) uint8: the rich caption it writes, and its labels."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or frames.shape[0] < 1:
        raise ValueError(f"describe_video wants frames (T, H, W, 3) uint8 with T >= 1, got {frames.shape} "
                         f"{frames.dtype}")
    labels = captioner.describe(frames[None])[0]
    return caption_labels_text(labels), labels


def captioner_sha256(captioner_dir: str | Path) -> str:
    """Which captioner this is: the SHA-256 of its weights file (a training run records the one it re-captioned
    with; the model card compares it with the one the model folder ships)."""
    import hashlib

    return hashlib.sha256((Path(captioner_dir) / "diffusion_pytorch_model.safetensors").read_bytes()).hexdigest()


def load_captioner(model_dir: str | Path) -> Captioner | None:
    """The captioner saved in `model_dir/captioner` (or in `model_dir` itself); None when there is none."""
    model_dir = Path(model_dir)
    for d in (model_dir / "captioner", model_dir):
        if (d / "config.json").is_file() and json.loads((d / "config.json").read_text()).get("_class_name") \
                == "Captioner":
            return Captioner.from_pretrained(d).eval()
    return None


# --------------------------------------------------------------------------- data, training
@dataclass(frozen=True)
class CaptionerConfig:
    """How the shipped captioner is trained (seeded; a few minutes on 2 cores)."""

    seed: int = 0
    clips: int = 12000
    frames: int = 16
    size: int = 32
    families: tuple[tuple[str, float], ...] = (("mixed", 0.85), ("interaction", 0.15))  # absent ones are skipped
    steps: int = 4000
    batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.01
    channels: tuple[int, ...] = (24, 24, 24)
    head_hidden: int = 64
    frame_stride: int = 2
    threads: int = 2
    # share of the clips whose scenes run at twice their time step: the same scenes seen twice as fast (walls,
    # collisions and kicks come sooner and faster; their speed words, the world's, are not learned from them)
    fast_share: float = 0.25
    # > 0: a velocity head trained on the simulator's start-of-clip velocities (in the clip's own time), this
    # weight beside the heading's cross-entropy; a pilot (runs/captioner-v2/README.md), 0 in the shipped recipe
    velocity_weight: float = 0.0
    # straight-line fits of each colour's ground track from the start (start_fits) as inputs beside start_motion's;
    # False here (the recipe before them, which older captioners' records name), True in the shipped recipe
    start_fits: bool = False
    # per-frame lines before and after each frame (event_fits: speed and velocity changes, the gap to other balls)
    event_fits: bool = False


def config_from_record(record: dict) -> CaptionerConfig | None:
    """The CaptionerConfig that a captioner's training.json names (JSON lists back to tuples; fields the record
    lacks were added later and take their defaults, which keep the recipe as it was), or None for a record with
    fields this version does not have."""
    def tup(v):
        return tuple(tup(x) for x in v) if isinstance(v, list) else v

    try:
        return CaptionerConfig(**{k: tup(v) for k, v in record.items()})
    except TypeError:
        return None


CAPTIONER_CONFIGS: dict[str, CaptionerConfig] = {
    "default": CaptionerConfig(start_fits=True, event_fits=True),  # the shipped recipe (docs/captions.md)
    "tiny": CaptionerConfig(clips=48, steps=10, batch=8, channels=(8, 8, 8), head_hidden=16),
}


def simulate_captioned(n: int, seed: int, split: str = "train", families=(("mixed", 1.0),), n_frames: int = 16,
                       size: int = 32, time_scale: float = 1.0) -> tuple[np.ndarray, list[str]]:
    """n rich-captioned simulator clips (frames (n, T, size, size, 3) uint8, captions), families mixed in the
    given shares (families the world does not have are left out), each scene's time step times `time_scale`;
    deterministic for the arguments."""
    from .world import sample_frames_batch

    frames, caps = [], []
    for fam, m, fam_seed in _family_batches(n, seed, families):
        f, r, _ = sample_frames_batch(m, seed=fam_seed, family=fam, split=split, n_frames=n_frames, height=size,
                                      width=size, time_scale=time_scale)
        frames.append(f), caps.extend(r)
    order = np.random.default_rng(seed).permutation(n)
    return np.concatenate(frames)[order], [caps[i] for i in order]


def _family_batches(n: int, seed: int, families) -> list[tuple[str, int, int]]:
    """simulate_captioned's batches: (family, clips, batch seed) for the families the world has, in their shares."""
    from .world import FAMILIES

    fams = [(f, w) for f, w in families if f in FAMILIES]
    weights = np.array([w for _, w in fams], dtype=float)
    counts = np.floor(weights / weights.sum() * n).astype(int)
    counts[0] += n - counts.sum()
    return [(fam, int(m), seed * 101 + j) for j, ((fam, _), m) in enumerate(zip(fams, counts)) if m]


def captioned_scenes(n: int, seed: int, split: str = "train", families=(("mixed", 1.0),), n_frames: int = 16,
                     time_scale: float = 1.0) -> list:
    """The scenes of simulate_captioned's clips for the same arguments, in the same order (drawn with the same
    seeds, not rendered): what the clips are, for truth beside the frames."""
    from .world.clip import batch_scenes

    scenes = [scene for fam, m, fam_seed in _family_batches(n, seed, families)
              for scene in batch_scenes(m, fam_seed, fam, split, n_frames, time_scale)]
    return [scenes[i] for i in np.random.default_rng(seed).permutation(n)]


def start_velocities(n: int, seed: int, split: str = "train", families=(("mixed", 1.0),), n_frames: int = 16,
                     time_scale: float = 1.0) -> torch.Tensor:
    """The start-of-clip velocities (n, K, 2) (right, toward; world units per second of the clip's own time, so
    times `time_scale`) of each palette colour in simulate_captioned's clips for the same arguments, in the same
    order (zeros for colours not in a clip), from captioned_scenes."""
    from .world.captions import scene_attributes

    rows = torch.zeros(n, len(COLOURS), 2)
    for i, scene in enumerate(captioned_scenes(n, seed, split, families, n_frames, time_scale)):
        attrs = scene_attributes(scene)
        for c, v in zip(attrs.colours, attrs.velocities):
            rows[i, COLOURS.index(c)] = torch.tensor(v, dtype=torch.float32) * float(time_scale)
    return rows


def cached_simulation(cache_dir: Path | None, n: int, seed: int, **kw) -> tuple[np.ndarray, list[str]]:
    """simulate_captioned, kept as .npz in `cache_dir` (None: no cache); the file name holds every argument."""
    if cache_dir is None:
        return simulate_captioned(n, seed, **kw)
    import hashlib

    key = hashlib.sha256(json.dumps([n, seed, kw], sort_keys=True, default=list).encode()).hexdigest()[:12]
    path = Path(cache_dir) / f"captioner_clips_n{n}_s{seed}_{key}.npz"
    if path.exists():
        d = np.load(path)
        return d["frames"], [str(c) for c in d["captions"]]
    frames, caps = simulate_captioned(n, seed, **kw)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, frames=frames, captions=np.array(caps))
    tmp.replace(path)
    return frames, caps


def train_captioner(cfg: CaptionerConfig, out_dir: Path | None = None, cache_dir: Path | None = None,
                    log=print) -> Captioner:
    """Train a captioner on seeded rich-captioned simulator clips (kept in `cache_dir` when given) and save it to
    `out_dir`."""
    t0 = time.time()
    frames, captions = cached_simulation(cache_dir, cfg.clips, cfg.seed + 18_000, families=cfg.families,
                                         n_frames=cfg.frames, size=cfg.size)
    n_fast = int(round(cfg.fast_share * cfg.clips))
    if n_fast:
        fast, fast_caps = cached_simulation(cache_dir, n_fast, cfg.seed + 18_500, families=cfg.families,
                                            n_frames=cfg.frames, size=cfg.size, time_scale=2.0)
        frames = np.concatenate([frames[: cfg.clips - n_fast], fast])
        captions = list(captions[: cfg.clips - n_fast]) + list(fast_caps)
    targets = label_targets([prompt_attributes(c) for c in captions])
    if n_fast:
        targets["speed"][cfg.clips - n_fast:] = -100  # their speed words name the world's speed, not the clip's
    feats = clip_features(frames, cfg.size, cfg.frame_stride, fits=cfg.start_fits, events=cfg.event_fits)
    sim_s = time.time() - t0
    torch.manual_seed(cfg.seed)
    if cfg.velocity_weight:
        vel = [start_velocities(cfg.clips, cfg.seed + 18_000, families=cfg.families, n_frames=cfg.frames)]
        if n_fast:
            vel.append(start_velocities(n_fast, cfg.seed + 18_500, families=cfg.families, n_frames=cfg.frames,
                                        time_scale=2.0))
        targets["velocity"] = torch.cat([vel[0][: cfg.clips - n_fast], *vel[1:]])
    model = Captioner(channels=cfg.channels, head_hidden=cfg.head_hidden, size=cfg.size, frame_stride=cfg.frame_stride,
                      velocity_head=cfg.velocity_weight > 0, start_fits=cfg.start_fits, event_fits=cfg.event_fits)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps,
                                                pct_start=max(0.1, 2 / cfg.steps))
    model.train()
    n = len(frames)
    losses = []
    for step in range(cfg.steps):
        idx = np.random.default_rng((cfg.seed, 18, step)).integers(0, n, cfg.batch)
        x = {k: v[idx] for k, v in feats.items()}
        tgt = {k: v[idx] for k, v in targets.items()}
        if np.random.default_rng((cfg.seed, 19, step)).random() < 0.5:  # a mirrored clip swaps left and right
            x, tgt = mirror_features(x), _mirror(tgt)
        loss = captioner_loss(model(x), tgt, cfg.velocity_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if (step + 1) % 100 == 0 or step + 1 == cfg.steps:
            log(f"captioner step {step + 1}/{cfg.steps}: loss {np.mean(losses[-100:]):.4f}")
    model.eval()
    if out_dir is not None:
        out_dir = Path(out_dir)
        model.save_pretrained(out_dir)
        (out_dir / "training.json").write_text(json.dumps({
            "config": asdict(cfg), "clips": n, "simulate_s": sim_s, "train_s": time.time() - t0 - sim_s,
            "final_loss": float(np.mean(losses[-100:])), "parameters": sum(p.numel() for p in model.parameters()),
            "threads": torch.get_num_threads()}, indent=1))
    return model


_MIRROR_HEADING = [HEADINGS.index(h.replace("left", "@").replace("right", "left").replace("@", "right"))
                   for h in HEADINGS]
_MIRROR_CAMERA = [CAMERA_MOTIONS.index(c.replace("left", "@").replace("right", "left").replace("@", "right"))
                  for c in CAMERA_MOTIONS]


def _mirror(tgt: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Targets of the left-right mirrored clip: headings and camera sides swap, everything else stays.

    Orbits mirror exactly (the camera circles the other way); a pan mirrors too (the floor's checkerboard is
    symmetric)."""
    t = dict(tgt)
    mh = torch.tensor(_MIRROR_HEADING)
    t["heading"], t["kick_heading"] = mh[tgt["heading"]], mh[tgt["kick_heading"]]
    t["camera"] = torch.tensor(_MIRROR_CAMERA)[tgt["camera"]]
    if "velocity" in tgt:
        t["velocity"] = tgt["velocity"] * torch.tensor([-1.0, 1.0])
    return t


# --------------------------------------------------------------------------- evaluation
def agreement(pred: list[dict], true: list[dict]) -> dict[str, float]:
    """Share of clips whose predicted labels equal the true caption's, per attribute; "all": every goal attribute
    at once; "caption": every attribute a caption states at once."""
    keys = GOAL_KEYS + DETAIL_KEYS
    right = {k: 0 for k in ("all", "caption") + keys}
    for p, t in zip(pred, true):
        ok = {k: p.get(k) == t.get(k) for k in keys}
        for k in keys:
            right[k] += ok[k]
        right["all"] += all(ok[k] for k in GOAL_KEYS)
        right["caption"] += all(ok.values())
    return {k: v / max(1, len(true)) for k, v in right.items()}


def nearest_neighbour_labels(vae, donor_frames: np.ndarray, donor_captions: list[str],
                             query_frames: np.ndarray) -> list[dict]:
    """The baseline: each query clip borrows the rich caption of its nearest donor in the autoencoder's latent
    space (playground.train.recaption, the method the shipped DiT's short-caption clips were labelled with)."""
    from .train import recaption

    with torch.no_grad():
        lat = torch.cat([vae.encode_frames(f[i : i + 64]) for f in (donor_frames, query_frames)
                         for i in range(0, len(f), 64)])
    nd, nq = len(donor_frames), len(query_frames)
    short_only = np.arange(nd + nq) >= nd
    used, _ = recaption(lat, list(donor_captions) + [""] * nq, short_only)
    return [prompt_attributes(c) for c in used[nd:]]


@dataclass(frozen=True)
class EvalConfig:
    """Clips the captioner is scored on: seeds disjoint from its training clips, both splits."""

    clips: int = 1000
    seed: int = 1
    donors: int = 8400  # the shipped recipe's rich-captioned clips per bucket: 12,000 x (1 - 0.3)
    families: tuple[tuple[str, float], ...] = CaptionerConfig.families
    frames: int = 16
    size: int = 32


def evaluate_captioner(captioner: Captioner, cfg: EvalConfig = EvalConfig(), vae=None, cache_dir: Path | None = None,
                       log=print) -> dict:
    """Agreement with the true rich captions on fresh in-distribution and held-out clips, for the captioner and
    (given the autoencoder) the nearest-neighbour baseline on the same clips."""
    res: dict = {"config": asdict(cfg), "goal_keys": list(GOAL_KEYS), "detail_keys": list(DETAIL_KEYS), "splits": {}}
    donors = None
    if vae is not None:
        donors = cached_simulation(cache_dir, cfg.donors, cfg.seed * 1_000 + 7, families=cfg.families,
                                   n_frames=cfg.frames, size=cfg.size)
    for split in ("train", "heldout"):
        frames, caps = cached_simulation(cache_dir, cfg.clips, cfg.seed * 1_000 + (1 if split == "train" else 2),
                                         split=split, families=cfg.families, n_frames=cfg.frames, size=cfg.size)
        true = [prompt_attributes(c) for c in caps]
        t0 = time.time()
        pred = captioner.describe(frames)
        row = {"captioner": agreement(pred, true), "captioner_s_per_clip": (time.time() - t0) / len(frames)}
        if donors is not None:
            row["nearest_neighbour"] = agreement(nearest_neighbour_labels(vae, *donors, frames), true)
        res["splits"][split] = row
        log(f"{split}: " + json.dumps({k: {a: round(b, 3) for a, b in v.items()} if isinstance(v, dict) else v
                                       for k, v in row.items()}))
    return res


GOALS = {"colours": 0.95, "count": 0.95, "all": 0.85}  # every other goal attribute: 0.90


def to_markdown(res: dict, training: dict | None = None) -> str:
    """The captioner's evaluation (evaluate_captioner's dict) as a markdown table, beside the nearest-neighbour
    baseline on the same clips; goals from the issue that asked for the captioner."""
    splits = res["splits"]
    has_nn = all("nearest_neighbour" in splits[s] for s in splits)
    name_of = {"train": "in-distribution", "heldout": "held-out"}
    head = "| attribute | goal (held-out) |" + "".join(
        f" captioner {name_of.get(s, s)} |" + (f" nearest neighbour {name_of.get(s, s)} |" if has_nn else "")
        for s in splits)
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for key in ("all", "caption") + tuple(res["goal_keys"]) + tuple(res["detail_keys"]):
        goal = GOALS.get(key, 0.90) if key in res["goal_keys"] or key == "all" else None
        name = {"all": "**all goal attributes at once**", "caption": "whole caption (every attribute)"}.get(key, key)
        row = f"| {name} | {'' if goal is None else f'>= {100 * goal:.0f}%'} |"
        for s in splits:
            row += f" {100 * splits[s]['captioner'][key]:.1f}% |"
            if has_nn:
                row += f" {100 * splits[s]['nearest_neighbour'][key]:.1f}% |"
        lines.append(row)
    if "heldout" in splits:
        held = splits["heldout"]["captioner"]
        missed = [k for k in ("all",) + tuple(res["goal_keys"]) if held[k] < GOALS.get(k, 0.90)]
        lines += ["", "Goals met on held-out clips: " + (", ".join(k for k in ("all",) + tuple(res["goal_keys"])
                                                                  if k not in missed) or "none")
                  + "; missed: " + (", ".join(missed) or "none") + "."]
    c = res["config"]
    text = [f"{c['clips']} fresh clips per split (seed {c['seed']}, disjoint from the captioner's training clips; "
            "families " + ", ".join(f"{f} {100 * w:.0f}%" for f, w in c["families"]) + ")"
            + (f"; the nearest-neighbour baseline borrows from {c['donors']} rich-captioned training-range clips "
               "encoded by this folder's autoencoder" if has_nn else "") + ". An attribute agrees when "
            "`prompt_attributes` reads the same value from the predicted and the true rich caption.", "",
            "\n".join(lines)]
    if training:
        t = training["config"]
        text = [f"{training['parameters']:,} parameters, trained {t['steps']} steps at batch {t['batch']} on "
                f"{training['clips']} simulated clips ({training['train_s'] / 60:.1f} min of training and "
                f"{training['simulate_s'] / 60:.1f} min of simulation on {training['threads']} threads, on a shared "
                "machine).", ""] + text
    return "\n".join(text)
