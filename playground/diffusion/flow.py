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


def skip_coefficients(sigma: torch.Tensor, residual_std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """EDM-style preconditioning (Karras et al. 2022) of an x0 predictor around a base guess.

    With x0 = base + d, Var(d) = residual_std**2 and x_t = (1 - sigma) x0 + sigma * noise, the observable
    y = x_t - (1 - sigma) base = (1 - sigma) d + sigma * noise. The best linear guess of d from y is c_skip * y, and
    c_out is the standard deviation of what that guess leaves over, so the network's target
    F = (x0 - base - c_skip * y) / c_out has unit variance at every noise level. As sigma -> 0, c_skip -> 1 and
    c_out -> 0: a nearly clean input passes through untouched instead of being redrawn by the network, whose
    errors would otherwise stay in the video as coloured speckle (the un-preconditioned model's measured error at
    low noise is in runs/worldsim-s/notes.md). Shapes broadcast.
    """
    a = (1 - sigma) ** 2 * residual_std**2 + sigma**2
    c_skip = (1 - sigma) * residual_std**2 / a
    c_out = sigma * residual_std / a.sqrt()
    return c_skip, c_out


def masked_x0_loss(x0_hat: torch.Tensor, x0: torch.Tensor, frame_mask: torch.Tensor,
                   c_out: torch.Tensor | None = None, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared x0 error over the frames to predict. x0: (B, c, T, h, w); frame_mask: (B, T), 1 = predict.

    With `c_out` (broadcastable to x0, see `skip_coefficients`) the error is divided by it: the loss on the
    network's own unit-variance output, EDM's weighting, so that low noise levels are not starved of gradient.
    `weight` (broadcastable to x0) scales each element's error; the mean stays over all predicted elements.
    """
    w = frame_mask.to(x0.dtype)[:, None, :, None, None]
    diff = x0_hat - x0 if c_out is None else (x0_hat - x0) / c_out.clamp_min(1e-3)
    err = diff.pow(2) * w if weight is None else diff.pow(2) * w * weight
    denom = w.sum() * x0.shape[1] * x0.shape[3] * x0.shape[4]
    return err.sum() / denom.clamp_min(1.0)
