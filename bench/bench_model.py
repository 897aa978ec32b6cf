"""Model-stack benchmark: default clip time, time to the first chunk, steps per chunk, attention capture overhead,
the training step, and our DiT against diffusers' Latte.

    python bench/bench_model.py [--model models/worldsim-s] [--repeats 5] [--against OTHER_MODEL_DIR] [--steps N]
                                [--compile]

--against times another model folder's default clip in the same interleaved loop (e.g. an earlier shipped model,
unpacked with `git archive REV models/worldsim-s | tar -x -C /tmp/old`), so the two clip times are comparable.
--compile also times the same clips through a second copy of the pipeline with its DiT torch.compile'd
(`WorldSimPipeline.compile_transformer`, every shape compiled in a warm-up first).

All ratios are measured in this one run, interleaved, so machine noise hits both sides alike. Do not run while
another heavy job (e.g. training) is running.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.diffusion.sampler import sampler_name  # noqa: E402
from playground.paths import DEFAULT_MODEL_DIR  # noqa: E402
from playground.models.dit import SpacetimeDiT, count_parameters  # noqa: E402
from playground.pipeline import TraceConfig, WorldSimPipeline  # noqa: E402
from playground.world import sample_clip  # noqa: E402


def _train_step(pipe):
    """A closure running one training step of a copy of pipe's DiT on random latents of its training window."""
    import copy

    from playground.diffusion.flow import logit_normal_sigmas
    from playground.train import dit_loss

    model = copy.deepcopy(pipe.transformer).train().requires_grad_(True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    c = model.config
    f, h, w = pipe.defaults["frames"], pipe.defaults["height"], pipe.defaults["width"]
    fac = pipe.vae.spatial_compression
    T = c.context_frames + c.patch_size_t if pipe.rolls_out else f
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(16, c.latent_channels, T, h // fac, w // fac, generator=g)
    mask = torch.zeros(16, T)
    mask[:, :4 if not pipe.rolls_out else c.context_frames] = 1
    sigma_c = torch.zeros(16, T) if c.get("context_noise", False) else None
    acts = torch.zeros(16, c.action_channels, T, h // fac, w // fac) if c.get("action_channels", 0) else None
    text = torch.randn(16, 384, generator=g)

    def step():
        loss = dit_loss(model, x0, text, mask, logit_normal_sigmas(16, g), torch.randn(x0.shape, generator=g),
                        cond_sigma=sigma_c, actions=acts)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def interleaved(fns: dict, repeats: int) -> dict:
    for f in fns.values():
        f()
    ts = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            ts[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in ts.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(DEFAULT_MODEL_DIR))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--against", help="another model folder to time end to end in the same loop")
    ap.add_argument("--steps", type=int, default=None,
                    help="denoising steps (default: 4 per chunk for a next-chunk model, 20 for a joint one)")
    ap.add_argument("--compile", action="store_true", help="also time the clips with the DiT torch.compile'd")
    args = ap.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    pipe = WorldSimPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    dit = pipe.transformer
    f, h, w = pipe.defaults["frames"], pipe.defaults["height"], pipe.defaults["width"]
    prompt = "two balls collide"
    pipe(prompt, num_inference_steps=1)  # load the text encoder, fill caches

    steps = args.steps or (4 if pipe.rolls_out else 20)
    obs = sample_clip("mixed", "train", seed=0, n_frames=f, height=h, width=w).frames[:4]
    first_chunk = []

    def clip(trace=None, n=steps, model=pipe, observed=None):
        def run():
            t0 = time.perf_counter()
            first = []
            cb = (lambda d: first.append(time.perf_counter() - t0) if not first else None) if model.rolls_out else None
            model(prompt, observed_frames=observed, num_frames=f, height=h, width=w, num_inference_steps=n,
                  guidance_scale=2.0, generator=torch.Generator().manual_seed(0), trace=trace,
                  callback_on_chunk_end=cb)
            if first and model is pipe and trace is None and n == steps and observed is None:
                first_chunk.append(first[0])
        return run

    total = steps * (pipe.num_chunks(f, 0) if pipe.rolls_out else 1)
    every = TraceConfig(latents=True, attention_steps=list(range(total)))
    three = TraceConfig(latents=True, attention_steps=[0, total // 2, total - 1])
    fns = {"off": clip(), "3 steps": clip(three), "every step": clip(every), "observed": clip(observed=obs)}
    if args.against:
        other = WorldSimPipeline.from_pretrained(args.against)
        other.set_progress_bar_config(disable=True)
        fns["against"] = clip(model=other, n=20)
    if args.compile:
        comp = WorldSimPipeline.from_pretrained(args.model)
        comp.set_progress_bar_config(disable=True)
        comp.compile_transformer()
        t0 = time.perf_counter()
        clip(model=comp)()
        clip(model=comp, observed=obs)()
        print(f"compiling the DiT for the default clip's shapes: {time.perf_counter() - t0:.1f} s")
        fns["compiled"], fns["compiled observed"] = clip(model=comp), clip(model=comp, observed=obs)
    t = interleaved(fns, args.repeats)
    kind = (f"rolled out {pipe.num_chunks(f, 0)} chunks of {dit.config.patch_size_t} frames, {steps} "
            f"{sampler_name(pipe)} steps per chunk" if pipe.rolls_out else f"{steps} {sampler_name(pipe)} steps")
    print(f"\n## Default clip: {f} frames at {h}x{w}, text only, {kind}, guidance 2.0 (CFG batch 2), "
          f"DiT {count_parameters(dit) / 1e6:.2f}M params, {dit.token_grid(f, h // pipe.vae.spatial_compression, w // pipe.vae.spatial_compression)} token grid")
    print(f"end to end (prompt enrichment, text encoding, sampling, decoding): {t['off']:.3f} s (goal <= 1.0 s)")
    print(f"from 4 observed frames: {t['observed']:.3f} s")
    if args.compile:
        print(f"torch.compile'd DiT: {t['compiled']:.3f} s text only, {t['compiled observed']:.3f} s from 4 observed "
              f"({t['compiled'] / t['off']:.2f}x / {t['compiled observed'] / t['observed']:.2f}x the eager time)")
    if first_chunk:
        print(f"first chunk out (decoded) after {statistics.median(first_chunk):.3f} s (goal <= 0.3 s)")
    print(f"attention capture on at 3 steps / off:  {t['3 steps'] / t['off']:.3f}x (goal <= 1.15x)")
    print(f"attention capture on at every step / off: {t['every step'] / t['off']:.3f}x")
    if args.against:
        print(f"{args.against}, same clip (20 steps) in the same loop: {t['against']:.3f} s; this model / that one: "
              f"{t['off'] / t['against']:.3f}x")
    if pipe.rolls_out:
        sweep = interleaved({n: clip(n=n) for n in (1, 2, 4, 8, 20)}, max(1, args.repeats // 2))
        print("steps per chunk -> clip time: " + ", ".join(f"{n}: {v:.3f} s" for n, v in sweep.items()))

    # One training step (batch 16, forward + backward + AdamW) at the model's own objective and window.
    print("\n## Training step (batch 16, the model's objective)")
    steps_t = {"this": _train_step(pipe)}
    if args.against:
        steps_t["against"] = _train_step(other)
    t = interleaved(steps_t, args.repeats)
    print(f"this model: {t['this'] * 1000:.0f} ms per step" + (
        f"; {args.against}: {t['against'] * 1000:.0f} ms; ratio {t['this'] / t['against']:.2f}x"
        if args.against else ""))

    # Our DiT against diffusers' LatteTransformer3DModel of about the same size on the same latent video.
    from diffusers import LatteTransformer3DModel

    c = dit.config
    fac = pipe.vae.spatial_compression
    lat = torch.randn(2, c.latent_channels, f, h // fac, w // fac)
    latte = LatteTransformer3DModel(
        num_attention_heads=c.num_heads, attention_head_dim=c.hidden_size // c.num_heads, in_channels=c.latent_channels,
        out_channels=c.latent_channels, num_layers=c.depth // 2, sample_size=h // fac, patch_size=c.patch_size,
        cross_attention_dim=c.hidden_size, caption_channels=384, video_length=f, norm_type="ada_norm_single",
        activation_fn="gelu" if c.get("gelu_approximate", "tanh") == "none" else "gelu-approximate",  # as ours
    ).eval()
    ours_joint_patch1 = SpacetimeDiT(**{**dict(c), "patch_size_t": 1}).eval()
    text = torch.randn(2, 384)
    caption = torch.randn(2, 1, 384)
    sigma = torch.full((2,), 0.5)
    with torch.no_grad():
        t = interleaved({
            "ours": lambda: dit(lat, sigma, text),
            "ours_pt1": lambda: ours_joint_patch1(lat, sigma, text),
            "latte": lambda: latte(lat, timestep=torch.full((2,), 500), encoder_hidden_states=caption,
                                   return_dict=False),
        }, args.repeats * 2)
    n_ours = dit.token_grid(f, h // pipe.vae.spatial_compression, w // pipe.vae.spatial_compression)
    print(f"\n## DiT forward, batch 2, latent {tuple(lat.shape[1:])}")
    print(f"ours (patch {c.patch_size_t}x{c.patch_size}x{c.patch_size}, {n_ours[0] * n_ours[1] * n_ours[2]} tokens, "
          f"{count_parameters(dit) / 1e6:.2f}M): {t['ours'] * 1000:.1f} ms")
    n_frame = (h // fac // c.patch_size) * (w // fac // c.patch_size)  # spatial tokens per frame
    print(f"ours with temporal patch 1 ({f * n_frame} tokens, {count_parameters(ours_joint_patch1) / 1e6:.2f}M):"
          f" {t['ours_pt1'] * 1000:.1f} ms")
    print(f"diffusers LatteTransformer3DModel ({f * n_frame} tokens, {count_parameters(latte) / 1e6:.2f}M, "
          f"caption cross-attention): {t['latte'] * 1000:.1f} ms")
    print(f"ratio ours / Latte: {t['ours'] / t['latte']:.2f}x; same token count (ours pt=1 / Latte): "
          f"{t['ours_pt1'] / t['latte']:.2f}x")


if __name__ == "__main__":
    main()
