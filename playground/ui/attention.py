"""Attention tab: pick a layer (its kind: spatial, temporal or joint), a head or the mean, and a denoising step
among those captured (or capture another on demand); click a patch in any frame to see where it attends across
all frames, every head of the layer, the attention rollout through the layers up to this one, and the
arithmetic of that row (QK^T, scale, softmax, weighted V)."""

from __future__ import annotations

import numpy as np
import gradio as gr

from ..viz.arithmetic import query_arithmetic
from ..viz.attention import heads_grid, heat_strip, layer_matrix, per_head_maps, rollout, token_index, token_of_pixel
from ..viz.frames import strip_layout
from .events import action
from .inputs import as_float, as_int
from .session import MODEL, AppContext, GenResult, replace_result_trace, sample, total_steps

NO_RUN = "Generate a video first (Generate or World Sim tab): the attention maps come from your last run."


def layout_of(r: GenResult):
    T, H, W = r.frames.shape[:3]
    return strip_layout(T, H, W)


def layer_choices(ctx: AppContext) -> list[tuple[str, str]]:
    return [(f"{n} ({k})", n) for n, k in zip(ctx.pipe.transformer.capture_names(), ctx.pipe.transformer.kinds)]


def head_choices(ctx: AppContext) -> list[str]:
    return ["mean"] + [str(h) for h in range(ctx.pipe.transformer.config.num_heads)]


def _inputs_at_step(r: GenResult, step: int) -> dict:
    """What the transformer saw at `step` (its conditional half): the exact inputs the pipeline recorded with the
    captured attention (x_t, sigma and the Conditioning of the window it denoised)."""
    rec = r.trace.inputs[step]
    return {"latents": rec["latents"].float(), "sigma": rec["sigma"], **rec["cond"].model_kwargs()}


def attention_view(ctx: AppContext, r: GenResult | None, layer: str, head, step, frame, x, y) -> tuple:
    """-> (heatmap strip, heads grid, rollout strip, arithmetic markdown, info dict)."""
    if r is None or r.trace is None:
        raise ValueError(NO_RUN)
    names = ctx.pipe.transformer.capture_names()
    if layer not in names:
        raise ValueError(f"unknown layer {layer!r}; choose one of {', '.join(names)}")
    H = ctx.pipe.transformer.config.num_heads
    if str(head) != "mean" and not str(head).strip().lstrip("-").isdigit():
        raise ValueError(f"head must be 'mean' or a head index in [0, {H - 1}], got {head!r}")
    head_i = None if str(head) == "mean" else as_int("head", head, 0, H - 1)
    captured = sorted(r.trace.attention)
    n_steps = len(r.trace.sigmas) - 1
    step = as_int(f"denoising step (the run has {n_steps} steps)", step, 0, n_steps - 1)
    if step not in r.trace.attention:
        raise ValueError(f"step {step} was not captured (captured: {captured}); press 'Capture this step' to "
                         "re-run the same sampling with attention recorded there")
    T, Hpx, Wpx = r.frames.shape[:3]
    frame = as_int(f"frame (the video has {T})", frame, 0, T - 1)
    x = as_float(f"x (the frame is {Wpx} px wide)", x, 0, Wpx - 1e-6)
    y = as_float(f"y (the frame is {Hpx} px high)", y, 0, Hpx - 1e-6)
    maps = r.trace.attention[step]
    meta = r.trace.attention_meta[layer]
    kind, grid = meta["kind"], tuple(meta["grid"])
    cfg = ctx.pipe.transformer.config
    # a rollout denoises one window per chunk (its context and the chunk): the maps cover those frames only
    w0, wn = r.trace.windows[step] if r.trace.windows else (0, T)
    if not w0 <= frame < min(T, w0 + wn):
        raise ValueError(f"step {step} denoised frames {w0}..{min(T, w0 + wn) - 1} (chunk "
                         f"{step // r.settings.steps}: its context and the frames it made); pick a frame there")
    patch_px = ctx.pipe.vae.spatial_compression * cfg.patch_size
    tok = token_of_pixel(grid, frame - w0, x, y, patch_px, cfg.patch_size_t)
    heads = per_head_maps(maps[layer], kind, grid, tok)  # (H, T', h', w')
    heat = heads.mean(0) if head_i is None else heads[head_i]
    layout = layout_of(r)
    main = heat_strip(r.frames, heat, patch_px, cfg.patch_size_t, tok, layout, frame_offset=w0)
    li = names.index(layer)
    order = [n for n in names[:li + 1] if n in maps]
    R = rollout([layer_matrix(maps[n], r.trace.attention_meta[n]["kind"], grid) for n in order])
    roll = R[token_index(grid, tok)].reshape(grid)
    roll_img = heat_strip(r.frames, roll, patch_px, cfg.patch_size_t, tok, layout, frame_offset=w0)
    qa = query_arithmetic(ctx.pipe.transformer, li, head_i or 0, tok, **_inputs_at_step(r, step))
    captured_row = heads[head_i or 0].reshape(-1)
    seen = np.array([captured_row[token_index(grid, k)] for k in qa.keys])
    md = qa.markdown()
    md += (f"\n\nRecomputed softmax vs the captured map: max |difference| = {np.abs(seen - qa.weights).max():.2e} "
           "(the replay runs the readable path in float64 where the capture ran the model's own)." + (" Head 0 shown; pick a head for its own numbers."
                                                    if head_i is None else ""))
    flat = heat.reshape(-1)
    top = np.argsort(-flat)[:5]
    info = {"layer": layer, "kind": kind, "head": "mean" if head_i is None else head_i, "step": step,
            "captured_steps": captured, "query_token": list(tok), "query_index": token_index(grid, tok),
            "token_grid": list(grid), "window_frames": [w0, min(T, w0 + wn) - 1],
            "clicked": {"frame": frame, "x": round(x, 2), "y": round(y, 2)},
            "top_keys": [{"token": [int(i // (grid[1] * grid[2])), int(i // grid[2] % grid[1]), int(i % grid[2])],
                          "weight": round(float(flat[i]), 4)} for i in top],
            "rollout_layers": order, "sum_of_row": round(float(heat.sum()), 4),
            "recapture_max_pixel_diff": r.cache.get("recapture_max_pixel_diff")}
    return main, heads_grid(heads), roll_img, md, info


def _quiet(view):
    """The view for follow-up events (a click, a capture): errors go to the status line, the maps stay."""
    def run(*a):
        try:
            return view(*a)
        except ValueError as e:
            return (gr.skip(),) * 5 + (f"**Error:** {e}",)
    return run


def build(ctx: AppContext, result: gr.State) -> dict:
    H = ctx.pipe.defaults["height"]
    with gr.Row():
        layer = gr.Dropdown(layer_choices(ctx), value=ctx.pipe.transformer.capture_names()[0], label="Layer (kind)")
        head = gr.Dropdown(head_choices(ctx), value="mean", label="Head")
        step = gr.Dropdown([0], value=0, allow_custom_value=True, label="Denoising step (captured)")
        capture_step = gr.Number(value=0, precision=0, label="Step to capture")
        capture = gr.Button("Capture this step")
    capture_status = gr.Markdown("", elem_id="attn-capture-status")
    with gr.Row():
        frame = gr.Number(value=0, precision=0, label="Frame")
        x = gr.Number(value=H / 2, label="x (px in the frame)")
        y = gr.Number(value=H / 2, label="y (px)")
        show = gr.Button("Show", variant="primary", elem_id="attn-button")
    status = gr.Markdown("", elem_id="attn-status")
    gr.Markdown("**Attention of the clicked token over all frames.** Click a patch in any frame below: the maps show "
                "where that token attends (cyan box = the query token, in every frame of its temporal group).")
    main = gr.Image(show_label=False, format="png", interactive=False, elem_id="attn-main",
                    elem_classes=["attn-click"])
    info = gr.JSON(label="Query and top keys", elem_id="attn-info")
    with gr.Row():
        with gr.Column():
            gr.Markdown("**Every head of this layer** (rows = heads, from head 0 at the top; columns = temporal "
                        "groups t')")
            heads = gr.Image(show_label=False, format="png", interactive=False, elem_id="attn-heads")
        with gr.Column():
            gr.Markdown("**Attention rollout** (residual-mixed, head-averaged) through the layers up to this one")
            roll = gr.Image(show_label=False, format="png", interactive=False, elem_id="attn-rollout")
    arithmetic = gr.Markdown(NO_RUN, label="Arithmetic of the query row", elem_id="attn-arithmetic")

    view_in = [result, layer, head, step, frame, x, y]
    view_out = [main, heads, roll, arithmetic, info]

    def view(r, layer, head, step, frame, x, y):
        return (*attention_view(ctx, r, layer, head, step, frame, x, y), "")

    action([show.click], view, view_in, view_out, status, "attention")

    def on_click(r, evt: gr.SelectData):
        if r is None:
            return gr.skip(), gr.skip(), gr.skip()
        hit = layout_of(r).locate(*evt.index[:2])
        if hit is None:
            return gr.skip(), gr.skip(), gr.skip()
        return hit[0], round(hit[1], 2), round(hit[2], 2)

    main.select(on_click, result, [frame, x, y], api_visibility="private").then(
        _quiet(view), view_in, view_out + [status], api_visibility="private")

    def capture_fn(r, s):
        if r is None:
            raise ValueError(NO_RUN)
        n_steps = total_steps(ctx.pipe, r.settings)
        s = as_int(f"step to capture (the run has {n_steps} steps)", s, 0, n_steps - 1)
        if r.trace is not None and s in r.trace.attention:
            return r, gr.update(choices=sorted(r.trace.attention), value=s), f"Step {s} was already captured."
        extra = sample(ctx, r.settings, attention_steps=[s])
        if extra.trace is None or s not in extra.trace.attention:
            raise ValueError(f"step to capture: attention at step {s} does not fit the trace's memory bound at this "
                             f"size ({extra.trace_note or 'no attention recorded'})")
        r = replace_result_trace(r, extra, s)
        return r, gr.update(choices=sorted(r.trace.attention), value=s), f"Captured step {s}."

    action([capture.click], capture_fn, [result, capture_step], [result, step], capture_status, "capture_attention",
           concurrency_id=MODEL, concurrency_limit=ctx.concurrency_limit)[0].then(
        _quiet(view), view_in, view_out + [status], api_visibility="private")

    def sync(r, layer, head, step, frame, x, y):
        """On opening the tab: offer the run's captured steps and draw the current view."""
        if r is None or r.trace is None:
            return (gr.skip(),) + (None, None, None, NO_RUN, None)
        steps = sorted(r.trace.attention)
        if not steps:
            return (gr.skip(), None, None, None, f"This run recorded no attention: {r.trace_note}.", None)
        st = int(step) if step is not None and str(step).isdigit() and int(step) in steps else steps[-1]
        T, Hpx, Wpx = r.frames.shape[:3]
        frame = min(int(frame or 0), T - 1)
        x, y = min(float(x or 0), Wpx - 1), min(float(y or 0), Hpx - 1)
        try:
            out = attention_view(ctx, r, layer, head, st, frame, x, y)
        except ValueError as e:
            return (gr.update(choices=steps, value=st), None, None, None, str(e), None)
        return (gr.update(choices=steps, value=st),) + out

    return {"sync": (sync, view_in, [step] + view_out)}


def wire(ctx: AppContext, result: gr.State, shared: dict) -> None:
    fn, inputs, outputs = shared["Attention"]["sync"]
    shared["Attention"]["tab"].select(fn, inputs, outputs, api_visibility="private")
