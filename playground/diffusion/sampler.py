"""Which way a pipeline's flow-matching scheduler samples, named for reports (no torch import: the probe suite's
reports use it without the model stack)."""

from __future__ import annotations

# how report headers name each sampler
SAMPLER_TEXT = {"stochastic": ", stochastic sampling", "ode": ", Euler steps on the ODE"}


def sampler_name(pipe) -> str | None:
    """"stochastic" or "ode" for a pipeline's flow-matching scheduler; None for a stand-in without one."""
    scheduler = getattr(pipe, "scheduler", None)
    if scheduler is None:
        return None
    return "stochastic" if scheduler.config.get("stochastic_sampling") else "ode"
