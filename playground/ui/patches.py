"""Patches tab: the spacetime patch grid over the frames, how many tokens a video becomes at each resolution,
aspect ratio and duration, and the 3-D sin-cos positional code (and how similar one token's code is to all)."""

from __future__ import annotations

import numpy as np
import gradio as gr
import pandas as pd

from ..models.dit import sincos_3d, split_pos_dims
from ..viz.frames import draw_patch_grid
from ..viz.latents import posenc_image, similarity_maps
from ..world import make_clip, sample_scene
from .events import action
from .inputs import as_int
from .session import AppContext

PRESETS = [(8, 32, 32), (16, 32, 32), (24, 32, 32), (16, 32, 48), (16, 48, 32), (16, 48, 48), (16, 64, 64),
           (1, 32, 32), (32, 32, 32)]


def geometry(ctx: AppContext) -> dict:
    """Pixel size of a patch, frames per temporal group, and the numbers behind them."""
    cfg = ctx.pipe.transformer.config
    f = ctx.pipe.vae.spatial_compression
    return {"vae_factor": f, "patch_size": cfg.patch_size, "patch_size_t": cfg.patch_size_t,
            "patch_px": f * cfg.patch_size, "latent_channels": ctx.pipe.vae.config.latent_channels,
            "hidden_size": cfg.hidden_size, "kinds": list(ctx.pipe.transformer.kinds)}


def token_table(ctx: AppContext, presets=PRESETS) -> pd.DataFrame:
    """Tokens and attention cost for each preset size, from the model's config, and whether it was trained."""
    g = geometry(ctx)
    rows = []
    for T, H, W in presets:
        tg = ctx.pipe.transformer.token_grid(T, H // g["vae_factor"], W // g["vae_factor"])
        n = tg[0] * tg[1] * tg[2]
        s = tg[1] * tg[2]
        rows.append({"frames": T, "pixels (HxW)": f"{H}x{W}", "aspect": f"{W / H:.2f}",
                     "trained": "yes" if ctx.trained.is_trained(T, H, W) else "no",
                     "latent (c,T,h,w)": f"{g['latent_channels']},{T},{H // g['vae_factor']},{W // g['vae_factor']}",
                     "token grid (T',h',w')": f"{tg[0]},{tg[1]},{tg[2]}", "tokens": n,
                     "spatial attn pairs": tg[0] * s * s, "temporal attn pairs": s * tg[0] ** 2,
                     "joint attn pairs": n * n})
    return pd.DataFrame(rows)


def build(ctx: AppContext, result: gr.State) -> dict:
    g = geometry(ctx)
    gr.Markdown(
        f"A latent video (autoencoder: {g['vae_factor']}x spatial compression, {g['latent_channels']} channels) is cut "
        f"into spacetime patches of **{g['patch_size_t']} frames x {g['patch_size']}x{g['patch_size']} latent pixels "
        f"= {g['patch_size_t']} frames x {g['patch_px']}x{g['patch_px']} image pixels**; each patch is one token. "
        f"Blocks: {', '.join(g['kinds'])}. The frames shown are the session's last run (or a simulated clip).")
    with gr.Row():
        t_tok = gr.Number(value=0, precision=0, label="token t'")
        y_tok = gr.Number(value=0, precision=0, label="token y'")
        x_tok = gr.Number(value=0, precision=0, label="token x'")
        show = gr.Button("Show patches", variant="primary", elem_id="patch-button")
    status = gr.Markdown("", elem_id="patch-status")
    grid_img = gr.Image(label="Spacetime patch grid (frames of one temporal group share a tint; red = chosen token)",
                        format="png", interactive=False, elem_id="patch-grid")
    info = gr.JSON(label="This video")
    gr.Markdown("**Tokens per size** (one set of weights serves all of them: the positional code is computed for "
                "any grid)")
    gr.Dataframe(value=token_table(ctx), interactive=False, wrap=True)
    with gr.Row():
        pe = gr.Image(label="Positional code sincos_3d: rows = tokens (t, y, x order), columns = dimensions "
                      "(t | y | x parts)", format="png", interactive=False)
        sim = gr.Image(label="Cosine similarity of the chosen token's code to every token", format="png",
                       interactive=False)

    def patches(r, t, y, x):
        if r is None:
            clip = make_clip(sample_scene("inertia", "train", np.random.default_rng(0), ctx.pipe.defaults["frames"]),
                             ctx.pipe.defaults["height"], ctx.pipe.defaults["width"])
            frames, source = clip.frames, "simulated clip (generate a video to see yours)"
        else:
            frames, source = r.frames, "last run"
        T, H, W = frames.shape[:3]
        tg = ctx.pipe.transformer.token_grid(T, H // g["vae_factor"], W // g["vae_factor"])
        tok = (as_int(f"token t' (grid {tg[0]}x{tg[1]}x{tg[2]})", t, 0, tg[0] - 1),
               as_int(f"token y' (grid {tg[0]}x{tg[1]}x{tg[2]})", y, 0, tg[1] - 1),
               as_int(f"token x' (grid {tg[0]}x{tg[1]}x{tg[2]})", x, 0, tg[2] - 1))
        img = draw_patch_grid(frames, g["patch_px"], g["patch_size_t"], highlight=tok)
        codes = sincos_3d(g["hidden_size"], tg).numpy()
        d_t, d_y, d_x = split_pos_dims(g["hidden_size"])
        n = tg[0] * tg[1] * tg[2]
        facts = {"source": source, "frames x height x width": [T, H, W], "token grid (T', h', w')": list(tg),
                 "tokens": n, "patch in pixels (t x h x w)": [g["patch_size_t"], g["patch_px"], g["patch_px"]],
                 "positional code dims (t, y, x)": [d_t, d_y, d_x], "chosen token": list(tok),
                 "chosen token index": (tok[0] * tg[1] + tok[1]) * tg[2] + tok[2]}
        return img, facts, posenc_image(codes), similarity_maps(codes, tg, tok), ""

    action([show.click], patches, [result, t_tok, y_tok, x_tok], [grid_img, info, pe, sim], status, "patches")

    def refresh(*a):
        try:
            return patches(*a)
        except ValueError as e:
            return (gr.skip(),) * 4 + (f"**Error:** {e}",)

    return {"refresh": (refresh, [result, t_tok, y_tok, x_tok], [grid_img, info, pe, sim, status])}


def wire(ctx: AppContext, result: gr.State, shared: dict) -> None:
    fn, inputs, outputs = shared["Patches"]["refresh"]
    shared["Patches"]["tab"].select(fn, inputs, outputs, api_visibility="private")
