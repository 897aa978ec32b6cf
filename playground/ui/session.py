"""What the app holds: one `AppContext` per process (the pipeline, where videos go) and, per browser session,
the last `GenResult` in a `gr.State` (never a global: concurrent users each see their own run)."""

from __future__ import annotations

import queue
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..enrich import EnrichedPrompt
from ..pipeline import LIMITS, SamplingTrace, TraceConfig, WorldSimPipeline
from ..video import write_mp4
from ..viz.frames import frame_strip, pixel_difference, strip_layout
from .inputs import as_bool, as_float, as_int, check_prompt
from .trained import TrainedSizes

MODEL = "model"  # the concurrency_id every listener that runs the model shares


@dataclass
class AppContext:
    """Process-wide, read-only after start: the pipeline and the folder videos are written to."""

    pipe: WorldSimPipeline
    model_dir: str
    out_dir: Path
    concurrency_limit: int = 2
    trained: TrainedSizes | None = None  # what the model was trained on (from training.json)

    def __post_init__(self):
        if self.trained is None:
            self.trained = TrainedSizes.load(self.model_dir, self.pipe.defaults)

    def new_path(self, suffix: str) -> Path:
        return self.out_dir / f"{uuid.uuid4().hex[:12]}{suffix}"

    @classmethod
    def load(cls, model_dir: str, concurrency_limit: int = 2, precision: str = "fp32",
             compile: bool = False) -> "AppContext":
        """precision: the DiT's on the CPU (WorldSimPipeline.set_precision); the app's command line takes "auto".
        compile: torch.compile the DiT and warm it on a Play game before serving (`warm_compiled`).
        Loaded on the app's model thread (playground.ui.worker), where its handlers will run it."""
        from .worker import MODEL_THREAD

        return MODEL_THREAD.run(cls._load, model_dir, concurrency_limit, precision, compile)

    @classmethod
    def _load(cls, model_dir: str, concurrency_limit: int, precision: str, compile: bool) -> "AppContext":
        pipe = WorldSimPipeline.from_pretrained(model_dir)
        pipe.set_progress_bar_config(disable=True)
        pipe.set_precision(precision)
        if compile:
            pipe.compile_transformer()
            print(f"compiled the DiT for Play in {warm_compiled(pipe):.1f} s"
                  + ("" if pipe.compiled else " (compiling failed: sampling eagerly)"), flush=True)
        out = Path(tempfile.mkdtemp(prefix="worldsim-app-"))
        return cls(pipe, str(model_dir), out, concurrency_limit)


def warm_compiled(pipe: WorldSimPipeline) -> float:
    """Compile the shapes a Play game runs (the model's size, 4 frames observed, Play's default guidance, the
    kicks' action maps) by playing two chunks of one, then freeze the compiled transformer: a click never waits
    for a compile, other shapes (Generate's text-only start, other sizes) run eagerly. Returns the seconds."""
    from .. import play
    from ..world.families import sample_scene

    t = time.perf_counter()
    scene = sample_scene("mixed", "train", np.random.default_rng(0), 16)
    game = play.start(pipe, scene, observed=4, height=pipe.defaults["height"], width=pipe.defaults["width"])
    play.step(pipe, game, 2)
    pipe.freeze_compiled()
    return time.perf_counter() - t


@dataclass
class GenSettings:
    """Everything that determines a sampled video (same settings -> same video, bit for bit)."""

    prompt: str = ""
    num_frames: int = 16
    height: int = 32
    width: int = 32
    steps: int = 20
    guidance: float = 2.0
    seed: int = 0
    observed: np.ndarray | None = None  # (k, H, W, 3) uint8
    observed_source: str = "none"
    enrich: bool = True  # expand the prompt into the training caption style

    def checked(self, pipe: WorldSimPipeline) -> "GenSettings":
        """Coerce and validate every field (ValueError with a user-facing message)."""
        lo, hi = LIMITS["guidance"]
        s = replace(
            self,
            prompt=check_prompt(self.prompt),
            num_frames=as_int("frames", self.num_frames, *LIMITS["frames"]),
            height=as_int("height", self.height, *LIMITS["height"]),
            width=as_int("width", self.width, *LIMITS["width"]),
            steps=as_int("steps", self.steps, *LIMITS["steps"]),
            guidance=as_float("guidance", self.guidance, lo, hi),
            seed=as_int("seed", self.seed, 0, 2**31 - 1),
            enrich=as_bool("enrich prompt", self.enrich),
        )
        f = pipe.spatial_factor
        if s.height % f or s.width % f:
            raise ValueError(f"resolution: height and width must be multiples of {f}, got {s.height}x{s.width}")
        if s.observed is not None:
            if s.observed.shape[0] > s.num_frames:
                raise ValueError(f"observed frames: {s.observed.shape[0]} do not fit in a {s.num_frames}-frame video; "
                                 "observe fewer frames or generate more")
            if s.observed.shape[1:3] != (s.height, s.width):
                raise ValueError(f"observed frames: they are {s.observed.shape[1]}x{s.observed.shape[2]}, the video "
                                 f"is {s.height}x{s.width}")
        return s

    def summary(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "observed"}
        d["observed_frames"] = 0 if self.observed is None else int(self.observed.shape[0])
        return d


@dataclass
class GenResult:
    """One sampled video and its trace, kept per session for the Patches, Attention and Latents tabs."""

    settings: GenSettings
    enriched: EnrichedPrompt
    frames: np.ndarray  # (T, H, W, 3) uint8
    latents: torch.Tensor  # (c, T, h, w) final latents
    trace: SamplingTrace | None
    seconds: float
    video_path: str = ""
    cache: dict = field(default_factory=dict)  # derived views (decoded trajectory), filled on demand
    trace_note: str = ""  # how the trace was cut down to fit its memory bound ("" when it was not)

    def summary(self) -> dict:
        tr = self.trace
        return {
            **self.settings.summary(),
            "enriched_prompt": self.enriched.text, "enrichment": self.enriched.source,
            "enrichment_added": list(self.enriched.added),
            "similarity": round(float(self.enriched.similarity), 4), "seconds": round(self.seconds, 3),
            "video": self.video_path,
            "trace": None if tr is None else {
                "attention_steps": sorted(tr.attention),
                "layers": sorted(tr.attention_meta), "token_grid": list(tr.token_grid),
                "latent_steps": len(tr.latents), "bytes": tr.nbytes(), "reduced": self.trace_note or None},
        }


def total_steps(pipe: WorldSimPipeline, s: GenSettings) -> int:
    """Denoising steps of a run, all chunks together (a next-chunk model denoises every chunk in s.steps steps)."""
    n_obs = 0 if s.observed is None else s.observed.shape[0]
    return s.steps * (pipe.num_chunks(s.num_frames, n_obs) if pipe.rolls_out else 1)


def default_attention_steps(steps: int) -> list[int]:
    """First, middle and last denoising step."""
    return sorted({0, steps // 2, steps - 1})


def fit_trace(pipe: WorldSimPipeline, cfg: TraceConfig, s: GenSettings) -> tuple[TraceConfig, str]:
    """Cut a trace request down until it fits `cfg.max_bytes`, instead of failing: attention at fewer steps (the
    last requested one), then fewer layers (the first ones), then fewer heads, then no per-step latents.
    Returns the config and a sentence saying what was left out ("" when nothing was)."""
    f = pipe.vae.spatial_compression
    shape = (pipe.vae.config.latent_channels, s.num_frames, s.height // f, s.width // f)
    full = pipe.estimate_trace_bytes(cfg, shape, total_steps(pipe, s))
    if full <= cfg.max_bytes:
        return cfg, ""

    def fits(c):
        return pipe.estimate_trace_bytes(c, shape, total_steps(pipe, s)) <= cfg.max_bytes

    names = pipe.transformer.capture_names()
    heads = list(range(pipe.transformer.config.num_heads))
    steps = sorted(set(cfg.attention_steps))[-1:]
    tries = [replace(cfg, attention_steps=steps)]
    tries += [replace(cfg, attention_steps=steps, attention_layers=names[:n]) for n in range(len(names) - 1, 0, -1)]
    tries += [replace(cfg, attention_steps=steps, attention_layers=names[:1], attention_heads=heads[:n])
              for n in range(len(heads) - 1, 0, -1)]
    tries += [replace(cfg, attention_steps=[], attention_layers=None, attention_heads=None),
              replace(cfg, latents=False, attention_steps=[])]
    chosen = next((c for c in tries if fits(c)), tries[-1])
    kept = []
    if chosen.attention_steps:
        layers = chosen.attention_layers or names
        kept.append(f"attention at step {chosen.attention_steps[0]} only, {len(layers)} of {len(names)} layers"
                    + (f", {len(chosen.attention_heads)} of {len(heads)} heads" if chosen.attention_heads else ""))
    else:
        kept.append("no attention")
    kept.append("per-step latents" if chosen.latents else "no per-step latents")
    return chosen, (f"the full trace would need about {full / 2**20:.0f} MiB, over the {cfg.max_bytes / 2**20:.0f} MiB "
                    f"bound, so it keeps {' and '.join(kept)}")


def sample(ctx: AppContext, s: GenSettings, attention_steps: list[int] | None = None, on_step=None,
           trace: bool = True) -> GenResult:
    """Run the pipeline for settings already `checked`; `on_step(step, num_steps, x0)` after every step. The trace
    is sized to fit its memory bound (`fit_trace`); what it left out is in the result's `trace_note`."""
    pipe = ctx.pipe
    cfg, note = None, ""
    if trace:
        cfg = TraceConfig(latents=True, attention_steps=default_attention_steps(total_steps(pipe, s))
                          if attention_steps is None else list(attention_steps))
        cfg, note = fit_trace(pipe, cfg, s)

    def on_step_end(pipe, step, timestep, kwargs):
        on_step(step, pipe.num_timesteps, kwargs["video_x0"])
        return kwargs
    t0 = time.perf_counter()
    out = pipe(s.prompt, observed_frames=s.observed, num_frames=s.num_frames, height=s.height, width=s.width,
               num_inference_steps=s.steps, guidance_scale=s.guidance, enrich_prompt=s.enrich,
               generator=torch.Generator().manual_seed(s.seed), trace=cfg,
               callback_on_step_end=None if on_step is None else on_step_end,
               callback_on_step_end_tensor_inputs=["video_x0"])
    enriched = out.prompts[0]
    if not s.enrich and enriched.text:
        enriched = replace(enriched, source="off")
    return GenResult(s, enriched, out.frames[0], out.latents[0], out.trace, time.perf_counter() - t0,
                     trace_note=note)


def stream(ctx: AppContext, s: GenSettings, preview_every: float = 0.0):
    """Sample on the app's model thread (playground.ui.worker; on a thread of its own when called from that thread);
    yield ("preview", step, num_steps, image) with a step's decoded x0 prediction - the first step's, then one at
    most every `preview_every` seconds, and none while the consumer has the last still to take (it would come
    stale) - then ("done", result)."""
    q: queue.Queue = queue.Queue()
    layout = strip_layout(s.num_frames, s.height, s.width, max_width=900)
    stop = threading.Event()  # set when the consumer goes away (the client cancelled or disconnected)
    last_preview = None  # when the last preview was decoded

    def on_step(step, n, x0):
        nonlocal last_preview
        if stop.is_set():
            raise Cancelled("the request was cancelled")  # ends the sampling at this step
        now = time.perf_counter()
        if not q.empty() or (last_preview is not None and now - last_preview < preview_every):
            return  # the consumer has the last preview still to take, or had one a moment ago: no decode
        last_preview = now
        q.put(("preview", step, n, frame_strip(ctx.pipe.decode_latents(x0[:1])[0], layout)))

    def work():
        try:
            q.put(("done", sample(ctx, s, on_step=on_step)))
        except BaseException as e:  # handed to the consumer, which raises it in the request's thread
            q.put(("error", e))

    from .worker import MODEL_THREAD

    if MODEL_THREAD.is_current():  # called from a handler on the model thread: sample beside it
        threading.Thread(target=work, daemon=True, name="worldsim-sample").start()
    else:  # the app's way (generate's handler feeds_model_thread): sample on the model thread, report from here
        MODEL_THREAD.start(work)
    try:
        while True:
            item = q.get()
            while item[0] == "preview" and not q.empty():
                item = q.get()  # only the newest preview matters
            if item[0] == "error":
                raise item[1]
            yield item
            if item[0] == "done":
                return
    finally:  # a cancelled request closes this generator: the worker stops at its next step
        stop.set()


class Cancelled(Exception):
    """Raised inside a sampling run whose request went away."""


def finish(ctx: AppContext, r: GenResult) -> GenResult:
    """Write the result's browser-playable video."""
    r.video_path = str(write_mp4(r.frames, ctx.new_path(".mp4")))
    return r


def replace_result_trace(r: GenResult, extra: GenResult, step: int) -> GenResult:
    """Merge the attention captured at `step` by a re-run with identical settings into `r`. The re-run is the same
    sampling up to float rounding (captured layers take the readable softmax path instead of the fused kernel), so
    its maps describe `r`'s video; the largest pixel difference between the two runs is kept in
    `r.cache["recapture_max_pixel_diff"]`."""
    diff = int(pixel_difference(extra.frames, r.frames).max())
    r.trace.attention[step] = extra.trace.attention[step]
    r.trace.attention_meta.update(extra.trace.attention_meta)
    r.trace.inputs[step] = extra.trace.inputs[step]
    r.cache["recapture_max_pixel_diff"] = max(diff, r.cache.get("recapture_max_pixel_diff", 0))
    return r
