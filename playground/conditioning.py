"""Actions as model input: pixel actions (playground.world.actions.PixelAction, a kick as a person gives it) ->
per-frame action maps on the latent grid, the extra input channels of a DiT with `action_channels`.

A kick at frame f puts, in frame f's map, a small Gaussian bump at the clicked point (in latent pixels):
channel 0 is the bump, channels 1-2 the bump times the image direction (dx, dy) times the strength over
STRENGTH_SCALE. The kick changes the motion from frame f to f + 1, so a next-chunk model sees the map of every
kick in its window, whether on a context frame or on a frame it predicts.
"""

from __future__ import annotations

import torch

ACTION_CHANNELS = 3
BUMP_SIGMA = 0.75  # latent pixels: a bump about a ball's size at 2x compression
STRENGTH_SCALE = 2.0  # world units/s that map to 1 (the training kicks are 0.5-2.0)


def action_map(actions, num_frames: int, lat_height: int, lat_width: int, compression: int,
               start: int = 0) -> torch.Tensor:
    """(ACTION_CHANNELS, num_frames, h, w) float32 for the frames start .. start + num_frames - 1 of a video.

    actions: PixelActions with pixel coordinates of the full-resolution frames; `compression` is the autoencoder's
    spatial factor. Actions outside the frame range are left out."""
    out = torch.zeros(ACTION_CHANNELS, num_frames, lat_height, lat_width)
    yy = torch.arange(lat_height, dtype=torch.float32)[:, None] + 0.5
    xx = torch.arange(lat_width, dtype=torch.float32)[None, :] + 0.5
    for a in actions:
        t = int(a.frame) - start
        if not 0 <= t < num_frames:
            continue
        cx, cy = float(a.x) / compression, float(a.y) / compression
        bump = torch.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * BUMP_SIGMA**2))
        s = float(a.strength) / STRENGTH_SCALE
        out[0, t] = torch.maximum(out[0, t], bump)
        out[1, t] += bump * float(a.dx) * s
        out[2, t] += bump * float(a.dy) * s
    return out
