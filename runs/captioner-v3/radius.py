"""The mask's apparent radius sqrt(mass / pi) against the projected true radius of the ball (300 in-distribution
caption eval clips): the APPARENT_RADIUS constant of start_fits' own-radius estimate. What the own radius does to
the fits' headings is in fits_rule.py.

    python runs/captioner-v3/radius.py
"""
import numpy as np
import torch

from common import ball_rows, eval_split
from playground.captioner import mask_centroids, palette_affinity
from playground.world.camera import camera_path, intrinsics
from playground.world.scene import CameraSpec

torch.set_num_threads(2)
frames, caps, scenes = eval_split("train")
x = torch.as_tensor(frames).float().permute(0, 4, 1, 2, 3)
B, _, T, H, W = x.shape
mass = mask_centroids(palette_affinity(x))[0]
K = intrinsics(CameraSpec().fov_deg, H, W)
ratios = []
for r in ball_rows(scenes[:300]):
    Rt = camera_path(r["scene"].camera, T, r["scene"].dt)
    z = np.einsum("tij,tj->ti", Rt, np.concatenate([r["traj"].positions[:, r["k"]], np.ones((T, 1))], 1))[:, 2]
    rho = K[0, 0] * r["ball"].radius / z
    m = mass[r["b"], r["ci"]].numpy()
    ok = m > 3
    ratios += list(np.sqrt(m[ok] / np.pi) / rho[ok])
ratios = np.array(ratios)
print(f"apparent radius sqrt(mass / pi) over the projected radius: median {np.median(ratios):.3f}, IQR {np.percentile(ratios, 25):.3f}-{np.percentile(ratios, 75):.3f}")
