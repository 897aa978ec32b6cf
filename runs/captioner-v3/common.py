"""What the captioner-v3 diagnostics share: caption eval's clips with their scenes, and each ball's truth.

    from common import eval_split, ball_rows, heading, ls_velocity, condition
"""
from pathlib import Path

import numpy as np

from playground.captioner import COLOURS, EvalConfig, cached_simulation, captioned_scenes
from playground.world.captions import _heading, passes_behind, scene_attributes
from playground.world.physics import simulate

REPO = Path(__file__).resolve().parents[2]


def eval_split(split: str = "train"):
    """Caption eval's 1,000 clips of `split` (frames, rich captions) and their scenes, in the same order."""
    e = EvalConfig()
    seed = e.seed * 1000 + (1 if split == "train" else 2)
    kw = dict(split=split, families=e.families, n_frames=e.frames)
    frames, caps = cached_simulation(REPO / "cache", e.clips, seed, size=e.size, **kw)
    return frames, caps, captioned_scenes(e.clips, seed, **kw)


def heading(vec) -> str:
    """The grammar's heading of a view-plane velocity, "still" when it does not move."""
    return _heading(float(vec[0]), float(vec[1])) or "still"


def ls_velocity(p: np.ndarray, k: int, dt: float = 0.1) -> np.ndarray:
    """Least-squares velocity of positions p (T, 2) over frames 0..k."""
    t = np.arange(k + 1) * dt
    return np.linalg.lstsq(np.stack([np.ones_like(t), t], 1), p[: k + 1], rcond=None)[0][1]


def ball_rows(scenes, select=None) -> list[dict]:
    """One dict per ball of the clips whose scenes satisfy `select` (all if None): clip index b, ball index k, palette
    index ci, the ball and its scene, the simulation, the view velocity v and its heading, gravity, a moving
    camera, whether it passes behind an occluder, and the time (frames) of its first wall, collision or kick."""
    rows = []
    for b, sc in enumerate(scenes):
        if select is not None and not select(sc):
            continue
        traj = simulate(sc)
        at = scene_attributes(sc, traj)
        hidden = {j for j, _ in passes_behind(sc, traj)}
        for k, ball in enumerate(sc.balls):
            events = [ev.time for ev in traj.events if k in ev.balls and ev.kind in ("wall", "collision", "kick")]
            rows.append(dict(b=b, k=k, ci=COLOURS.index(ball.color), ball=ball, scene=sc, traj=traj,
                             v=np.array(at.velocities[k]), truth=heading(at.velocities[k]), gravity=sc.gravity,
                             camera=at.camera != "still", occluded=k in hidden, first=min(events, default=99),
                             n=len(sc.balls)))
    return rows


def condition(r: dict) -> str:
    """A ball's condition: gravity, moving camera, occluded, an event by frame 4, joined by +, or "plain"."""
    on = [("gravity", r["gravity"]), ("camera", r["camera"]), ("occluded", r["occluded"]), ("event<=4", r["first"] <= 4)]
    return "+".join(c for c, x in on if x) or "plain"


def still_camera(sc) -> bool:
    return sc.camera.motion == "static" or (abs(sc.camera.yaw_speed) < 1e-9 and abs(sc.camera.pan_speed) < 1e-9)
