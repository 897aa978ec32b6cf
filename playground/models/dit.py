"""Spacetime DiT: a Diffusion Transformer over spacetime latent patches (Sora report, DiT, Latte).

A latent video (B, c, T, h, w) is cut into spacetime patches of pt x p x p, each patch becomes a token, a 3-D
sin-cos positional code is added (computed for any T, h, w, so one set of weights serves many durations,
resolutions and aspect ratios; an image is a 1-frame video), and a stack of adaLN-Zero blocks conditioned on the
noise level and the text denoises the tokens. Blocks attend spatially (within a frame), temporally (across frames
at one place) or jointly (all tokens).

Observed frames (image-to-video, continuation) enter as extra input channels: their latents and a mask; with
`context_noise` also the noise level each observed frame carries (a next-chunk world model is trained on noisy
context and told how noisy, as GameNGen and DIAMOND do, so that a long rollout on its own output stays stable),
and with `action_channels` > 0 a per-frame action map (playground.conditioning.action_map: where a kick lands in
the frame, its direction and strength).
Optionally the output is a correction to the last observed frame (`anchor`), EDM-preconditioned around it
(`precondition`, see `SpacetimeDiT.skip`), so a nearly clean input passes through instead of being redrawn.

The fast path uses fused `scaled_dot_product_attention`; when an `AttentionCapture` is passed down the call, the
chosen layers take the readable path (softmax(QK^T / sqrt(d)) V) and hand their weights to the capture object.
Nothing is stored on the modules, so concurrent calls never share capture state. A block also takes an optional
attention mask (`frame_window_mask`), which only the attention interventions of playground.inspect pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from einops import rearrange

from ..diffusion.flow import skip_coefficients

ATTENTION_KINDS = ("spatial", "temporal", "joint")


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


#################################################################################
#                       Attention capture (opt-in introspection)                #
#################################################################################


@dataclass
class AttentionCapture:
    """Which attention maps to record during one forward pass, and the maps recorded.

    `layers`: capture-point names such as "blocks.3.attn" (None = every block). `heads`: head indices to keep
    (None = all). `batch_index`: which sample of the batch to keep. Recorded maps are float16 on the CPU:
      spatial  -> (T', H, S, S)   one map per frame, S = h' * w' tokens per frame
      temporal -> (S, H, T', T')  one map per spatial position
      joint    -> (H, N, N)       N = T' * S
    `meta[name]` holds the kind and the token grid (T', h', w').
    """

    layers: set[str] | None = None
    heads: list[int] | None = None
    batch_index: int = 0
    weights: dict[str, torch.Tensor] = field(default_factory=dict)
    meta: dict[str, dict] = field(default_factory=dict)

    def wants(self, name: str) -> bool:
        return self.layers is None or name in self.layers

    def record(self, name: str, kind: str, grid: tuple[int, int, int], w: torch.Tensor, batch: int) -> None:
        t, h, wd = grid
        if kind == "spatial":
            w = w.reshape(batch, t, *w.shape[1:])[self.batch_index]  # (T', H, S, S)
            head_dim = 1
        elif kind == "temporal":
            w = w.reshape(batch, h * wd, *w.shape[1:])[self.batch_index]  # (S, H, T', T')
            head_dim = 1
        else:
            w = w[self.batch_index]  # (H, N, N)
            head_dim = 0
        if self.heads is not None:
            w = w.index_select(head_dim, torch.as_tensor(self.heads, device=w.device))
        self.weights[name] = w.detach().to("cpu", torch.float16)
        self.meta[name] = {"kind": kind, "grid": grid}

    def nbytes(self) -> int:
        return sum(w.numel() * w.element_size() for w in self.weights.values())


#################################################################################
#                 Embedding layers for timesteps, text and patches              #
#################################################################################


def sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """(L,) positions -> (L, dim) sin-cos code, as in the Transformer and DiT."""
    assert dim % 2 == 0
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2))
    out = positions.to(torch.float64)[:, None] * omega[None]  # (L, dim/2)
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1).float()


def split_pos_dims(dim: int) -> tuple[int, int, int]:
    """How the hidden size is shared between the t, y and x codes (each even)."""
    d_t = (dim // 4) // 2 * 2
    d_y = ((dim - d_t) // 2) // 2 * 2
    d_x = dim - d_t - d_y
    assert d_x % 2 == 0, f"hidden size {dim} cannot be split into even t/y/x parts"
    return d_t, d_y, d_x


def sincos_3d(dim: int, grid: tuple[int, int, int]) -> torch.Tensor:
    """3-D positional code for a (T', h', w') token grid -> (T'*h'*w', dim), token order (t, y, x).

    Positions are integer patch indices, so the code for a grid is a prefix-consistent function of its size:
    a longer or wider video reuses the codes of the shorter one and adds new ones.
    """
    t, h, w = grid
    d_t, d_y, d_x = split_pos_dims(dim)
    et = sincos_1d(d_t, torch.arange(t))[:, None, None].expand(t, h, w, d_t)
    ey = sincos_1d(d_y, torch.arange(h))[None, :, None].expand(t, h, w, d_y)
    ex = sincos_1d(d_x, torch.arange(w))[None, None, :].expand(t, h, w, d_x)
    return torch.cat([et, ey, ex], dim=-1).reshape(t * h * w, dim)


class TimestepEmbedder(nn.Module):
    """Embeds the noise level sigma in [0, 1] into a vector (DiT's sinusoidal frequency embedding + MLP)."""

    def __init__(self, hidden_size: int, frequency_size: int = 256):
        super().__init__()
        self.frequency_size = frequency_size
        self.mlp = nn.Sequential(
            nn.Linear(frequency_size, hidden_size), nn.SiLU(), nn.Linear(hidden_size, hidden_size)
        )

    def forward(self, sigma: torch.Tensor) -> torch.Tensor:
        half = self.frequency_size // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, device=sigma.device, dtype=torch.float32) / half)
        args = (sigma.float() * 1000)[:, None] * freqs[None]
        emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
        return self.mlp(emb)


#################################################################################
#                                 Core DiT model                                #
#################################################################################


class Attention(nn.Module):
    """Multi-head self-attention with a fused fast path and a readable path that returns its weights."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        assert dim % heads == 0
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def qkv_heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, L, D) -> q, k, v each (B, H, L, d)."""
        qkv = rearrange(self.qkv(x), "b l (three h d) -> three b h l d", three=3, h=self.heads)
        return qkv[0], qkv[1], qkv[2]

    def forward(self, x: torch.Tensor, return_weights: bool = False,
                attn_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, L, D) -> (B, L, D) and, when asked, the weights (B, H, L, L). `attn_mask` (L, L) bool, True =
        may attend: only interventions (playground.inspect) pass one; None is the unchanged fast path."""
        q, k, v = self.qkv_heads(x)
        if return_weights:
            scores = (q @ k.transpose(-2, -1)) * self.scale  # (B, H, L, L)
            if attn_mask is not None:
                scores = scores.masked_fill(~attn_mask, float("-inf"))
            weights = torch.softmax(scores, dim=-1)
            out = weights @ v
        else:
            weights = None
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        out = rearrange(out, "b h l d -> b l (h d)")
        return self.proj(out), weights


class DiTBlock(nn.Module):
    """A DiT block with adaptive layer norm zero (adaLN-Zero) conditioning and one kind of attention."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, kind: str, gelu_approximate: str = "tanh"):
        super().__init__()
        self.kind = kind
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate=gelu_approximate), nn.Linear(hidden, dim))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def to_sequences(self, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        t = grid[0]
        if self.kind == "spatial":
            return rearrange(x, "b (t s) d -> (b t) s d", t=t)
        if self.kind == "temporal":
            return rearrange(x, "b (t s) d -> (b s) t d", t=t)
        return x

    def from_sequences(self, x: torch.Tensor, grid: tuple[int, int, int], batch: int) -> torch.Tensor:
        if self.kind == "spatial":
            return rearrange(x, "(b t) s d -> b (t s) d", b=batch)
        if self.kind == "temporal":
            return rearrange(x, "(b s) t d -> b (t s) d", b=batch)
        return x

    def attention_input(self, x: torch.Tensor, c: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """What this block's attention is given: the normed, adaLN-modulated tokens cut into its sequences
        (B', L, D) - the readable replays (playground.viz.arithmetic) start from here."""
        shift, scale = self.adaLN_modulation(c).chunk(6, dim=1)[:2]
        return self._attention_input(x, shift, scale, grid)

    def _attention_input(self, x, shift, scale, grid) -> torch.Tensor:
        return self.to_sequences(modulate(self.norm1(x), shift, scale), grid)  # (B', L, D)

    def forward(
        self,
        x: torch.Tensor,
        c: torch.Tensor,
        grid: tuple[int, int, int],
        capture: AttentionCapture | None = None,
        name: str = "",
        attn_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`attn_mask` (L, L) bool over this block's attention sequences (see `frame_window_mask`); None = none."""
        b = x.shape[0]
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
        h = self._attention_input(x, shift_msa, scale_msa, grid)
        want = capture is not None and capture.wants(name)
        h, weights = self.attn(h, return_weights=want, attn_mask=attn_mask)
        if want:
            capture.record(name, self.kind, grid, weights, b)
        x = x + gate_msa.unsqueeze(1) * self.from_sequences(h, grid, b)
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x


def frame_window_mask(kind: str, grid: tuple[int, int, int], window: int, device=None) -> torch.Tensor | None:
    """Attention mask (L, L) bool, True = may attend, that lets each token see only the tokens of its own and the
    `window` - 1 previous temporal groups (t_q - window < t_k <= t_q): window 1 cuts attention across time.

    For a temporal block L = T' (one sequence per place); for a joint block L = T' * h' * w' in (t, y, x) order;
    a spatial block never attends across time, so it gets None (nothing to restrict).
    """
    t = grid[0]
    if kind == "spatial":
        return None
    times = torch.arange(t, device=device)
    if kind == "joint":
        times = times.repeat_interleave(grid[1] * grid[2])
    d = times[:, None] - times[None, :]  # query time - key time
    return (d >= 0) & (d < window)


class FinalLayer(nn.Module):
    """adaLN-modulated projection from tokens back to latent patches."""

    def __init__(self, dim: int, patch_volume: int, out_channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(dim, patch_volume * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm(x), shift, scale))


def block_kinds(pattern: str, depth: int) -> list[str]:
    """Attention kind of every block: 'alternating' (spatial, temporal, ...), 'joint' or 'spatial'."""
    if pattern == "alternating":
        return ["spatial" if i % 2 == 0 else "temporal" for i in range(depth)]
    if pattern in ("joint", "spatial", "temporal"):
        return [pattern] * depth
    raise ValueError(f"unknown attention pattern {pattern!r}; choose alternating, joint, spatial or temporal")


ANCHORS = ("none", "last_observed")


def last_observed_anchor(cond_latents: torch.Tensor, cond_mask: torch.Tensor) -> torch.Tensor:
    """Each frame's most recent observed latent (at or before it); zeros before the first observed frame.

    cond_latents: (B, c, T, h, w); cond_mask: (B, T), 1 = observed. With anchor="last_observed" the network predicts
    x0 as this copy-last-frame guess plus a learned correction: the zero-initialised output layer starts the model at
    the copy-last baseline, so training spends its steps on motion rather than on redrawing a static scene.
    """
    t = cond_mask.shape[1]
    pos = torch.where(cond_mask > 0.5, torch.arange(t, device=cond_mask.device), -1)
    last = torch.cummax(pos, dim=1).values  # (B, T): index of the latest observed frame, -1 if none yet
    idx = last.clamp_min(0)[:, None, :, None, None].expand_as(cond_latents)
    return torch.gather(cond_latents, 2, idx) * (last >= 0).to(cond_latents.dtype)[:, None, :, None, None]


PRECONDITIONINGS = ("none", "edm")
# joint: one pass predicts every unobserved frame of the clip; next_chunk: the model sees `context_frames` frames
# and predicts the next chunk (one temporal patch), and the pipeline rolls it out chunk by chunk.
OBJECTIVES = ("joint", "next_chunk")


class SpacetimeDiT(ModelMixin, ConfigMixin):
    """Diffusion Transformer over spacetime patches, predicting the clean latent video (x0)."""

    _supports_gradient_checkpointing = False

    @register_to_config
    def __init__(
        self,
        latent_channels: int = 4,
        patch_size_t: int = 2,
        patch_size: int = 1,
        hidden_size: int = 192,
        depth: int = 8,
        num_heads: int = 6,
        mlp_ratio: float = 4.0,
        attention_pattern: str = "alternating",
        text_dim: int = 384,
        prediction_type: str = "sample",
        anchor: str = "none",
        precondition: str = "none",
        residual_std: float = 1.0,
        gelu_approximate: str = "tanh",
        objective: str = "joint",
        context_frames: int = 4,
        context_noise: bool = False,
        action_channels: int = 0,
    ):
        super().__init__()
        if anchor not in ANCHORS:
            raise ValueError(f"anchor must be one of {ANCHORS}, got {anchor!r}")
        if precondition not in PRECONDITIONINGS:
            raise ValueError(f"precondition must be one of {PRECONDITIONINGS}, got {precondition!r}")
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        if prediction_type != "sample":  # kept in the config for diffusers' schedulers' vocabulary
            raise ValueError(f"prediction_type must be 'sample' (the network predicts the clean latent x0), "
                             f"got {prediction_type!r}")
        if objective == "next_chunk" and context_frames < 1:
            raise ValueError(f"a next-chunk model needs context_frames >= 1, got {context_frames}")
        self.kinds = block_kinds(attention_pattern, depth)
        # noisy latent, observed latent, observed mask [, observed frames' noise level] [, action map]
        in_channels = 2 * latent_channels + 1 + int(context_noise) + action_channels
        patch = (patch_size_t, patch_size, patch_size)
        self.x_embedder = nn.Conv3d(in_channels, hidden_size, kernel_size=patch, stride=patch)
        self.t_embedder = TimestepEmbedder(hidden_size)
        self.text_embedder = nn.Sequential(nn.Linear(text_dim, hidden_size), nn.SiLU(), nn.Linear(hidden_size, hidden_size))
        # The "no text" embedding used for classifier-free guidance, learned.
        self.null_text = nn.Parameter(torch.zeros(text_dim))
        self.blocks = nn.ModuleList([DiTBlock(hidden_size, num_heads, mlp_ratio, k, gelu_approximate)
                                     for k in self.kinds])
        self.final_layer = FinalLayer(hidden_size, patch_size_t * patch_size * patch_size, latent_channels)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        def _basic_init(module):
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

        self.apply(_basic_init)
        # Patch embedding initialised like a linear layer (as in DiT), not like a convolution.
        w = self.x_embedder.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.bias)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        nn.init.normal_(self.null_text, std=0.02)
        # Zero-out adaLN modulation so every block starts as the identity (adaLN-Zero).
        for block in self.blocks:
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
        # Zero-out the output layer: the untrained model predicts x0 = 0 (the data mean), or, anchored, the last
        # observed frame.
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].weight)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.linear.weight)
        nn.init.zeros_(self.final_layer.linear.bias)

    def capture_names(self) -> list[str]:
        """Stable names of the capture points, one per block: 'blocks.{i}.attn'."""
        return [f"blocks.{i}.attn" for i in range(len(self.blocks))]

    def token_grid(self, frames: int, height: int, width: int) -> tuple[int, int, int]:
        """Token grid (T', h', w') for a latent video of (frames, height, width)."""
        pt, p = self.config.patch_size_t, self.config.patch_size
        return (math.ceil(frames / pt), height // p, width // p)

    def embed(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor,
        text_embeds: torch.Tensor | None = None,
        cond_latents: torch.Tensor | None = None,
        cond_mask: torch.Tensor | None = None,
        cond_sigma: torch.Tensor | None = None,
        actions: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int, int]]:
        """Inputs -> tokens (B, N, D) with positions, the conditioning vector (B, D) and the token grid.

        Shared by `forward` and the app's replay of one block's attention arithmetic.
        """
        b, c, t, h, w = sample.shape
        pt, p = self.config.patch_size_t, self.config.patch_size
        if h % p or w % p:
            raise ValueError(f"latent height and width must be multiples of the patch size {p}, got {h}x{w}")
        if cond_mask is None:
            cond_mask = sample.new_zeros(b, t)
            cond_latents = torch.zeros_like(sample)
        mask = cond_mask.to(sample.dtype)[:, None, :, None, None].expand(b, 1, t, h, w)
        parts = [sample, cond_latents * mask, mask]
        if self.config.context_noise:
            s = sample.new_zeros(b, t) if cond_sigma is None else cond_sigma.to(sample.dtype)
            parts.append((s * cond_mask.to(sample.dtype))[:, None, :, None, None].expand(b, 1, t, h, w))
        if self.config.action_channels:
            a = self.config.action_channels
            parts.append(sample.new_zeros(b, a, t, h, w) if actions is None else actions.to(sample.dtype))
        elif actions is not None:
            raise ValueError("this model takes no actions (action_channels = 0)")
        x = torch.cat(parts, dim=1)  # (B, 2c+1 [+1] [+A], T, h, w)
        pad = (-t) % pt
        if pad:  # e.g. a single image with a temporal patch of 2: pad time, crop after
            x = F.pad(x, (0, 0, 0, 0, 0, pad))
        grid = self.token_grid(t, h, w)

        x = rearrange(self.x_embedder(x), "b d t h w -> b (t h w) d")  # (B, N, D)
        x = x + sincos_3d(self.config.hidden_size, grid).to(x.device, x.dtype)[None]

        if text_embeds is None:
            text_embeds = self.null_text[None].expand(b, -1)
        else:
            is_null = (text_embeds.abs().sum(dim=1, keepdim=True) == 0).to(text_embeds.dtype)
            text_embeds = text_embeds * (1 - is_null) + self.null_text[None] * is_null
        cond = self.t_embedder(timestep.reshape(-1).expand(b)) + self.text_embedder(text_embeds)  # (B, D)
        return x, cond, grid

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor,
        text_embeds: torch.Tensor | None = None,
        cond_latents: torch.Tensor | None = None,
        cond_mask: torch.Tensor | None = None,
        capture: AttentionCapture | None = None,
        cond_sigma: torch.Tensor | None = None,
        actions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the clean latent video.

        sample: (B, c, T, h, w) noisy latents; timestep: (B,) noise level sigma in [0, 1];
        text_embeds: (B, text_dim) or None (= the null text); rows that are all zero also mean "no text";
        cond_latents: (B, c, T, h, w) clean latents of observed frames (anything where unobserved);
        cond_mask: (B, T) 1 where a frame is observed; cond_sigma: (B, T) the noise level the observed frames
        carry (context_noise models; None = clean); actions: (B, A, T, h, w) action maps (action_channels models;
        None = no action). Returns x0: (B, c, T, h, w), the network's output combined
        with the last observed frame and the noisy input as `skip` describes (plain x0 without anchor and
        preconditioning).
        """
        t = sample.shape[2]
        pt, p = self.config.patch_size_t, self.config.patch_size
        x, cond, grid = self.embed(sample, timestep, text_embeds, cond_latents, cond_mask, cond_sigma, actions)

        for i, block in enumerate(self.blocks):
            x = block(x, cond, grid, capture, f"blocks.{i}.attn")

        x = self.final_layer(x, cond)  # (B, N, pt*p*p*c)
        x = rearrange(
            x, "b (t h w) (pt ph pw c) -> b c (t pt) (h ph) (w pw)",
            t=grid[0], h=grid[1], w=grid[2], pt=pt, ph=p, pw=p,
        )
        x = x[:, :, :t]  # the network's output F: (B, c, T, h, w)
        base, c_skip, c_out = self.skip(sample, timestep, cond_latents, cond_mask)
        if self.config.precondition == "none":
            return x + base
        return base + c_skip * (sample - (1 - self._sigma(timestep, sample)) * base) + c_out * x

    @staticmethod
    def _sigma(timestep: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        return timestep.reshape(-1).to(sample.dtype).expand(sample.shape[0])[:, None, None, None, None]

    def skip(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor,
        cond_latents: torch.Tensor | None = None,
        cond_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | float, torch.Tensor | float]:
        """What the x0 prediction is made of besides the network: x0 = base + c_skip * (x_t - (1 - sigma) base)
        + c_out * F.

        base: the last observed frame's latent with anchor="last_observed", else 0. With precondition="edm",
        c_skip and c_out come from `skip_coefficients` with the residual's standard deviation `residual_std`
        where a frame has an anchor and 1 (the latents' own scale) where it has none; otherwise c_skip = 0 and
        c_out = 1, the plain x0 predictor. The training loss divides by c_out (playground.train.dit_loss).
        """
        anchored = self.config.anchor == "last_observed" and cond_mask is not None
        base = last_observed_anchor(cond_latents, cond_mask) if anchored else torch.zeros_like(sample)
        if self.config.precondition == "none":
            return base, 0.0, 1.0
        if anchored:
            has_base = (torch.cummax(cond_mask, dim=1).values > 0.5).to(sample.dtype)[:, None, :, None, None]
        else:
            has_base = sample.new_zeros(sample.shape[0], 1, sample.shape[2], 1, 1)
        residual_std = 1 + (self.config.residual_std - 1) * has_base  # (B, 1, T, 1, 1)
        return (base, *skip_coefficients(self._sigma(timestep, sample), residual_std))


#################################################################################
#                                   Configs                                     #
#################################################################################


# Named sizes (width, depth, heads): TrainConfig.dit_size picks one; patch size, latent channels and objective
# are set apart from the size.
DIT_SIZES: dict[str, dict[str, int]] = {
    "XS": {"hidden_size": 32, "depth": 2, "num_heads": 2},  # the tiny training config's: seconds per run
    "tiny": {"hidden_size": 48, "depth": 2, "num_heads": 2},  # unit tests
    "S": {"hidden_size": 128, "depth": 8, "num_heads": 4},  # TrainConfig's default
}


def SpacetimeDiT_tiny(**kw) -> SpacetimeDiT:
    """A small model for unit tests (DIT_SIZES["tiny"])."""
    return SpacetimeDiT(**{**DIT_SIZES["tiny"], **kw})


def SpacetimeDiT_S(**kw) -> SpacetimeDiT:
    """DIT_SIZES["S"], the size TrainConfig trains unless told otherwise; patch size, latent channels and objective
    are the caller's."""
    return SpacetimeDiT(**{**DIT_SIZES["S"], **kw})


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "ANCHORS",
    "DIT_SIZES",
    "PRECONDITIONINGS",
    "ATTENTION_KINDS",
    "OBJECTIVES",
    "AttentionCapture",
    "SpacetimeDiT",
    "SpacetimeDiT_S",
    "SpacetimeDiT_tiny",
    "count_parameters",
    "frame_window_mask",
    "last_observed_anchor",
    "sincos_3d",
]
