"""Probes tab: run a few physics probes on a few seeded scenes (truth = parser floor, two baselines, the model),
see the table and a plot, and open any trial's video with the parsed tracks drawn over it. Small by default:
the CLI (`python -m playground.cli_probe`) runs the full suite."""

from __future__ import annotations

import numpy as np
import gradio as gr
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..errors import shown
from ..pipeline import LIMITS
from ..probes import PROBES, run_suite, to_markdown
from ..video import write_mp4
from ..viz.frames import draw_tracks, hstack_videos, scale_for
from ..world import SPLITS
from .events import action
from .inputs import as_float, as_int
from .session import MODEL, AppContext

MAX_APP_TRIALS = 10
MAX_APP_STEPS = 50

# What each metric measures (docs/probes.md has the full definitions). px = pixels of the 32x32 frame.
METRIC_HELP = {
    "vel_err_px": "velocity error: mean |v_pred - v_true| in px/frame over predicted frames",
    "vel_err_rel": "velocity error relative to the true speed (sum of errors / sum of |v_true|)",
    "pos_err_px": "mean centroid position error (px) over predicted frames with the ball in view",
    "linear_r2": "how straight the tracks are between true wall/collision times (R^2 of a line fit; 1 = straight)",
    "reversals": "velocity reversals with no wall or collision to explain them (count per ball)",
    "coverage": "share of (ball, predicted frame) pairs in view where the ball is detected at all",
    "g_rel_err": "relative error of the fitted gravity |g_fit - g_true| / g_true",
    "g_ratio": "median fitted g / true g (1 = right gravity; listed as lower-is-better but 1 is the target)",
    "g_fit_px": "fitted gravity in px/frame^2 (compare with g_true_px)",
    "g_true_px": "true projected gravity in px/frame^2 (same fit on the true centroids)",
    "drift_x_px": "horizontal drift against the truth while falling (px)",
    "post_vel_err_px": "velocity error after the impact (px/frame)",
    "post_vel_rel": "velocity error after the impact, relative to the true speed",
    "momentum_err": "momentum after the impact vs the truth's, relative to its magnitude",
    "energy_err": "kinetic energy after the impact vs the truth's, relative",
    "momentum_conservation": "momentum change across the impact within the video itself (floor plane)",
    "energy_conservation": "energy change across the impact within the video itself",
    "reemergence_rate": "share of occlusions after which the hidden ball comes back within 2 frames, own colour",
    "timing_err_frames": "how many frames early or late the ball re-emerges",
    "reemerge_pos_err_px": "position error in the first 3 frames after re-emerging (px)",
    "colour_kept": "share of frames after re-emergence where the ball keeps its colour and no stray colour appears",
    "size_ratio_err": "change of the ball's size across the occlusion vs the truth's",
    "see_through": "impossible event: the ball is seen inside an occluder that hides it in the truth (count)",
    "vanish_in_open": "impossible event: a ball in plain view in the truth is not detected (count)",
    "teleports": "impossible event: a jump between consecutive frames larger than max(4, 0.2 x frame size) px",
    "impossible_events": "see_through + vanish_in_open + teleports (count per trial)",
    "sampson_px": "epipolar (Sampson) error of feature matches under the true cameras (px)",
    "pairs_ok": "share of frame pairs whose epipolar error is under 0.5 px (at 32x32)",
    "matches": "feature matches per frame pair",
    "transfer_px": "known 3-D points moved with the true camera vs where the video moved them (px)",
    "ball_reproj_px": "true ball centres projected with the true camera vs parsed centroids (px)",
    "objects_kept": "share of predicted frames whose set of colours is right (no ball lost, none invented)",
    "objects_kept_late": "objects_kept over the second half of the extended rollout",
    "count_err": "|blobs - balls seen| over the last 8 frames",
    "size_drift": "ball size change from the observed to the last frames vs the truth's",
    "colour_drift_deg": "angle between a ball's colour in the observed and the last frames (degrees)",
    "loop_closure": "background difference (0-255) between first and last frames where the camera returns",
    "flicker": "background change (0-255) between consecutive predicted frames (static camera; truth: 0)",
    "smoothness_px": "mean |c(t+1) - 2 c(t) + c(t-1)| (px/frame^2): jerkiness away from bounces",
    "kick_vel_err_px": "velocity error of the kicked ball over the 4 frames after a kick (px/frame)",
    "kick_dir_err_deg": "angle between the video's response to a kick and the true one (180 = kick ignored)",
    "kick_followed": "share of kicks the video follows (direction error under 45 degrees)",
    "kicks": "predicted kicks per trial",
    "persisted": "paint marks made before the prediction that the video keeps",
    "persisted_late": "paint marks at least 8 frames old that the video keeps",
    "made": "paint marks made during the prediction that appear once they exist",
    "after_lookaway": "paint marks still there when the camera looks back at them",
    "mark_pos_err_px": "position error of a kept paint mark (px)",
    "spurious_marks": "share of unmarked floor tiles the video marks anyway",
}
BLANKS = ("A **blank cell** means n/a: the metric is undefined for that row on every trial - `const_velocity` "
          "draws no pixels, so frame-level metrics (matches, flicker, loop closure, colour drift) are n/a for it; "
          "`copy_last` never moves, so straightness (`linear_r2`) is n/a; and a metric that needs an event (an "
          "impact, an occlusion, enough frames in view) is n/a when no trial's predicted frames contained one.")


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
    """Two panels that never share an axis: each probe's first lower-is-better metric per split (errors) on the
    left, its first higher-is-better metric (rates, shares) on the right; one bar per row (truth, baselines,
    model). A missing bar is n/a for that row."""
    colours = {"truth": "#9ca3af", "copy_last": "#f59e0b", "const_velocity": "#38bdf8", "no_action": "#34d399",
               "model": "#a78bfa"}
    fig = make_subplots(rows=1, cols=2, subplot_titles=("errors and counts: lower is better",
                                                        "rates and shares: higher is better"))
    for col, better in ((1, "lower"), (2, "higher")):
        part = table[table["better"] == better].groupby(["probe", "split"], sort=False).head(1)
        labels = [f"{p}/{s}: {m}" for p, s, m in zip(part["probe"], part["split"], part["metric"])]
        for r in rows:
            fig.add_trace(go.Bar(name=r, x=labels, y=[None if v is None or pd.isna(v) else v for v in part[r]],
                                 marker_color=colours.get(r), showlegend=col == 1, legendgroup=r), row=1, col=col)
    fig.update_layout(barmode="group", title="headline metrics per probe (the table has all; a missing bar = n/a)",
                      template="plotly_dark", height=380, margin=dict(l=10, r=10, t=60, b=10))
    return fig


def glossary(table: pd.DataFrame | None = None) -> str:
    """Markdown: what each metric in the table means, which way is better, and what a blank cell means."""
    names = list(dict.fromkeys(table["metric"])) if table is not None and len(table) else list(METRIC_HELP)
    higher = {m: "higher" if any(m in pr.higher for pr in PROBES.values()) else "lower" for m in names}
    if table is not None and len(table):
        higher.update(zip(table["metric"], table["better"]))
    lines = ["| metric | better | meaning |", "| --- | --- | --- |"]
    for m in names:
        meaning = METRIC_HELP.get(m, "see docs/probes.md").replace("|", "\\|")  # a bar would end the cell
        lines.append(f"| `{m}` | {higher.get(m, '')} | {meaning} |")
    return BLANKS + "\n\n" + "\n".join(lines)


def _track_xy(track: dict) -> np.ndarray:
    return np.array([[np.nan if a is None else a, np.nan if b is None else b] for a, b in zip(track["x"], track["y"])],
                    dtype=float)


def build(ctx: AppContext, result: gr.State) -> dict:
    suite = gr.State(None)
    max_obs = ctx.pipe.defaults["frames"] - 3
    with gr.Row():
        probes = gr.CheckboxGroup(list(PROBES), value=["inertia"], label="Probes")
        splits = gr.CheckboxGroup(list(SPLITS), value=["train"], label="Splits (train = in-distribution)")
    with gr.Row():
        trials = gr.Slider(1, MAX_APP_TRIALS, value=2, step=1, label="Trials per probe and split")
        observed = gr.Slider(1, max_obs, value=4, step=1, label="Observed frames")
    with gr.Row():
        steps = gr.Slider(1, MAX_APP_STEPS, value=min(10, ctx.pipe.default_steps), step=1, label="Steps")
        guidance = gr.Slider(0.0, LIMITS["guidance"][1], value=2.0, step=0.1, label="Guidance")
        seed = gr.Number(value=0, precision=0, label="Suite seed", minimum=0, maximum=2**31 - 1)
    run = gr.Button("Run probes", variant="primary", elem_id="probe-button")
    status = gr.Markdown("", elem_id="probe-status")
    table = gr.Dataframe(label="Results (truth = parser floor; copy_last, const_velocity = baselines; "
                         "blank = n/a)", interactive=False, wrap=True, elem_id="probe-table")
    with gr.Accordion("What the metrics mean (and the blank cells)", open=False):
        help_md = gr.Markdown(glossary(), elem_id="probe-glossary")
    plot = gr.Plot(label="Headline metrics")
    with gr.Accordion("Markdown report", open=False):
        report = gr.Markdown(label="Report")
    with gr.Row():
        trial = gr.Dropdown([], label="Trial", allow_custom_value=True)
        row = gr.Radio(["model", "copy_last", "truth"], value="model", label="Video of row")
        open_trial = gr.Button("Open trial")
    trial_status = gr.Markdown("", elem_id="probe-trial-status")
    trial_video = gr.Video(label="row video with parsed tracks (rings) | truth with true centroids (crosses)",
                           autoplay=True, loop=True, interactive=False)
    trial_info = gr.JSON(label="Trial metrics")

    def run_probes(names, splits, trials, observed, steps, guidance, seed, progress=gr.Progress()):
        if not names:
            raise ValueError(f"probes: choose at least one ({', '.join(PROBES)})")
        if not splits:
            raise ValueError(f"splits: choose at least one ({', '.join(SPLITS)})")
        n = as_int("trials", trials, 1, MAX_APP_TRIALS)
        k = as_int("observed frames", observed, 1, max_obs)
        st = as_int("steps", steps, 1, MAX_APP_STEPS)
        g = as_float("guidance", guidance, *LIMITS["guidance"])
        sd = as_int("seed", seed, 0, 2**31 - 1)
        progress(0, desc="starting")
        res = run_suite(ctx.pipe, probes=list(names), trials=n, seed=sd, split=list(splits), observed=k, steps=st,
                        guidance_scale=g, keep_frames=True,
                        progress=lambda done, total, desc: progress((done, total), desc=desc))
        tab = summary_table(res)
        ids = [t["id"] for t in res["trials"]]
        return (tab, summary_figure(tab, res["config"]["rows"]), to_markdown(res),
                gr.update(choices=ids, value=ids[0] if ids else None), res, glossary(tab),
                f"{len(ids)} trials run.")

    action([run.click], run_probes, [probes, splits, trials, observed, steps, guidance, seed],
           [table, plot, report, trial, suite], status, "run_probes", page_only=[help_md], concurrency_id=MODEL,
           concurrency_limit=ctx.concurrency_limit)

    def open_fn(res, trial_id, row):
        if res is None:
            raise ValueError("trial: run the probes first")
        by_id = {t["id"]: t for t in res["trials"]}
        if trial_id not in by_id:
            raise ValueError(f"trial: unknown trial {shown(trial_id)}; choose one of {', '.join(by_id)}")
        t = by_id[trial_id]
        frames = res.frames.get(trial_id, {})
        if row not in frames:
            raise ValueError(f"video of row: {shown(row)} has no frames for this trial (rows with frames: "
                             f"{', '.join(frames)})")
        sc = scale_for(t["height"], t["width"], 128)
        tracks = {tr["color"]: _track_xy(tr) for tr in t["tracks"].get(row, [])}
        truth = {tr["color"]: _track_xy(tr) for tr in t["tracks"].get("truth", [])}
        side = hstack_videos(draw_tracks(frames[row], tracks, sc), draw_tracks(frames["truth"], {}, sc, truth))
        path = str(write_mp4(side, ctx.new_path(".mp4"), upscale_to=128))
        return path, {"id": trial_id, "caption": t["caption"], "observed": t["observed"], "metrics": t["metrics"]}, ""

    action([open_trial.click], open_fn, [suite, trial, row], [trial_video, trial_info], trial_status, "probe_trial")
    return {}
