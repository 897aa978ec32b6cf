"""How well can any captioner word every ball's heading? The grammar's heading sectors against angle noise.

    python runs/captioner-v2/ceiling.py

True initial view-plane velocities of 1,000 seeded training-range scenes (85% mixed, 15% interaction): the share
of moving balls within 2, 5 and 10 degrees of a sector edge, and the share of clips whose every ball keeps its
heading when each velocity's angle gets Gaussian noise of 1-8 degrees (and its speed 0 or 10% noise).
"""

import numpy as np

from playground.world.captions import _heading, scene_attributes
from playground.world.families import sample_scene

clips = []
for family, n in (("mixed", 850), ("interaction", 150)):
    for child in np.random.SeedSequence(11).spawn(n):
        scene = sample_scene(family, "train", np.random.default_rng(child), 16)
        clips.append([np.array(v) for v in scene_attributes(scene).velocities])
v = np.array([x for c in clips for x in c])
speed, ang = np.hypot(v[:, 0], v[:, 1]), np.degrees(np.arctan2(v[:, 1], v[:, 0]))
edges = np.array([26.565, 63.435, 116.565, 153.435, -26.565, -63.435, -116.565, -153.435])
margin = np.abs((ang[:, None] - edges + 180) % 360 - 180).min(1)
moving = speed > 0.05
print(f"balls {len(v)}, moving {moving.mean():.3f}")
for m in (2, 5, 10):
    print(f"within {m} degrees of a sector edge: {(margin[moving] < m).mean():.3f}")
rng = np.random.default_rng(0)
for sigma in (1, 2, 4, 8):
    for rel in (0.0, 0.1):
        right = []
        for c in clips:
            ok = True
            for x in c:
                th = np.arctan2(x[1], x[0]) + np.radians(sigma) * rng.standard_normal()
                s = np.hypot(*x) * (1 + rel * rng.standard_normal())
                ok &= (_heading(s * np.cos(th), s * np.sin(th)) or "still") == (_heading(*x) or "still")
            right.append(ok)
        print(f"angle noise {sigma} degrees, speed noise {rel}: every ball's heading right in {np.mean(right):.3f}")
