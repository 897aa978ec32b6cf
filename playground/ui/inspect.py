"""Inside tab: what the DiT's hidden states hold and what its attention carries.

Per-layer curves of the linear probes (measured by `python -m playground inspect`, read from the model folder's
inspect.json), the depth the kept probe reads out of one clip next to the true depth, and attention
interventions: pick heads, blocks or a temporal window to switch off, regenerate with the same seeds, and see the
video and the probe scores of the unablated and the ablated model side by side."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import cv2
import numpy as np
import gradio as gr
import pandas as pd
import plotly.graph_objects as go
import torch

from ..inspect.ablate import Ablation, parse_heads, temporal_blocks
from ..inspect.interventions import compare
from ..inspect.linear import RidgeProbe, r2_score
from ..inspect.study import TASKS, clip_states, noisy_inputs
from ..inspect.targets import token_truth
from ..probes import run_suite
from ..video import write_mp4
from ..viz.frames import colorize, frame_strip, hstack_videos, labelled_grid, scale_for, strip_layout, upscale
from ..world import SPLITS, sample_clip
from .inputs import as_int, user_errors
from .session import MODEL, AppContext

ABLATION_PROBES = ("inertia", "permanence", "consistency")
FAMILIES = ("inertia", "gravity", "collision", "occlusion", "camera")
MAX_TRIALS = 4
SKY_GREY = (90, 90, 96)  # sky patches have no depth: drawn apart from every colour of the depth map
NO_STUDY = ("No measured probe results next to this model (inspect.json). Run `python -m playground inspect --json "
            "{dir}/inspect.json --md {dir}/inspect.md` (about 10 minutes on 2 cores) and reload the app.")


def load_study(ctx: AppContext) -> dict | None:
    """The representation study measured beside the model (inspect.json's "probes"), or None."""
    path = Path(ctx.model_dir) / "inspect.json"
    return json.loads(path.read_text()).get("probes") if path.is_file() else None


def curves_figure(study: dict, task: str, sigma: str) -> go.Figure:
    """Test score per layer (trained and random DiT, in-distribution and held-out) with the input baselines as
    dashed lines."""
    if task not in study["tasks"]:
        raise ValueError(f"unknown task {task!r}; measured: {', '.join(study['tasks'])}")
    e = study["tasks"][task]
    if sigma not in e["sigmas"]:
        raise ValueError(f"noise level {sigma!r} was not measured; measured: {', '.join(e['sigmas'])}")
    se = e["sigmas"][sigma]
    layers = study["config"]["layers"]
    fig = go.Figure()
    style = {("trained", "test"): ("solid", "#7aa2ff"), ("trained", "heldout"): ("dot", "#7aa2ff"),
             ("random", "test"): ("solid", "#999999"), ("random", "heldout"): ("dot", "#999999")}
    for (m, part), (dash, colour) in style.items():
        ys = se["curves"].get(m, {}).get(part)
        if ys:
            fig.add_trace(go.Scatter(x=layers, y=ys, mode="lines+markers", name=f"{m} DiT, {part}",
                                     line=dict(dash=dash, color=colour)))
    for b, colour in (("latents", "#f0a050"), ("pixels", "#60c080")):
        for part, dash in (("test", "dash"), ("heldout", "dashdot")):
            v = se["baselines"].get(b, {}).get(part)
            if v is not None:
                fig.add_trace(go.Scatter(x=layers, y=[v] * len(layers), mode="lines", name=f"{b}, {part}",
                                         line=dict(dash=dash, color=colour)))
    metric = "ROC AUC" if e["metric"] == "auc" else "R^2"
    fig.update_layout(title=f"{task} at sigma {sigma}: {metric} per layer", xaxis_title="layer", yaxis_title=metric,
                      template="plotly_dark", height=380, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def verdict_markdown(study: dict, task: str, sigma: str) -> str:
    e = study["tasks"][task]
    se = e["sigmas"][sigma]
    c = study["config"]
    lines = [f"**{task}**: {e['doc']}. {c['probe_train_clips']} clips fit the probe, {c['probe_test_clips']} test it, "
             f"{c['heldout_clips_scored']} held-out clips; samples: " + ", ".join(f"{k} {v}" for k, v in
                                                                                 e["counts"].items()) + "."]
    for part, j in se["judgement"].items():
        sc = j["score"]
        lines.append(f"- {part}: trained {sc.get('trained')} (layer {se['best_layer']['trained']}), latents "
                     f"{sc.get('latents')}, pixels {sc.get('pixels')}, random DiT {sc.get('random_dit')} -> "
                     f"**{'represented' if j['represented'] else 'not shown to be represented'}**")
    return "\n".join(lines)


@torch.no_grad()
def depth_readout(ctx: AppContext, study: dict | None, family: str, split: str, seed) -> tuple:
    """One clip: frames, the true per-patch depth and the kept probe's read-out -> (image, info)."""
    if study is None or not study.get("readout"):
        raise ValueError(NO_STUDY.format(dir=ctx.model_dir))
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    seed = as_int("seed", seed, 0, 2**31 - 1)
    ro = study["readout"]
    pipe = ctx.pipe
    d = pipe.defaults
    clip = sample_clip(family, split, seed, d["frames"], d["height"], d["width"])
    model = copy.deepcopy(pipe.transformer)  # recording hooks go on a private copy, never the served model
    inp = noisy_inputs(pipe, clip.frames[None], [clip.caption], ro["sigma"], study["config"]["observed"],
                       torch.Generator().manual_seed(seed))
    states = clip_states(model, inp, ro["sigma"], study["config"]["observed"], [ro["layer"]])
    tr = pipe.transformer
    pt, px = tr.config.patch_size_t, pipe.spatial_factor
    truth = token_truth(clip, pt, px)
    grid = truth.depth.shape
    pred = RidgeProbe.from_dict(ro["probe"]).predict(states[ro["layer"]][0].numpy()).reshape(grid)
    ok = np.isfinite(truth.depth)
    pred_shown = np.where(ok, pred, np.nan)  # sky patches have no depth to read
    lo, hi = np.nanmin(truth.depth), np.nanmax(truth.depth)
    T = clip.frames.shape[0]
    frames_idx = np.arange(0, T, pt)
    sc = scale_for(d["height"], d["width"], 96)

    def maps(a):  # (T', h', w') -> one image per frame group at frame size, sky grey
        img = colorize(np.nan_to_num(a, nan=lo), lo, hi, cv2.COLORMAP_VIRIDIS)
        img[~np.isfinite(a)] = SKY_GREY
        return img.repeat(px, 1).repeat(px, 2)

    layout = strip_layout(len(frames_idx), d["height"], d["width"], sc)
    rows = [frame_strip(clip.frames[frames_idx], layout), frame_strip(maps(truth.depth), layout),
            frame_strip(maps(pred_shown), layout)]
    image = labelled_grid(rows, ["frames", "true depth (camera z per patch)", f"probe on {ro['layer']}"], cols=1)
    info = {"family": family, "split": split, "seed": seed, "caption": clip.caption, "layer": ro["layer"],
            "sigma": ro["sigma"], "observed_frames": study["config"]["observed"],
            "r2_on_this_clip": round(r2_score(truth.depth[ok], pred[ok]), 4) if ok.sum() > 1 else None,
            "depth_range": [round(float(lo), 3), round(float(hi), 3)],
            "shown": f"one column per frame group (frames {list(map(int, frames_idx))}); colour = camera depth "
                     f"{lo:.2f}..{hi:.2f} (purple = near, yellow = far), grey = sky"}
    return image, info


def ablation_from_inputs(ctx: AppContext, time_off, heads, window) -> Ablation:
    tb = temporal_blocks(ctx.pipe.transformer)
    blocks = []
    for b in time_off or []:
        b = as_int("blocks", b, 0, len(ctx.pipe.transformer.blocks) - 1)
        if b not in tb:
            raise ValueError(f"block {b} never attends across time; choose among {tb}")
        blocks.append(b)
    w = as_int("window", window or 0, 0, 256)
    return Ablation(heads=parse_heads(heads or ""), time_off=tuple(blocks), window=w or None)


def run_ablation(ctx: AppContext, time_off, heads, window, probes, trials, steps, seed, progress=None) -> tuple:
    """Unablated and ablated runs of the chosen suite probes with the same seeds -> (video, table, summary)."""
    from ..inspect.ablate import ablated_pipeline, expand

    ab = expand(ablation_from_inputs(ctx, time_off, heads, window), ctx.pipe.transformer).check(ctx.pipe.transformer)
    names = [p for p in (probes or []) if p in ABLATION_PROBES]
    if not names:
        raise ValueError(f"choose at least one probe ({', '.join(ABLATION_PROBES)})")
    n = as_int("trials", trials, 1, MAX_TRIALS)
    st = as_int("steps", steps, 1, 50)
    sd = as_int("seed", seed, 0, 2**31 - 1)
    kw = dict(probes=names, trials=n, seed=sd, split=["train"], steps=st, keep_frames=True)
    base = run_suite(ctx.pipe, **kw)
    abl = run_suite(ablated_pipeline(ctx.pipe, ab), **kw) if not ab.empty else base
    rows = compare(base, abl)
    table = pd.DataFrame([{"probe": r["probe"], "split": r["split"], "metric": r["metric"],
                           "better": "higher" if r["higher_is_better"] else "lower",
                           "unablated": r["unablated"]["mean"], "ablated": r["ablated"]["mean"],
                           "change": r["change"]["mean"], "change_se": r["change"]["se"], "trials": r["change"]["n"],
                           "beyond_noise": r["beyond_noise"]} for r in rows])
    first = base["trials"][0]["id"]
    t, u, a = base.frames[first]["truth"], base.frames[first]["model"], abl.frames[first]["model"]
    sc = scale_for(t.shape[1], t.shape[2], 128)
    side = hstack_videos(upscale(t, sc), upscale(u, sc), upscale(a, sc))
    video = str(write_mp4(side, ctx.new_path(".mp4"), upscale_to=side.shape[1]))
    summary = {"ablation": ab.to_dict(), "video": f"trial {first}: truth | unablated | ablated",
               "beyond_noise": [f"{r['probe']}/{r['metric']}" for r in rows if r["beyond_noise"]]}
    return video, table, summary


def build(ctx: AppContext, result: gr.State) -> dict:
    study = load_study(ctx)
    tasks = list(study["tasks"]) if study else list(TASKS)
    sigmas = list(next(iter(study["tasks"].values()))["sigmas"]) if study and study["tasks"] else ["0.2"]
    gr.Markdown("### Where in the network does each property appear?\nLinear probes on every layer's hidden "
                "states against the world's ground truth, beside the same probe on the input latents, the raw "
                "pixels and a random-weight DiT. " + ("" if study else NO_STUDY.format(dir=ctx.model_dir)))
    with gr.Row():
        task = gr.Dropdown(tasks, value=tasks[0], label="Property")
        sigma = gr.Dropdown(sigmas, value=sigmas[0], label="Noise level sigma")
        show = gr.Button("Show curves", elem_id="inside-curves-button")
    plot = gr.Plot(label="Probe score per layer")
    verdict = gr.Markdown()

    @user_errors
    def curves(task, sigma):
        if study is None:
            raise ValueError(NO_STUDY.format(dir=ctx.model_dir))
        return curves_figure(study, task, str(sigma)), verdict_markdown(study, task, str(sigma))

    show.click(curves, [task, sigma], [plot, verdict], api_name="inspect_curves")

    gr.Markdown("### Depth read out of one clip\nThe kept depth probe applied to every token of a fresh clip.")
    with gr.Row():
        family = gr.Dropdown(list(FAMILIES), value="camera", label="Family")
        split = gr.Dropdown(list(SPLITS), value="train", label="Split")
        seed = gr.Number(value=0, precision=0, label="Clip seed")
        read = gr.Button("Read depth", elem_id="inside-depth-button")
    depth_img = gr.Image(label="frames | true depth | probe read-out", format="png", interactive=False)
    depth_info = gr.JSON(label="Read-out")

    @user_errors
    def depth(family, split, seed):
        return depth_readout(ctx, study, family, split, seed)

    read.click(depth, [family, split, seed], [depth_img, depth_info], api_name="inspect_depth",
               concurrency_id=MODEL, concurrency_limit=ctx.concurrency_limit)

    tb = temporal_blocks(ctx.pipe.transformer)
    gr.Markdown("### Switch parts of the attention off\nThe same scenes and seeds with and without the ablation; "
                "the table gives each probe metric's change with its standard error over trials.")
    with gr.Row():
        time_off = gr.CheckboxGroup([str(b) for b in tb], label="Blocks whose attention may not cross time")
        heads = gr.Textbox(label="Heads off (BLOCK:HEAD, e.g. 3:0, 5:*)", value="")
        window = gr.Slider(0, ctx.pipe.defaults["frames"], value=0, step=1,
                           label="Temporal window in frames (0 = off)")
    with gr.Row():
        probes = gr.CheckboxGroup(list(ABLATION_PROBES), value=["inertia"], label="Probes")
        trials = gr.Slider(1, MAX_TRIALS, value=2, step=1, label="Trials")
        steps = gr.Slider(1, 50, value=min(10, ctx.pipe.default_steps), step=1, label="Steps")
        ab_seed = gr.Number(value=0, precision=0, label="Seed")
    go_btn = gr.Button("Ablate and regenerate", variant="primary", elem_id="inside-ablate-button")
    video = gr.Video(label="truth | unablated | ablated", autoplay=True, loop=True, interactive=False)
    table = gr.Dataframe(label="Probe scores: unablated vs ablated", interactive=False, wrap=True)
    summary = gr.JSON(label="Ablation")

    @user_errors
    def ablate(time_off, heads, window, probes, trials, steps, seed):
        return run_ablation(ctx, time_off, heads, window, probes, trials, steps, seed)

    go_btn.click(ablate, [time_off, heads, window, probes, trials, steps, ab_seed], [video, table, summary],
                 api_name="inspect_ablate", concurrency_id=MODEL, concurrency_limit=ctx.concurrency_limit)
    return {}
