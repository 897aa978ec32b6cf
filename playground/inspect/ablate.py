"""Attention interventions at sampling time: switch off chosen heads, cut the attention across time of chosen
blocks, or let every temporal attention see only the last k frames.

An `Ablation` is applied to a private deep copy of the transformer through forward hooks on its blocks (a
pre-hook on a block hands it an attention mask; a pre-hook on a block's output projection zeroes the chosen
heads' slices of its input), so the served model and its fast path never change, and the empty ablation leaves
the copy's output bit for bit equal to the original's.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch

from ..models.dit import frame_window_mask


@dataclass(frozen=True)
class Ablation:
    """What to switch off.

    heads: (block, head) pairs whose attention output is zeroed (the head adds nothing to the projection).
    time_off: blocks whose attention may not cross time: a temporal block's token sees only itself, a joint
        block's token only its own frame group (spatial blocks never cross time; naming one is an error).
    window: None, or k >= 1 frames: every temporal or joint block lets a token see only the frame groups that
        hold the last k frames up to its own (ceil(k / patch_size_t) groups, its own included).
    """

    heads: tuple[tuple[int, int], ...] = ()
    time_off: tuple[int, ...] = ()
    window: int | None = None

    @property
    def empty(self) -> bool:
        return not self.heads and not self.time_off and self.window is None

    def describe(self) -> str:
        parts = []
        if self.heads:
            parts.append("heads " + ", ".join(f"{b}:{h}" for b, h in self.heads) + " off")
        if self.time_off:
            parts.append("attention across time off in blocks " + ", ".join(map(str, self.time_off)))
        if self.window is not None:
            parts.append(f"temporal attention limited to the last {self.window} frames")
        return "; ".join(parts) or "nothing ablated"

    def to_dict(self) -> dict:
        return {"heads": [list(h) for h in self.heads], "time_off": list(self.time_off), "window": self.window,
                "description": self.describe()}

    def check(self, transformer) -> "Ablation":
        """ValueError naming the field when a block, head or window does not exist in this model."""
        kinds = list(transformer.kinds)
        n_heads = transformer.config.num_heads
        for b, h in self.heads:
            if not 0 <= b < len(kinds):
                raise ValueError(f"heads: block {b} does not exist; the model has blocks 0..{len(kinds) - 1}")
            if not 0 <= h < n_heads:
                raise ValueError(f"heads: head {h} does not exist; each block has heads 0..{n_heads - 1}")
        for b in self.time_off:
            if not 0 <= b < len(kinds):
                raise ValueError(f"time_off: block {b} does not exist; the model has blocks 0..{len(kinds) - 1}")
            if kinds[b] == "spatial":
                crossing = [i for i, k in enumerate(kinds) if k != "spatial"]
                raise ValueError(f"time_off: block {b} is spatial (it never attends across time); blocks that do: "
                                 f"{', '.join(map(str, crossing)) or 'none'}")
        if self.window is not None and (not isinstance(self.window, int) or self.window < 1):
            raise ValueError(f"window must be a whole number of frames >= 1, got {self.window!r}")
        return self


def temporal_blocks(transformer) -> list[int]:
    """Blocks whose attention crosses time (temporal or joint)."""
    return [i for i, k in enumerate(transformer.kinds) if k != "spatial"]


def parse_heads(text: str) -> tuple[tuple[int, int], ...]:
    """'3:0, 3:2, 5:*' -> ((3, 0), (3, 2), (5, -1)): -1 = every head of that block (expanded by `expand`)."""
    out = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        b, sep, h = part.partition(":")
        try:
            out.append((int(b), -1 if h.strip() == "*" else int(h)))
        except ValueError:
            raise ValueError(f"heads: {part!r} is not BLOCK:HEAD (e.g. '3:0' or '3:*' for every head of block 3)")
        if not sep:
            raise ValueError(f"heads: {part!r} is not BLOCK:HEAD (e.g. '3:0' or '3:*' for every head of block 3)")
    return tuple(out)


def expand(ablation: Ablation, transformer) -> Ablation:
    """Replace 'every head' (-1) with the model's head indices."""
    n = transformer.config.num_heads
    heads = []
    for b, h in ablation.heads:
        heads += [(b, j) for j in range(n)] if h == -1 else [(b, h)]
    return Ablation(tuple(dict.fromkeys(heads)), tuple(dict.fromkeys(ablation.time_off)), ablation.window)


def _mask_hook(kind: str, groups: int):
    def hook(module, args, kwargs):
        grid = args[2] if len(args) > 2 else kwargs["grid"]
        x = args[0]
        mask = frame_window_mask(kind, grid, groups, device=x.device)
        prev = kwargs.get("attn_mask")
        kwargs["attn_mask"] = mask if prev is None else prev & mask
        return args, kwargs
    return hook


def _head_hook(heads: list[int], head_dim: int):
    keep = None

    def hook(module, args):
        nonlocal keep
        x = args[0]  # (B', L, H * d): the heads' outputs side by side, before the output projection
        if keep is None or keep.device != x.device or keep.dtype != x.dtype:
            keep = torch.ones(x.shape[-1], device=x.device, dtype=x.dtype)
            for h in heads:
                keep[h * head_dim:(h + 1) * head_dim] = 0
        return (x * keep,) + tuple(args[1:])
    return hook


def ablated_transformer(transformer, ablation: Ablation):
    """A deep copy of `transformer` with `ablation` applied by hooks (the original is untouched)."""
    ablation = expand(ablation, transformer).check(transformer)
    model = copy.deepcopy(transformer)
    model.ablation = ablation
    pt = model.config.patch_size_t
    by_block: dict[int, list[int]] = {}
    for b, h in ablation.heads:
        by_block.setdefault(b, []).append(h)
    for i, block in enumerate(model.blocks):
        groups = None
        if i in ablation.time_off:
            groups = 1
        if ablation.window is not None and block.kind != "spatial":
            w = math.ceil(ablation.window / pt)
            groups = w if groups is None else min(groups, w)
        if groups is not None and block.kind != "spatial":
            block.register_forward_pre_hook(_mask_hook(block.kind, groups), with_kwargs=True)
        if i in by_block:
            block.attn.proj.register_forward_pre_hook(_head_hook(by_block[i], block.attn.head_dim))
    return model


def ablated_pipeline(pipe, ablation: Ablation):
    """A shallow copy of a WorldSimPipeline whose transformer is an ablated private copy (the same VAE, scheduler,
    text encoder and enricher); with an empty ablation it samples exactly what `pipe` samples."""
    model = ablated_transformer(pipe.transformer, ablation)
    out = copy.copy(pipe)
    # DiffusionPipeline keeps its modules as attributes and in its config; replace both for the copy only.
    object.__setattr__(out, "transformer", model)
    return out
