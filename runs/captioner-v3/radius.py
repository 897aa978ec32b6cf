"""The mask's apparent radius sqrt(mass / pi) against the projected true radius of the ball (300 in-distribution
caption eval clips): the APPARENT_RADIUS constant of start_fits' own-radius estimate. What the own radius does to
the fits' headings is in fits_rule.py.

    python runs/captioner-v3/radius.py
"""
from pathlib import Path

import numpy as np
import torch

from playground.captioner import COLOURS, EvalConfig, _family_batches, cached_simulation, mask_centroids, palette_affinity
from playground.world.camera import camera_path, intrinsics
from playground.world.clip import batch_scenes
from playground.world.physics import simulate
from playground.world.scene import CameraSpec

torch.set_num_threads(2)
e = EvalConfig()
seed = e.seed * 1000 + 1
frames, caps = cached_simulation(Path("cache"), e.clips, seed, split="train", families=e.families, n_frames=e.frames, size=e.size)
scenes = [s for fam, m, s_ in _family_batches(e.clips, seed, e.families) for s in batch_scenes(m, s_, fam, "train", e.frames)]
order = np.random.default_rng(seed).permutation(e.clips)
scenes = [scenes[i] for i in order]
x = torch.as_tensor(frames).float().permute(0, 4, 1, 2, 3)
B, _, T, H, W = x.shape
aff = palette_affinity(x)
mass, cx, cy, _ = mask_centroids(aff)
K = intrinsics(CameraSpec().fov_deg, H, W)
ratios = []
for b, sc in enumerate(scenes[:300]):
    traj = simulate(sc)
    Rt = camera_path(sc.camera, T, sc.dt)
    for k, ball in enumerate(sc.balls):
        ci = COLOURS.index(ball.color)
        z = np.einsum("tij,tj->ti", Rt, np.concatenate([traj.positions[:, k], np.ones((T, 1))], 1))[:, 2]
        rho = K[0, 0] * ball.radius / z
        m = mass[b, ci].numpy()
        ok = m > 3
        ratios += list(np.sqrt(m[ok] / np.pi) / rho[ok])
ratios = np.array(ratios)
print(f"apparent radius sqrt(mass / pi) over the projected radius: median {np.median(ratios):.3f}, IQR {np.percentile(ratios, 25):.3f}-{np.percentile(ratios, 75):.3f}")
