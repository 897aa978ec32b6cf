"""The high-level API the training loop, probes and app use: a Clip is a scene, its frames, its ground truth
and its captions."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .actions import kick_to_pixel
from .camera import camera_path, intrinsics
from .captions import rich_caption, short_caption
from .families import sample_scene
from .groundtruth import GroundTruth, ground_truth
from .physics import simulate
from .render import check_size, render
from .scene import Scene

MAX_BATCH = 100_000


@dataclass
class Clip:
    """One rendered clip: frames (T, H, W, 3) uint8, ground truth, a rich and a short caption."""

    scene: Scene
    frames: np.ndarray
    gt: GroundTruth
    caption: str
    short_caption: str

    def to_json_dict(self) -> dict:
        """Scene, captions and ground truth (without depth maps) as plain JSON."""
        return {"scene": self.scene.to_dict(), "caption": self.caption, "short_caption": self.short_caption,
                "height": int(self.frames.shape[1]), "width": int(self.frames.shape[2]),
                "ground_truth": self.gt.to_json_dict()}


def _simulate_and_render(scene: Scene, height: int, width: int, ss: int = 2, with_ids: bool = False,
                         start: int = 0):
    """(trajectories, K, Rt, RenderOutput) of `scene`: the simulation seen through its camera, rendered from frame
    `start` on (trajectories and Rt are the whole clip's)."""
    traj = simulate(scene)
    K = intrinsics(scene.camera.fov_deg, height, width)
    Rt = camera_path(scene.camera, scene.n_frames, scene.dt)
    return traj, K, Rt, render(scene, traj.positions[start:], K, Rt[start:], height, width, ss, with_ids=with_ids,
                               effects=traj.effects, frame0=start)


def render_scene(scene: Scene, height: int = 32, width: int = 32, start: int = 0) -> np.ndarray:
    """The frames (T - start, H, W, 3) uint8 make_clip renders for `scene` from frame `start` on (the whole scene
    is simulated, only those frames rendered), without the ground truth a clip carries."""
    scene.validate()
    check_size(height, width, 2)
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not 0 <= start < scene.n_frames:
        raise ValueError(f"start must be a frame of the scene, in [0, {scene.n_frames - 1}], got {start!r}")
    return _simulate_and_render(scene, height, width, start=int(start))[3].frames


def make_clip(scene: Scene, height: int = 32, width: int = 32, ss: int = 2) -> Clip:
    """Simulate and render `scene` at height x width (ss x ss supersampling) with full ground truth."""
    scene.validate()
    check_size(height, width, ss)
    traj, K, Rt, out = _simulate_and_render(scene, height, width, ss, with_ids=True)
    radii = np.array([b.radius for b in scene.balls])
    gt = ground_truth(radii, traj.positions, traj.velocities, traj.events, out, K, Rt, height, width, ss,
                      traj.effects, scene.arena_half_size)
    return Clip(scene, out.frames, gt, rich_caption(scene, traj), short_caption(scene))


def sample_clip(family: str = "mixed", split: str = "train", seed: int = 0, n_frames: int = 16,
                height: int = 32, width: int = 32) -> Clip:
    """Sample a scene of `family`/`split` with `seed` and render it (same arguments -> identical clip)."""
    check_size(height, width, 2)
    return make_clip(sample_scene(family, split, np.random.default_rng(seed), n_frames), height, width)


def batch_scenes(n: int, seed: int, family: str = "mixed", split: str = "train", n_frames: int = 16,
                 time_scale: float = 1.0):
    """The scenes of sample_frames_batch(n, seed, ...), in order, each from its own child seed, its time step times
    `time_scale`: for what a batch's clips are without rendering them."""
    for child in np.random.SeedSequence(seed).spawn(n):
        scene = sample_scene(family, split, np.random.default_rng(child), n_frames)
        yield replace(scene, dt=scene.dt * float(time_scale)).validate() if time_scale != 1.0 else scene


def sample_frames_batch(n: int, seed: int, family: str = "mixed", split: str = "train", n_frames: int = 16,
                        height: int = 32, width: int = 32, with_actions: bool = False, time_scale: float = 1.0):
    """n clips' frames (n, T, H, W, 3) uint8 with their rich and short captions; deterministic for `seed`.
    With `with_actions`, also each clip's kicks as the pixel actions a person would give (a list per clip, see
    actions.kick_to_pixel): what a model that takes actions is conditioned on. `time_scale`: each scene's time step
    times this (2: the same scenes seen at every second frame of a clip twice as long, so twice as fast).

    The fast path for building training caches: no ground truth, no id buffers. Clip i uses its own child seed
    (SeedSequence(seed).spawn), so a batch of n is a prefix of a batch of n + 1 with the same seed.
    """
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_BATCH:
        raise ValueError(f"n must be an integer in [1, {MAX_BATCH}], got {n!r}")
    check_size(height, width, 2)
    frames = np.empty((n, n_frames, height, width, 3), dtype=np.uint8)
    rich, short, acts = [], [], []
    for i, scene in enumerate(batch_scenes(n, seed, family, split, n_frames, time_scale)):
        traj, _, _, out = _simulate_and_render(scene, height, width)
        frames[i] = out.frames
        rich.append(rich_caption(scene, traj))
        short.append(short_caption(scene))
        if with_actions:
            acts.append([kick_to_pixel(scene, k, height, width, traj.positions) for k in scene.kicks])
    return (frames, rich, short, acts) if with_actions else (frames, rich, short)
