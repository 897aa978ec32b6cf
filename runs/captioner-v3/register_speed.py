"""The floor registration as three batched matrix products against the loop it replaced (register_camera at commit
b7f6d70, read from git): the same moves and offsets, and the time for start_motion's six windows and for all 15
frames, on 512 clips of each split of caption eval (2 threads).

    python runs/captioner-v3/register_speed.py
"""
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

import playground.captioner as C

REPO = Path(__file__).resolve().parents[2]
src = subprocess.run(["git", "show", "b7f6d70:playground/captioner.py"], cwd=REPO, capture_output=True, text=True,
                     check=True).stdout
old_src = src[src.index("def register_camera("): src.index("START_ESTIMATES = 3")]
ns = dict(vars(C))
exec(old_src, ns)
old = ns["register_camera"]
torch.set_num_threads(2)
e = C.EvalConfig()
for split, seed in (("train", 1001), ("heldout", 1002)):
    frames, _ = C.cached_simulation(REPO / "cache", e.clips, seed, split=split, families=e.families, n_frames=16, size=32)
    x = torch.as_tensor(frames[:512]).float().permute(0, 4, 1, 2, 3)
    aff = C.palette_affinity(x)
    gray, floor = x.mean(1) / 255, (1 - aff.sum(1)).clamp(0, 1)
    t = time.time(); a = old(gray, floor, C.START_WINDOWS); t_old = time.time() - t
    t = time.time(); b = C.register_camera(gray, floor, C.START_WINDOWS); t_new = time.time() - t
    t = time.time(); C.register_camera(gray, floor, tuple(range(1, 16))); t_all = time.time() - t
    same = np.mean([p[0] == q[0] for r, s in zip(a, b) for p, q in zip(r, s)])
    diff = max(abs(p[1] - q[1]) for r, s in zip(a, b) for p, q in zip(r, s))
    print(f"{split}: loop {t_old:.2f} s, matrix products {t_new:.2f} s (six windows), {t_all:.2f} s (15 frames); "
          f"same move {same:.4f}, largest offset difference {diff:.1e}")
