"""How often does a dropped ball touch the floor in a 16-frame clip? (Two contacts would give its drift exactly.)

    python runs/captioner-v2/contacts.py

Seeded training-range mixed scenes with gravity and a still camera: per ball, the frames where its simulated height
has a local minimum (a floor contact), and the frames the probes' soft colour masks would call one (the centroid's
image row at a local maximum, the ball wholly in the picture, dropping by over 0.05 px after).
"""

import collections

import numpy as np
import torch
from einops import rearrange

from playground.captioner import mask_centroids, palette_affinity, to_pixels
from playground.enrich import COLOURS
from playground.world.clip import _simulate_and_render
from playground.world.families import sample_scene

counts = collections.Counter()
for child in np.random.SeedSequence(9).spawn(400):
    scene = sample_scene("mixed", "train", np.random.default_rng(child), 16)
    if not scene.gravity or scene.camera.motion != "static":
        continue
    traj, _, _, out = _simulate_and_render(scene, 32, 32)
    x = rearrange(torch.as_tensor(out.frames).float()[None], "b t h w c -> b c t h w")
    mass, cx, cy, _ = mask_centroids(palette_affinity(x))
    u, v = to_pixels(cx, cy, 32, 32)
    rho = (mass.clamp(min=1e-3) / np.pi).sqrt()
    whole = (mass > 0.5) & (torch.minimum(torch.minimum(u, 32 - u), torch.minimum(v, 32 - v)) > rho + 0.5)
    for k, ball in enumerate(scene.balls):
        kk = COLOURS.index(ball.color)
        vv, w = v[0, kk].numpy(), whole[0, kk].numpy()
        seen = [i for i in range(1, 15) if w[i - 1] and w[i] and w[i + 1] and vv[i] >= vv[i - 1]
                and vv[i] > vv[i + 1] + 0.05]
        y = traj.positions[:, k, 1]
        true = [i for i in range(1, 15) if y[i] <= y[i - 1] and y[i] < y[i + 1]]
        counts[(len(seen), len(true))] += 1
print("balls", sum(counts.values()))
print("(contacts seen in the picture, contacts simulated): balls", counts.most_common())
