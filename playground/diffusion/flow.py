"""Rectified flow, the objective and the sampler kept apart from the network (as in minRF's rf.py).

Convention (diffusers' FlowMatchEulerDiscreteScheduler, SD3): x_t = (1 - sigma) * x0 + sigma * noise, sigma in
[0, 1], velocity v = noise - x0. The network predicts x0 (a small model learns that faster than v); the sampler
turns it into a velocity v = (x_t - x0_hat) / sigma for the diffusers Euler scheduler.
"""

from __future__ import annotations

import torch


def logit_normal_sigmas(n: int, generator: torch.Generator | None = None, mean: float = 0.0, std: float = 1.0,
                        device: torch.device | str = "cpu") -> torch.Tensor:
    """Training noise levels: sigmoid of a normal sample (SD3's logit-normal timestep sampling)."""
    u = torch.randn(n, generator=generator, device=device) * std + mean
    return torch.sigmoid(u)


def add_noise(x0: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """x_t for per-sample sigma (B,) on a (B, ...) tensor."""
    s = sigma.reshape(-1, *([1] * (x0.dim() - 1)))
    return (1 - s) * x0 + s * noise


def x0_to_velocity(x_t: torch.Tensor, x0_hat: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """The velocity the Euler scheduler steps along, given the predicted clean sample."""
    if not torch.is_tensor(sigma):
        sigma = torch.tensor(float(sigma))
    s = sigma.reshape(-1, *([1] * (x_t.dim() - 1))).to(x_t) if sigma.dim() else sigma.to(x_t)
    return (x_t - x0_hat) / s.clamp_min(1e-4)


def masked_x0_loss(x0_hat: torch.Tensor, x0: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """Mean squared x0 error over the frames to predict. x0: (B, c, T, h, w); frame_mask: (B, T), 1 = predict."""
    w = frame_mask.to(x0.dtype)[:, None, :, None, None]
    err = (x0_hat - x0).pow(2) * w
    denom = w.sum() * x0.shape[1] * x0.shape[3] * x0.shape[4]
    return err.sum() / denom.clamp_min(1.0)
