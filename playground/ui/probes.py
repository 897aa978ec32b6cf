"""Probes tab: run a few physics probes on a few seeded scenes (truth = parser floor, two baselines, the model),
see the table and a plot, and open any trial's video with the parsed tracks drawn over it. Small by default:
the CLI (`python -m playground.cli_probe`) runs the full suite."""

from __future__ import annotations

import numpy as np
import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from ..probes import PROBES, run_suite, to_markdown
from ..video import write_mp4
from ..viz.frames import draw_tracks, hstack_videos, scale_for
from ..world import SPLITS
from .inputs import as_float, as_int, user_errors
from .session import MODEL, AppContext

MAX_APP_TRIALS = 10


def summary_table(res: dict) -> pd.DataFrame:
    """Long table: one line per probe, split and metric; one column per row (truth, baselines, model)."""
    rows = res["config"]["rows"]
    higher = res["config"].get("higher_is_better", {})
    lines = []
    for p, ss in res["summary"].items():
        for s, rs in ss.items():
            for m in dict.fromkeys(m for r in rs.values() for m in r):
                lines.append({"probe": p, "split": s, "metric": m,
                              "better": "higher" if m in higher.get(p, []) else "lower",
                              **{r: rs.get(r, {}).get(m) for r in rows}})
    return pd.DataFrame(lines)


def summary_figure(table: pd.DataFrame, rows: list[str]) -> go.Figure:
    """Each probe's first metric per split, one bar per row (truth, baselines, model)."""
    first = table.groupby(["probe", "split"], sort=False).head(1)
    labels = [f"{p}/{s}: {m}" for p, s, m in zip(first["probe"], first["split"], first["metric"])]
    fig = go.Figure([go.Bar(name=r, x=labels, y=[None if v is None or pd.isna(v) else v for v in first[r]])
                     for r in rows])
    fig.update_layout(barmode="group", title="headline metric per probe (see the table for all)",
                      template="plotly_dark", height=360, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def _track_xy(track: dict) -> np.ndarray:
    return np.array([[np.nan if a is None else a, np.nan if b is None else b] for a, b in zip(track["x"], track["y"])],
                    dtype=float)


def build(ctx: AppContext, result: gr.State) -> dict:
    suite = gr.State(None)
    with gr.Row():
        probes = gr.CheckboxGroup(list(PROBES), value=["inertia"], label="Probes")
        splits = gr.CheckboxGroup(list(SPLITS), value=["train"], label="Splits (train = in-distribution)")
    with gr.Row():
        trials = gr.Slider(1, MAX_APP_TRIALS, value=2, step=1, label="Trials per probe and split")
        observed = gr.Slider(1, 12, value=4, step=1, label="Observed frames")
        steps = gr.Slider(1, 50, value=10, step=1, label="Steps")
        guidance = gr.Slider(0.0, 20.0, value=2.0, step=0.1, label="Guidance")
        seed = gr.Number(value=0, precision=0, label="Suite seed")
    run = gr.Button("Run probes", variant="primary", elem_id="probe-button")
    table = gr.Dataframe(label="Results (truth = parser floor; copy_last, const_velocity = baselines)",
                         interactive=False, wrap=True, elem_id="probe-table")
    plot = gr.Plot(label="Headline metrics")
    with gr.Accordion("Markdown report", open=False):
        report = gr.Markdown(label="Report")
    with gr.Row():
        trial = gr.Dropdown([], label="Trial", allow_custom_value=True)
        row = gr.Radio(["model", "copy_last", "truth"], value="model", label="Video of row")
        open_trial = gr.Button("Open trial")
    trial_video = gr.Video(label="row video with parsed tracks (rings) | truth with true centroids (crosses)",
                           autoplay=True, loop=True, interactive=False)
    trial_info = gr.JSON(label="Trial metrics")

    @user_errors
    def run_probes(names, splits, trials, observed, steps, guidance, seed, progress=gr.Progress()):
        if not names:
            raise ValueError(f"choose at least one probe ({', '.join(PROBES)})")
        if not splits:
            raise ValueError("choose at least one split (train, heldout)")
        n = as_int("trials", trials, 1, MAX_APP_TRIALS)
        k = as_int("observed frames", observed, 1, ctx.pipe.defaults["frames"] - 3)
        st = as_int("steps", steps, 1, 100)
        g = as_float("guidance", guidance, 0.0, 20.0)
        sd = as_int("seed", seed, 0, 2**31 - 1)
        progress(0, desc="starting")
        res = run_suite(ctx.pipe, probes=list(names), trials=n, seed=sd, split=list(splits), observed=k, steps=st,
                        guidance_scale=g, keep_frames=True,
                        progress=lambda done, total, desc: progress((done, total), desc=desc))
        tab = summary_table(res)
        ids = [t["id"] for t in res["trials"]]
        return (tab, summary_figure(tab, res["config"]["rows"]), to_markdown(res),
                gr.update(choices=ids, value=ids[0] if ids else None), res)

    run.click(run_probes, [probes, splits, trials, observed, steps, guidance, seed],
              [table, plot, report, trial, suite], api_name="run_probes", concurrency_id=MODEL,
              concurrency_limit=ctx.concurrency_limit)

    @user_errors
    def open_fn(res, trial_id, row):
        if res is None:
            raise ValueError("run the probes first")
        by_id = {t["id"]: t for t in res["trials"]}
        if trial_id not in by_id:
            raise ValueError(f"unknown trial {trial_id!r}; choose one of {', '.join(by_id)}")
        t = by_id[trial_id]
        frames = res.frames.get(trial_id, {})
        if row not in frames:
            raise ValueError(f"row {row!r} has no frames for this trial (rows with frames: {', '.join(frames)})")
        sc = scale_for(t["height"], t["width"], 128)
        tracks = {tr["color"]: _track_xy(tr) for tr in t["tracks"].get(row, [])}
        truth = {tr["color"]: _track_xy(tr) for tr in t["tracks"].get("truth", [])}
        side = hstack_videos(draw_tracks(frames[row], tracks, sc), draw_tracks(frames["truth"], {}, sc, truth))
        path = str(write_mp4(side, ctx.new_path(".mp4"), upscale_to=128))
        return path, {"id": trial_id, "caption": t["caption"], "observed": t["observed"], "metrics": t["metrics"]}

    open_trial.click(open_fn, [suite, trial, row], [trial_video, trial_info], api_name="probe_trial")
    return {}
