"""Model-stack benchmark: default clip time, attention capture overhead, and our DiT against diffusers' Latte.

    python bench/bench_model.py [--model models/worldsim-s] [--repeats 5] [--against OTHER_MODEL_DIR]

--against times another model folder's default clip in the same interleaved loop (e.g. an earlier shipped model,
unpacked with `git archive REV models/worldsim-s | tar -x -C /tmp/old`), so the two clip times are comparable.

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
    args = ap.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    pipe = WorldSimPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    dit = pipe.transformer
    f, h, w = pipe.defaults["frames"], pipe.defaults["height"], pipe.defaults["width"]
    prompt = "two balls collide"
    pipe(prompt, num_inference_steps=1)  # load the text encoder, fill caches

    def clip(trace=None):
        return lambda: pipe(prompt, num_frames=f, height=h, width=w, num_inference_steps=20, guidance_scale=2.0,
                            generator=torch.Generator().manual_seed(0), trace=trace)

    every = TraceConfig(latents=True, attention_steps=list(range(20)))
    three = TraceConfig(latents=True, attention_steps=[0, 10, 19])
    fns = {"off": clip(), "3 steps": clip(three), "all 20 steps": clip(every)}
    if args.against:
        other = WorldSimPipeline.from_pretrained(args.against)
        other.set_progress_bar_config(disable=True)
        fns["against"] = lambda: other(prompt, num_frames=f, height=h, width=w, num_inference_steps=20,
                                       guidance_scale=2.0, generator=torch.Generator().manual_seed(0))
    t = interleaved(fns, args.repeats)
    print(f"\n## Default clip: {f} frames at {h}x{w}, 20 {sampler_name(pipe)} steps, guidance 2.0 (CFG batch 2), "
          f"DiT {count_parameters(dit) / 1e6:.2f}M params, {dit.token_grid(f, h // pipe.vae.spatial_compression, w // pipe.vae.spatial_compression)} token grid")
    print(f"end to end (prompt enrichment, text encoding, sampling, decoding): {t['off']:.3f} s (goal <= 1.5 s)")
    print(f"attention capture on at 3 steps / off:  {t['3 steps'] / t['off']:.3f}x (goal <= 1.15x)")
    print(f"attention capture on at every step / off: {t['all 20 steps'] / t['off']:.3f}x")
    if args.against:
        print(f"{args.against}, same clip in the same loop: {t['against']:.3f} s; this model / that one: "
              f"{t['off'] / t['against']:.3f}x")

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
