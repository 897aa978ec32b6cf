"""Latents tab: the autoencoder's latent channels frame by frame, the denoising trajectory as a steps x frames
grid with a step scrubber, a PCA of latent pixels coloured by frame, and two runs that differ in one thing."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import gradio as gr
import plotly.graph_objects as go
import torch

from ..pipeline import LIMITS
from ..video import write_mp4
from ..viz.frames import frame_strip, hstack_videos, pixel_difference, scale_for, upscale
from ..viz.latents import channel_grid, pca_figure, trajectory_grid
from .events import action
from .inputs import as_float, as_int, check_prompt
from .session import MODEL, AppContext, GenResult, sample

NO_RUN = "Generate a video first: these views show your last run."
COMPARE = ("seed", "prompt", "guidance")


def decoded_trajectory(ctx: AppContext, r: GenResult, which: str) -> np.ndarray:
    """Decoded x_t or x0 prediction at every step (S, T, H, W, 3), cached on the result."""
    key = f"traj_{which}"
    if key not in r.cache:
        seq = r.trace.x0 if which == "x0" else r.trace.latents
        lat = torch.stack([t.float() for t in seq])  # (S, c, T, h, w)
        r.cache[key] = np.concatenate([ctx.pipe.decode_latents(lat[i:i + 8]) for i in range(0, len(lat), 8)])
    return r.cache[key]


def build(ctx: AppContext, result: gr.State) -> dict:
    with gr.Row():
        which = gr.Radio(["x0", "x_t"], value="x0", label="Trajectory of (x0 = the model's clean prediction, "
                         "x_t = the noisy sample)")
        step = gr.Slider(0, 99, value=0, step=1, label="Step (scrub)", elem_id="lat-step")
        dims = gr.Radio([2, 3], value=3, label="PCA dimensions")
        show = gr.Button("Show", variant="primary", elem_id="lat-button")
    status = gr.Markdown("", elem_id="lat-status")
    with gr.Row():
        traj = gr.Image(label="Denoising trajectory: rows = steps, columns = frames (yellow = chosen step)",
                        format="png", interactive=False)
        with gr.Column():
            at_step = gr.Image(label="Chosen step, decoded", format="png", interactive=False)
            channels = gr.Image(label="Latent channels (rows) per frame (columns), final latents", format="png",
                                interactive=False)
    pca_plot = gr.Plot(label="PCA of latent pixels")
    gr.Markdown("**Compare two runs that differ in one thing** (run A = your last run)")
    with gr.Row():
        what = gr.Radio(list(COMPARE), value="seed", label="Change")
        value = gr.Textbox(value="1", label="New value for run B (a seed, a prompt or a guidance scale)")
        compare = gr.Button("Run B and compare")
    cmp_status = gr.Markdown("", elem_id="lat-cmp-status")
    cmp_video = gr.Video(label="run A | run B | |A - B|", autoplay=True, loop=True, interactive=False)
    with gr.Row():
        cmp_strip = gr.Image(label="A (top) and B (bottom)", format="png", interactive=False)
        cmp_plot = gr.Plot(label="Per-frame latent distance")

    def latents_view(r, which, step, dims):
        if r is None or r.trace is None:
            raise ValueError(NO_RUN)
        if not r.trace.latents:
            raise ValueError(f"this run recorded no per-step latents ({r.trace_note or 'trace off'})")
        if which not in ("x0", "x_t"):
            raise ValueError(f"trajectory of must be 'x0' or 'x_t', got {which!r}")
        S = len(r.trace.latents)
        step = as_int(f"step (the run has {S} steps)", step, 0, S - 1)
        dims = as_int("PCA dimensions", dims, 2, 3)
        dec = decoded_trajectory(ctx, r, which)
        grid = trajectory_grid(dec, step, scale=scale_for(*dec.shape[2:4], 32))
        return (grid, frame_strip(dec[step]), channel_grid(r.latents.float().numpy()),
                pca_figure(r.latents.float().numpy(), dims, f"final latents of the run (seed {r.settings.seed})"),
                gr.update(maximum=S - 1, value=step), "")

    outs = [traj, at_step, channels, pca_plot, step]
    action([show.click, step.release], latents_view, [result, which, step, dims], outs, status, "latents")

    def compare_fn(r, what, value):
        if r is None:
            raise ValueError(NO_RUN)
        s = r.settings
        if what == "seed":
            b = replace(s, seed=as_int("seed", value, 0, 2**31 - 1))
        elif what == "prompt":
            b = replace(s, prompt=check_prompt(value))
        elif what == "guidance":
            b = replace(s, guidance=as_float("guidance", value, *LIMITS["guidance"]))
        else:
            raise ValueError(f"change must be one of {', '.join(COMPARE)}, got {what!r}")
        rb = sample(ctx, b.checked(ctx.pipe), trace=False)
        sc = scale_for(s.height, s.width, 128)
        diff = pixel_difference(r.frames, rb.frames).astype(np.uint8)
        side = hstack_videos(upscale(r.frames, sc), upscale(rb.frames, sc), upscale(np.repeat(diff[..., None], 3, -1), sc))
        path = str(write_mp4(side, ctx.new_path(".mp4"), upscale_to=128))
        la, lb = r.latents.float(), rb.latents.float()
        dist = (la - lb).pow(2).mean(dim=(0, 2, 3)).sqrt().numpy()
        fig = go.Figure(go.Scatter(y=dist, mode="lines+markers", name="RMS latent difference"))
        k = 0 if s.observed is None else s.observed.shape[0]
        if k:
            fig.add_vrect(x0=-0.5, x1=k - 0.5, fillcolor="gray", opacity=0.25, line_width=0,
                          annotation_text="observed")
        fig.update_layout(title=f"A vs B ({what}: {getattr(s, what)!r} -> {getattr(b, what)!r})",
                          xaxis_title="frame", yaxis_title="RMS latent difference", template="plotly_dark",
                          height=320, margin=dict(l=10, r=10, t=40, b=10))
        strip = np.concatenate([frame_strip(r.frames), frame_strip(rb.frames)], axis=0)
        return path, strip, fig, f"Run B: {what} = {getattr(b, what)!r}."

    action([compare.click], compare_fn, [result, what, value], [cmp_video, cmp_strip, cmp_plot], cmp_status,
           "compare_runs", concurrency_id=MODEL, concurrency_limit=ctx.concurrency_limit)

    def sync(r, which, step, dims):
        if r is None or r.trace is None or not r.trace.latents:
            return (gr.skip(),) * 6
        S = len(r.trace.latents)
        try:
            return latents_view(r, which, min(int(float(step or 0)), S - 1), dims)
        except ValueError as e:
            return (gr.skip(),) * 5 + (f"**Error:** {e}",)

    return {"sync": (sync, [result, which, step, dims], outs + [status])}


def wire(ctx: AppContext, result: gr.State, shared: dict) -> None:
    fn, inputs, outputs = shared["Latents"]["sync"]
    shared["Latents"]["tab"].select(fn, inputs, outputs, api_visibility="private")
