"""World Sim tab: edit a scene (JSON) or draw one from in-distribution / held-out ranges; the simulator renders
the observed frames, the model predicts the rest; model | truth | |difference| side by side, parsed trajectories
against the true centroids, several futures from one start (Branch), and continuation past the training length
(Extend)."""

from __future__ import annotations

import json

import numpy as np
import gradio as gr
import plotly.graph_objects as go

from ..pipeline import LIMITS
from ..video import write_mp4
from ..viz.frames import (abs_difference, draw_tracks, frame_strip, hstack_videos, labelled_rows, scale_for,
                          strip_layout, upscale)
from ..world import FAMILIES, SPLITS, Scene, describe_ranges, make_clip, sample_scene
from .events import action
from ..errors import shown
from .inputs import as_int, parse_resolution
from .session import MODEL, AppContext, GenSettings, sample

MAX_BRANCHES = 6


def parse_scene(text: str, n_frames: int, notes: list[str] | None = None) -> Scene:
    """Scene JSON from the editor -> a validated Scene rendered for `n_frames` frames (the Frames control); a
    different `n_frames` in the JSON gives way to it, and `notes` (when given) gets a line saying so."""
    if text is not None and not isinstance(text, str):
        raise ValueError(f"the scene must be JSON text, got {type(text).__name__}")
    if not text or not text.strip():
        raise ValueError("the scene is empty: draw a random scene or paste a scene JSON")
    if len(text) > 100_000:
        raise ValueError("the scene JSON is too long (at most 100,000 characters)")
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"the scene is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    if not isinstance(d, dict):
        raise ValueError("scene: the JSON must be an object with a 'balls' list")
    given = d.get("n_frames", n_frames)
    if notes is not None and given != n_frames:
        notes.append(f"The scene's n_frames ({shown(given)}) gave way to the Frames setting ({n_frames}).")
    d["n_frames"] = n_frames
    try:
        return Scene.from_dict(d)
    except (KeyError, TypeError, IndexError, AttributeError) as e:  # a shape the checks above did not foresee
        raise ValueError(f"scene: could not read it ({type(e).__name__}: {e}); compare with a drawn scene") from None


def parsed_tracks(frames: np.ndarray, colors: list[str]) -> dict[str, np.ndarray]:
    """Centroid track (T, 2) of each colour, found by the probes' object parser."""
    from ..probes.parser import color_track, parse_video

    parsed = parse_video(frames)
    return {c: color_track(parsed, c).centroids for c in colors}


def trajectory_figure(model: dict[str, np.ndarray], truth: dict[str, np.ndarray], k: int, height: int,
                      width: int) -> go.Figure:
    """Image-plane paths: truth solid, model (parsed) dashed, observed part marked; y points down as in the image."""
    from ..world import PALETTE

    fig = go.Figure()
    for name, xy in truth.items():
        col = "rgb(%d,%d,%d)" % PALETTE[name]
        fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines+markers", name=f"{name} truth",
                                 line=dict(color=col, width=2), marker=dict(size=4)))
        m = model.get(name)
        if m is not None:
            fig.add_trace(go.Scatter(x=m[k:, 0], y=m[k:, 1], mode="lines+markers", name=f"{name} model (parsed)",
                                     line=dict(color=col, dash="dash", width=2), marker=dict(symbol="x", size=6)))
        fig.add_trace(go.Scatter(x=xy[:k, 0], y=xy[:k, 1], mode="markers", name=f"{name} observed",
                                 marker=dict(color=col, size=10, symbol="circle-open"), showlegend=False))
    fig.update_layout(title="trajectories in the image (px): truth solid, model dashed, observed = rings",
                      xaxis=dict(range=[0, width], title="x (px)"), template="plotly_dark",
                      yaxis=dict(range=[height, 0], title="y (px)", scaleanchor="x"), height=420,
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def centroid_errors(model: dict, truth: dict, k: int) -> dict:
    errs = {}
    for name, xy in truth.items():
        m = model.get(name)
        d = np.linalg.norm(m[k:] - xy[k:], axis=1) if m is not None else np.array([])
        found = np.isfinite(d)
        errs[name] = {"found_in_predicted_frames": f"{int(found.sum())}/{len(d)}",
                      "mean_error_px": round(float(d[found].mean()), 2) if found.any() else None}
    return errs


def branch_strips(clip_frames: np.ndarray, futures: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """Truth and every future as whole one-row frame strips, one labelled row each (seed on the left)."""
    T, H, W = clip_frames.shape[:3]
    layout = strip_layout(T, H, W, scale=max(1, min(3, 1100 // (T * (W + 2)))), max_width=10_000)
    rows = [frame_strip(clip_frames, layout)] + [frame_strip(f, layout) for _, f in futures]
    return labelled_rows(rows, ["truth"] + [f"seed {sd}" for sd, _ in futures])


def build(ctx: AppContext, result: gr.State) -> dict:
    d = ctx.pipe.defaults
    fmax = LIMITS["frames"][1]
    with gr.Row():
        with gr.Column(scale=2):
            with gr.Row():
                family = gr.Dropdown(list(FAMILIES), value="inertia", label="Family")
                split = gr.Dropdown(list(SPLITS), value="train", label="Ranges (train = in-distribution)")
                scene_seed = gr.Number(value=0, precision=0, label="Scene seed", minimum=0, maximum=2**31 - 1)
            draw = gr.Button("Draw a random scene")
            draw_status = gr.Markdown("", elem_id="ws-draw-status")
            scene_json = gr.Code(language="json", label="Scene (edit balls: color, radius, position, velocity; "
                                 "gravity, g, occluders, camera)", lines=14, max_lines=28, elem_id="ws-scene",
                                 value=json.dumps(sample_scene("inertia", "train", np.random.default_rng(0),
                                                               d["frames"]).to_dict(), indent=1))
            with gr.Accordion("Parameter ranges", open=False):
                gr.Textbox(describe_ranges(), lines=16, show_label=False, interactive=False)
            with gr.Row():
                k = gr.Slider(1, fmax - 1, value=4, step=1, label="Observed frames (fewer than Frames)")
                frames = gr.Slider(2, fmax, value=d["frames"], step=1,
                                   label=f"Frames (trained: {', '.join(map(str, ctx.trained.durations()))})")
            with gr.Row():
                resolution = gr.Dropdown(ctx.trained.resolution_choices(), value=f"{d['height']}x{d['width']}",
                                         allow_custom_value=True, label="Resolution", elem_id="ws-resolution")
                seed = gr.Number(value=0, precision=0, label="Seed", minimum=0, maximum=2**31 - 1)
            with gr.Row():
                steps = gr.Slider(1, LIMITS["steps"][1], value=ctx.pipe.default_steps, step=1, label="Steps")
                guidance = gr.Slider(0.0, LIMITS["guidance"][1], value=2.0, step=0.1, label="Guidance")
            use_caption = gr.Checkbox(value=True, label="Prompt with the scene's caption")
            run = gr.Button("Simulate + predict", variant="primary", elem_id="ws-run")
            status = gr.Markdown("", elem_id="ws-status")
        with gr.Column(scale=3):
            video = gr.Video(label="model | truth | |difference|", autoplay=True, loop=True, interactive=False,
                             elem_id="ws-video")
            plot = gr.Plot(label="Trajectories")
            report = gr.JSON(label="Per-ball: found in predicted frames, centroid error")
    with gr.Row():
        n_branch = gr.Slider(1, MAX_BRANCHES, value=3, step=1, label="Branches (seeds seed, seed+1, ...)")
        branch = gr.Button("Branch: several futures from the same start", elem_id="ws-branch")
    branch_status = gr.Markdown("", elem_id="ws-branch-status")
    gr.Markdown("**Futures**: the truth, then one whole frame strip per seed (rows, labelled on the left)")
    futures = gr.Image(show_label=False, format="png", interactive=False, elem_id="ws-futures")
    with gr.Row():
        with gr.Column():
            extra = gr.Slider(4, 64, value=16, step=1, label="Extra frames past the clip")
            context = gr.Slider(1, fmax - 1, value=8, step=1, label="Context frames per round (fewer than the window)")
            extend = gr.Button("Extend: continue past the training length", elem_id="ws-extend")
            ext_status = gr.Markdown("", elem_id="ws-ext-status")
        with gr.Column():
            ext_video = gr.Video(label="extended model | truth", autoplay=True, loop=True, interactive=False,
                                 elem_id="ws-ext-video")
            ext_info = gr.JSON(label="Extension")
    branch_info = gr.JSON(visible=False)
    stale = [([futures, branch_info], branch_status, branch_info), ([ext_video, ext_info], ext_status, ext_info)]

    def draw_scene(family, split, scene_seed, frames):
        n = as_int("frames", frames, 2, fmax)
        s = as_int("scene seed", scene_seed, 0, 2**31 - 1)
        if family not in FAMILIES or split not in SPLITS:
            raise ValueError(f"family must be one of {', '.join(FAMILIES)} and ranges one of {', '.join(SPLITS)}")
        scene = sample_scene(family, split, np.random.default_rng(s), n)
        return json.dumps(scene.to_dict(), indent=1), ""

    action([draw.click], draw_scene, [family, split, scene_seed, frames], [scene_json], draw_status, "random_scene",
           stale=stale)

    def _settings(scene, k, frames, resolution, steps, guidance, seed, use_caption, clip=None):
        h, w = parse_resolution(resolution, ctx.pipe.spatial_factor)
        n = as_int("frames", frames, 2, fmax)
        k = as_int("observed frames", k, 1, n - 1)
        clip = clip or make_clip(scene, h, w)
        prompt = clip.caption if use_caption else ""
        # the scene's own caption is already in the training style: enrichment could only swap it for another
        return clip, GenSettings(prompt, n, h, w, steps, guidance, seed, clip.frames[:k].copy(), "world sim",
                                 enrich=False).checked(ctx.pipe), k

    def size_warning(s: GenSettings) -> str:
        if ctx.trained.is_trained(s.num_frames, s.height, s.width):
            return ""
        return "  \n" + ctx.trained.note(s.num_frames, s.height, s.width)

    def simulate(scene_text, k, frames, resolution, steps, guidance, seed, use_caption):
        n = as_int("frames", frames, 2, fmax)
        notes = []
        scene = parse_scene(scene_text, n, notes)
        clip, s, k = _settings(scene, k, frames, resolution, steps, guidance, seed, use_caption)
        r = sample(ctx, s)
        colors = [b.color for b in scene.balls]
        model_tracks = parsed_tracks(r.frames, colors)
        truth = {c: clip.gt.centroids[:, i] for i, c in enumerate(colors)}
        sc = scale_for(s.height, s.width, 128)
        side = hstack_videos(draw_tracks(r.frames, model_tracks, sc), draw_tracks(clip.frames, {}, sc, truth),
                             upscale(abs_difference(r.frames, clip.frames), sc), gap=4)
        r.video_path = str(write_mp4(side, ctx.new_path(".mp4"), upscale_to=128))
        info = {"caption": clip.caption, "prompt": r.enriched.text, "observed": k,
                "errors": centroid_errors(model_tracks, truth, k),
                "seconds": round(r.seconds, 3),
                "trained_setting": ctx.trained.is_trained(s.num_frames, s.height, s.width)}
        note = f"Done in {r.seconds:.2f} s." + "".join("  \n" + x for x in notes) + size_warning(s) + (f"  \nTrace: {r.trace_note}." if r.trace_note else "")
        return r.video_path, trajectory_figure(model_tracks, truth, k, s.height, s.width), info, r, note

    action([run.click], simulate, [scene_json, k, frames, resolution, steps, guidance, seed, use_caption],
           [video, plot, report, result], status, "simulate", stale=stale, concurrency_id=MODEL,
           concurrency_limit=ctx.concurrency_limit)

    def branches(scene_text, k, frames, resolution, steps, guidance, seed, use_caption, n_branch):
        n = as_int("frames", frames, 2, fmax)
        nb = as_int("branches", n_branch, 1, MAX_BRANCHES)
        notes = []
        scene = parse_scene(scene_text, n, notes)
        clip, s, k = _settings(scene, k, frames, resolution, steps, guidance, seed, use_caption)
        out = []
        for j in range(nb):
            s.seed = (s.seed + (1 if j else 0)) % 2**31
            out.append((s.seed, sample(ctx, s, trace=False).frames))
        info = {"rows": ["truth"] + [f"seed {sd}" for sd, _ in out], "observed": k, "frames": n}
        return branch_strips(clip.frames, out), info, f"{nb} futures from the same {k} observed frames." + \
            "".join("  \n" + x for x in notes) + size_warning(s)

    action([branch.click], branches, [scene_json, k, frames, resolution, steps, guidance, seed, use_caption,
                                      n_branch], [futures, branch_info], branch_status, "branch",
           concurrency_id=MODEL, concurrency_limit=ctx.concurrency_limit)

    def extend_clip(scene_text, k, frames, resolution, steps, guidance, seed, use_caption, extra, context):
        n = as_int("frames", frames, 2, fmax)
        extra = as_int("extra frames", extra, 4, 64)
        window = ctx.pipe.defaults["frames"]
        ctxf = as_int(f"context frames (fewer than the {min(n, window)}-frame window)", context, 1,
                      min(n, window) - 1)
        scene = parse_scene(scene_text, n)
        clip, s, k = _settings(scene, k, frames, resolution, steps, guidance, seed, use_caption)
        first = sample(ctx, s, trace=False)
        import torch

        video = ctx.pipe.extend(first.frames, clip.caption if use_caption else "", extra_frames=extra,
                                context_frames=ctxf, num_inference_steps=s.steps, guidance_scale=s.guidance,
                                enrich_prompt=False, generator=torch.Generator().manual_seed(s.seed))
        long_truth = make_clip(parse_scene(scene_text, n + extra), s.height, s.width).frames
        sc = scale_for(s.height, s.width, 128)
        both = hstack_videos(upscale(video, sc), upscale(long_truth, sc))
        path = str(write_mp4(both, ctx.new_path(".mp4"), upscale_to=128))
        return path, {"frames": int(video.shape[0]), "first_clip": n, "extended_by": extra, "context": ctxf,
                      "window": window}, f"Extended to {int(video.shape[0])} frames." + size_warning(s)

    action([extend.click], extend_clip, [scene_json, k, frames, resolution, steps, guidance, seed, use_caption, extra,
                                         context], [ext_video, ext_info], ext_status, "extend",
           concurrency_id=MODEL, concurrency_limit=ctx.concurrency_limit)
    return {"scene": scene_json, "draw": (draw, [family, split, scene_seed, frames])}
