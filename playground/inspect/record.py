"""Record the DiT's hidden states: the tokens after the patch embedding and positions (`embed`, the input of the
first block) and after every block (`blocks.i`), for one forward pass at a chosen noise level.

Forward hooks on `transformer.blocks` collect them, so recording follows the block structure whatever the
forward pass around the blocks does, and costs nothing when not in use (the hooks exist only inside the call).
Call it on a model no other thread is running (the inspect study owns its models; the app uses a private copy).
"""

from __future__ import annotations

import torch

LAYER_EMBED = "embed"


def layer_names(transformer) -> list[str]:
    """'embed', then 'blocks.0' ... 'blocks.{depth-1}': the points where hidden states are recorded."""
    return [LAYER_EMBED] + [f"blocks.{i}" for i in range(len(transformer.blocks))]


@torch.no_grad()
def record_hidden_states(
    transformer,
    sample: torch.Tensor,
    sigma: float,
    text_embeds: torch.Tensor | None = None,
    cond_latents: torch.Tensor | None = None,
    cond_mask: torch.Tensor | None = None,
    layers: list[str] | None = None,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """One forward pass of `transformer` with its hidden states kept.

    sample: (B, c, T, h, w) the noisy latents at noise level `sigma`; the rest as in SpacetimeDiT.forward.
    Returns ({layer: (B, N, D) float32 on the CPU}, the x0 prediction (B, c, T, h, w)). Token order is the
    model's (t, y, x) over its token grid `transformer.token_grid(T, h, w)`.
    """
    wanted = set(layer_names(transformer) if layers is None else layers)
    unknown = wanted - set(layer_names(transformer))
    if unknown:
        raise ValueError(f"unknown layers {sorted(unknown)}; choose from {', '.join(layer_names(transformer))}")
    states: dict[str, torch.Tensor] = {}
    handles = []

    def keep(name):
        def hook(module, args, output):
            states[name] = output.detach().float().cpu()
        return hook

    def keep_input(module, args):
        states[LAYER_EMBED] = args[0].detach().float().cpu()

    try:
        if LAYER_EMBED in wanted:
            handles.append(transformer.blocks[0].register_forward_pre_hook(keep_input))
        for i, block in enumerate(transformer.blocks):
            if f"blocks.{i}" in wanted:
                handles.append(block.register_forward_hook(keep(f"blocks.{i}")))
        b = sample.shape[0]
        t = torch.full((b,), float(sigma), device=sample.device)
        x0 = transformer(sample, t, text_embeds=text_embeds, cond_latents=cond_latents, cond_mask=cond_mask)
    finally:
        for h in handles:
            h.remove()
    return states, x0
