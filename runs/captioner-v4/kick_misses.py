"""Where the shipped captioner's kick and collision misses are: per split, false and missed "kicked" clips and what
happens in them (wall bounces, collisions, kick frame and size, ball speeds), and per kick how often its clip is
read as kicked: by how long the ball is seen after it, nearness to a wall, a wall bounce or collision of the same
ball within 3 frames, gravity, a late kick.

    python runs/captioner-v4/kick_misses.py [MODEL_DIR]

The fourth captioner's numbers: `git archive bf84196 models/worldsim-s/captioner | tar -x -C /tmp/fourth`, then
`python runs/captioner-v4/kick_misses.py /tmp/fourth/models/worldsim-s`.
"""
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "captioner-v3"))
from common import eval_split  # noqa: E402

from playground.captioner import COLOURS, ground_positions, load_captioner  # noqa: E402
from playground.enrich import prompt_attributes  # noqa: E402
from playground.world.physics import simulate  # noqa: E402

torch.set_num_threads(2)
cap = load_captioner(sys.argv[1] if len(sys.argv) > 1 else "models/worldsim-s")
for split in ("train", "heldout"):
    frames, caps, scenes = eval_split(split)
    true = [prompt_attributes(c) for c in caps]
    pred = cap.describe(frames)
    rows, trajs = [], [simulate(sc) for sc in scenes]
    for sc, t, p, traj in zip(scenes, true, pred, trajs):
        ev = Counter(e.kind for e in traj.events)
        kicks = [e for e in traj.events if e.kind == "kick"]
        speed = np.linalg.norm(traj.velocities[0][:, [0, 2]], axis=1).max()
        rows.append(dict(t=t["kicked"], p=p["kicked"], tc=t["collision"], pc=p["collision"], walls=ev["wall"],
                         coll=ev["collision"], nk=len(kicks), kt=[round(e.time, 1) for e in kicks],
                         kimp=[round(float(np.linalg.norm(e.impulse)) / sc.balls[e.balls[0]].radius ** 2, 2) for e in kicks],
                         speed=speed, gravity=sc.gravity, n=len(sc.balls), occ=len(sc.occluders),
                         fam=sc.family if hasattr(sc, "family") else ""))
    fp = [r for r in rows if r["p"] and not r["t"]]
    fn = [r for r in rows if r["t"] and not r["p"]]
    print(f"== {split}: kicked right {np.mean([r['p'] == r['t'] for r in rows]):.3f}; {sum(r['t'] for r in rows)} kicked clips, "
          f"{len(fp)} read as kicked that are not, {len(fn)} kicked read as not")
    for name, grp in (("false kick", fp), ("missed kick", fn), ("all clips", rows)):
        print(f"  {name:12s} n={len(grp):4d} walls/clip {np.mean([r['walls'] for r in grp]):.2f} "
              f"collisions/clip {np.mean([r['coll'] for r in grp]):.2f} max speed {np.mean([r['speed'] for r in grp]):.2f} "
              f"gravity {np.mean([r['gravity'] for r in grp]):.2f} balls {np.mean([r['n'] for r in grp]):.2f}")
    kt = [t for r in fn for t in r["kt"]]
    ki = [i for r in fn for i in r["kimp"]]
    kt_all = [t for r in rows if r["t"] for t in r["kt"]]
    ki_all = [i for r in rows if r["t"] for i in r["kimp"]]
    print(f"  missed kicks: frame {np.percentile(kt, [10, 50, 90]) if kt else '-'} (all kicked: {np.percentile(kt_all, [10, 50, 90])}); "
          f"dv {np.percentile(ki, [10, 50, 90]) if ki else '-'} (all: {np.percentile(ki_all, [10, 50, 90])})")
    late = np.mean([min(r["kt"]) >= 13 for r in fn]) if fn else 0
    print(f"  missed kicks whose first kick is at frame >= 13: {late:.2f}")
    cfp = sum(r["pc"] and not r["tc"] for r in rows)
    cfn = sum(r["tc"] and not r["pc"] for r in rows)
    print(f"  collision right {np.mean([r['pc'] == r['tc'] for r in rows]):.3f}: {cfp} false, {cfn} missed of {sum(r['tc'] for r in rows)}")
    # per kick: is its clip read as kicked, by what surrounds the kick
    x = torch.as_tensor(frames).float().permute(0, 4, 1, 2, 3)
    use = torch.cat([ground_positions(x[i : i + 100])[1] for i in range(0, len(x), 100)]).numpy()
    per = []
    for b, (sc, t, p, traj) in enumerate(zip(scenes, true, pred, trajs)):
        if not t["kicked"]:
            continue
        for kk in sc.kicks:
            ci = COLOURS.index(sc.balls[kk.ball].color)
            pos = traj.positions[kk.frame, kk.ball]
            wall = sc.arena_half_size - np.abs(pos[[0, 2]]).max() - sc.balls[kk.ball].radius
            near = any(kk.ball in e.balls and e.kind in ("wall", "collision") and abs(e.time - kk.frame) < 3
                       for e in traj.events)
            per.append((p["kicked"], use[b, ci, kk.frame : kk.frame + 4].sum(), wall, near, sc.gravity, kk.frame))
    a = np.array(per, dtype=float)
    print(f"  {len(a)} kicks, their clip read as kicked: {a[:, 0].mean():.3f}")
    for name, m in (("seen in < 3 of the 4 frames from the kick", a[:, 1] < 3),
                    ("within 0.3 units of a wall", a[:, 2] < 0.3),
                    ("a wall bounce or collision of the ball within 3 frames", a[:, 3] > 0),
                    ("under gravity", a[:, 4] > 0), ("at frame 12 or later", a[:, 5] >= 12),
                    ("none of these (seen, no event near, rolling)", (a[:, 1] >= 3) & (a[:, 3] == 0) & (a[:, 4] == 0))):
        print(f"    {name:55s} share {m.mean():.2f}, read as kicked {a[m, 0].mean() if m.any() else float('nan'):.3f}")
