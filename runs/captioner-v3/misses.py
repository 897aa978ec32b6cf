"""Where a captioner's per-ball heading misses are, on caption eval's clips, by the ball's condition (simulator truth).

    python runs/captioner-v3/misses.py [MODEL_DIR] [split]
"""
import collections
import sys
from pathlib import Path

import numpy as np

from playground.captioner import EvalConfig, _family_batches, cached_simulation, load_captioner
from playground.enrich import prompt_attributes
from playground.world.captions import passes_behind
from playground.world.clip import batch_scenes
from playground.world.physics import simulate

cap = load_captioner(sys.argv[1] if len(sys.argv) > 1 else "models/worldsim-s")
split = sys.argv[2] if len(sys.argv) > 2 else "train"
e = EvalConfig()
seed = e.seed * 1000 + (1 if split == "train" else 2)
frames, caps = cached_simulation(Path("cache"), e.clips, seed, split=split, families=e.families, n_frames=e.frames, size=e.size)
scenes = [s for fam, m, s_ in _family_batches(e.clips, seed, e.families) for s in batch_scenes(m, s_, fam, split, e.frames)]
order = np.random.default_rng(seed).permutation(e.clips)
scenes = [scenes[i] for i in order]
pred = cap.describe(frames)
true = [prompt_attributes(c) for c in caps]
by = collections.defaultdict(lambda: [0, 0])
clip_miss = collections.Counter()
for sc, p, t in zip(scenes, pred, true):
    traj = simulate(sc)
    occ = {k for k, _ in passes_behind(sc, traj)}
    wrong = []
    for k, ball in enumerate(sc.balls):
        c = ball.color
        evs = [ev.time for ev in traj.events if k in ev.balls and ev.kind in ("wall", "collision", "kick")]
        first = min(evs) if evs else 99
        conds = []
        if sc.gravity:
            conds.append("gravity")
        if sc.camera.motion != "still" and (abs(sc.camera.yaw_speed) > 1e-9 or abs(sc.camera.pan_speed) > 1e-9):
            conds.append("camera")
        if k in occ:
            conds.append("occluded")
        if first <= 4:
            conds.append("event<=4")
        key = "+".join(conds) or "plain"
        ok = p["motion"].get(c) == t["motion"].get(c)
        by[key][0] += ok
        by[key][1] += 1
        if not ok:
            wrong.append(key)
    if wrong:
        clip_miss[" & ".join(sorted(set(wrong)))] += 1
print(split, "per-ball heading by condition (right / balls):")
for k, (a, n) in sorted(by.items(), key=lambda x: -x[1][1]):
    print(f"  {k:32s} {a / n:.3f} of {n:4d}  (misses {n - a})")
print("clips with a wrong heading, by the conditions of their wrong balls:", sum(clip_miss.values()))
for k, n in clip_miss.most_common(12):
    print(f"  {k:40s} {n}")
