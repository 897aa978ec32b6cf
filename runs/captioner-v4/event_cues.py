"""Do event_fits separate kicks from wall bounces and collisions? Per ball of caption eval's clips (both splits,
still camera, rolling): the largest speed change over the clip's frames, by what happens to the ball.

    python runs/captioner-v4/event_cues.py
"""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "captioner-v3"))
from common import ball_rows, eval_split, still_camera  # noqa: E402

from playground.captioner import event_fits, ground_positions  # noqa: E402

torch.set_num_threads(2)
for split in ("train", "heldout"):
    frames, caps, scenes = eval_split(split)
    idx = [b for b, sc in enumerate(scenes) if still_camera(sc) and not sc.gravity][:400]
    x = torch.as_tensor(frames[idx]).float().permute(0, 4, 1, 2, 3)
    ev = torch.cat([event_fits(ground_positions(x[i:i + 64])) for i in range(0, len(idx), 64)]).numpy()
    groups = {}
    for r in ball_rows([scenes[b] for b in idx]):
        kinds = {e.kind for e in r["traj"].events if r["k"] in e.balls and 1 <= e.time <= 14}
        g = "kick" if "kick" in kinds else "collision" if "collision" in kinds else "wall" if "wall" in kinds else "none"
        e = ev[r["b"], r["ci"]]
        groups.setdefault(g, []).append((np.abs(e[:, 4]).max(), e[:, 5].max()))
    print(f"== {split} (rolling balls, still camera)")
    for g, v in groups.items():
        v = np.array(v)
        print(f"  {g:9s} n={len(v):4d} max |speed change| median {np.median(v[:, 0]):.3f} p10 {np.percentile(v[:, 0], 10):.3f} "
              f"p90 {np.percentile(v[:, 0], 90):.3f}; max |dv| median {np.median(v[:, 1]):.3f}")
