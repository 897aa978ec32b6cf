"""Actions as model input: pixel actions (playground.world.actions.PixelAction, a kick as a person gives it) ->
per-frame action maps on the latent grid, the extra input channels of a DiT with `action_channels`; and the
Conditioning value, everything a denoising step is conditioned on.

A kick at frame f puts, in frame f's map, a small Gaussian bump at the clicked point (in latent pixels):
channel 0 is the bump, channels 1-2 the bump times the image direction (dx, dy) times the strength over
STRENGTH_SCALE. The kick changes the motion from frame f to f + 1, so a next-chunk model sees the map of every
kick in its window, whether on a context frame or on a frame it predicts.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class Conditioning:
    """Everything one denoising step is conditioned on, for a batch of B videos (or rollout windows) of T frames.

    latents (B, c, T, h, w): the observed (context) frames' latents, zeros elsewhere; mask (B, T): 1 on those
    frames; text (B, D) sentence embeddings and has_text (B,) bool - False is the explicit "no text" (the model is
    given its null text, the all-zero embedding it was trained with under text dropout); sigma (B, T) or None: the
    noise level the observed frames carry (context-noise models); actions (B, A, T, h, w) or None: action maps
    (action_map). Built by WorldSimPipeline.conditioning from frames, prompts and actions."""

    latents: torch.Tensor
    mask: torch.Tensor
    text: torch.Tensor
    has_text: torch.Tensor
    sigma: torch.Tensor | None = None
    actions: torch.Tensor | None = None

    @property
    def batch(self) -> int:
        return self.latents.shape[0]

    def model_kwargs(self) -> dict:
        """The transformer's conditioning arguments."""
        return {"text_embeds": self.text * self.has_text[:, None].to(self.text.dtype), "cond_latents": self.latents,
                "cond_mask": self.mask, "cond_sigma": self.sigma, "actions": self.actions}

    def with_unconditional(self) -> "Conditioning":
        """The batch twice, the second half without text: classifier-free guidance in one forward pass."""
        two = lambda z: None if z is None else torch.cat([z, z])  # noqa: E731
        return Conditioning(two(self.latents), two(self.mask), two(self.text),
                            torch.cat([self.has_text, torch.zeros_like(self.has_text)]), two(self.sigma),
                            two(self.actions))

    def window(self, start: int, frames: int, context: int, context_latents: torch.Tensor | None = None,
               context_sigma: float | None = None) -> "Conditioning":
        """A rollout window: frames start .. start + frames - 1, the first `context` of them observed with
        `context_latents` (B, c, context, h, w), told noise level `context_sigma` (context-noise models), the
        rest to predict; actions cut to the window (zeros past the end of the maps)."""
        b, c, _, h, w = self.latents.shape
        lat = self.latents.new_zeros(b, c, frames, h, w)
        mask = self.mask.new_zeros(b, frames)
        if context:
            lat[:, :, :context] = context_latents
            mask[:, :context] = 1
        sigma = None
        if self.sigma is not None:
            sigma = self.mask.new_zeros(b, frames)
            sigma[:, :context] = context_sigma or 0.0
        acts = None
        if self.actions is not None:
            acts = self.actions.new_zeros(b, self.actions.shape[1], frames, h, w)
            part = self.actions[:, :, start:start + frames]
            acts[:, :, :part.shape[2]] = part
        return Conditioning(lat, mask, self.text, self.has_text, sigma, acts)
