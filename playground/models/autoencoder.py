"""The video compression network: frames -> a small latent grid -> frames.

Frame-wise 2-D convolutions (time folded into the batch): the world's frames are simple, and a per-frame latent is
what the app's latent view shows frame by frame. Temporal modelling is left entirely to the DiT. The shipped model
compresses 2x: at 4x a ball of 3-4 px radius at 32x32 falls into one or two latent pixels, and the decoder of a
small autoencoder returned it in the wrong colour or not at all (runs/ae-pilot/README.md has the measured rates
and the study of wider latents with more channels).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from einops import rearrange


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """(B, 3, T, H, W) in [-1, 1] -> (B, T, H, W, 3) uint8."""
    x = ((frames.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 4, 1).cpu().numpy()


def from_uint8(frames: np.ndarray) -> torch.Tensor:
    """(B, T, H, W, 3) uint8 -> (B, 3, T, H, W) in [-1, 1]."""
    x = torch.from_numpy(np.array(frames, dtype=np.uint8)).float() / 127.5 - 1
    return x.permute(0, 4, 1, 2, 3)


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=min(8, channels), num_channels=channels)


class ResBlock(nn.Module):
    """A pre-norm residual block of two 3x3 convolutions."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm1 = _norm(channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.norm2 = _norm(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return x + h


class VideoAutoencoder(ModelMixin, ConfigMixin):
    """A deterministic frame-wise autoencoder with 2**len(channels[1:]) spatial compression.

    `encode` returns latents already normalised by `shift_factor`/`scaling_factor` (measured on training data
    after the autoencoder is trained) so the diffusion model sees roughly unit-variance latents.
    """

    @register_to_config
    def __init__(
        self,
        in_channels: int = 3,
        latent_channels: int = 4,
        channels: tuple[int, ...] = (32, 64, 64),
        scaling_factor: float = 1.0,
        shift_factor: float = 0.0,
    ):
        super().__init__()
        channels = tuple(channels)
        enc: list[nn.Module] = [nn.Conv2d(in_channels, channels[0], 3, padding=1), ResBlock(channels[0])]
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            enc += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), ResBlock(c_out)]
        enc += [_norm(channels[-1]), nn.SiLU(), nn.Conv2d(channels[-1], latent_channels, 1)]
        self.encoder = nn.Sequential(*enc)

        dec: list[nn.Module] = [nn.Conv2d(latent_channels, channels[-1], 3, padding=1), ResBlock(channels[-1])]
        rev = channels[::-1]
        for c_in, c_out in zip(rev[:-1], rev[1:]):
            dec += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, padding=1), ResBlock(c_out)]
        dec += [_norm(channels[0]), nn.SiLU(), nn.Conv2d(channels[0], in_channels, 3, padding=1)]
        self.decoder = nn.Sequential(*dec)

    @property
    def spatial_compression(self) -> int:
        return 2 ** (len(self.config.channels) - 1)

    def encode_raw(self, frames: torch.Tensor) -> torch.Tensor:
        """Un-normalised latents. (B, 3, T, H, W) in [-1, 1] -> (B, c, T, H/f, W/f)."""
        b = frames.shape[0]
        z = self.encoder(rearrange(frames, "b c t h w -> (b t) c h w"))
        return rearrange(z, "(b t) c h w -> b c t h w", b=b)

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) in [-1, 1] -> normalised latents (B, c, T, H/f, W/f)."""
        f = self.spatial_compression
        if frames.shape[-1] % f or frames.shape[-2] % f:
            raise ValueError(f"frame height and width must be multiples of {f}, got {tuple(frames.shape[-2:])}")
        return (self.encode_raw(frames) - self.config.shift_factor) * self.config.scaling_factor

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Normalised latents (B, c, T, h, w) -> frames (B, 3, T, h*f, w*f), roughly in [-1, 1]."""
        b = latents.shape[0]
        z = latents / self.config.scaling_factor + self.config.shift_factor
        x = self.decoder(rearrange(z, "b c t h w -> (b t) c h w"))
        return rearrange(x, "(b t) c h w -> b c t h w", b=b)

    @torch.no_grad()
    def encode_frames(self, frames: np.ndarray) -> torch.Tensor:
        """Pixels -> latents: uint8 frames (B, T, H, W, 3) -> normalised latents (B, c, T, H/f, W/f) on the model's
        device."""
        return self.encode(from_uint8(frames).to(self.device))

    @torch.no_grad()
    def decode_frames(self, latents: torch.Tensor) -> np.ndarray:
        """Latents -> pixels: normalised latents (B, c, T, h, w) -> uint8 frames (B, T, H, W, 3)."""
        return to_uint8(self.decode(latents.to(self.device, torch.float32)))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Reconstruction (B, 3, T, H, W) -> (B, 3, T, H, W), used for training."""
        b = frames.shape[0]
        x = rearrange(frames, "b c t h w -> (b t) c h w")
        x = self.decoder(self.encoder(x))
        return rearrange(x, "(b t) c h w -> b c t h w", b=b)
