"""The model card's headline scores: does the model keep the objects, and does it move them right?

    python -m playground.evaluate [--model DIR] [--trials 24] [--observed 4] [--sampler shipped] [--json out.json]

For held-out seeds of the `mixed` family (plain integer seeds from 2e9 up; training clips come from spawned
SeedSequence children, a disjoint stream), in-distribution and held-out parameter ranges separately: the true simulator renders the clip,
the first `observed` frames are given, and each row predicts the rest:
  truth          the true frames (the parser's noise floor)
  autoencoder    the true frames through the video autoencoder (the best any model in its latent space can do)
  model          the pipeline's rollout
  copy_last      the last observed frame, repeated
  const_velocity the probe suite's baseline (playground.probes.suite.const_velocity): the parsed balls of the
                 observed frames moved on at their least-squares velocity (detections, no frames)
Metrics, over predicted frames only, parsed by `playground.probes.parser`:
  objects_kept   share of frames whose parsed colour multiset (which colours, how many blobs of each) equals
                 the one parsed from the true frame (const_velocity: from its detections)
  failures       why the other frames fail, each as a share of all predicted frames (a frame can fail in several
                 ways): `missing` a colour of the truth is not found, `extra` a colour the truth does not have,
                 `split` more blobs of a true colour than the truth has
  velocity_err   mean |v_pred - v_true| in px/frame, v from consecutive centroids, v_true from the projected
                 ground truth, over balls fully visible (visible fraction > 0.9) in both frames; a ball the
                 row lost in a frame counts as its true speed (it did not move it)
  position_err   mean centroid distance (px) to the projected ground truth over the same balls; a lost ball
                 counts as the image diagonal / 4
The command line also measures the DiT's denoising error at fixed noise levels (`denoise_error`) and whether clips made
from the prompt alone show its colours and ball count (`text_only`).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from diffusers import FlowMatchEulerDiscreteScheduler
from tqdm.auto import tqdm

from .diffusion.sampler import SAMPLER_TEXT, sampler_name
from .paths import DEFAULT_MODEL_DIR
from .probes.parser import color_track, parse_video
from .probes.suite import const_velocity, copy_last
from .world import sample_clip
from .world.actions import kick_to_pixel

EVAL_SEED_BASE = 2_000_000_000


def _colour_multiset(dets) -> Counter:
    return Counter(d.color for d in dets)


def _failure_kinds(pred: Counter, truth: Counter) -> dict[str, bool]:
    """How a frame's parsed colour multiset differs from the truth's (see `failures` in the module docstring)."""
    return {"missing": any(c not in pred for c in truth), "extra": any(c not in truth for c in pred),
            "split": any(pred[c] > n for c, n in truth.items() if c in pred)}


def _track_errors(centroids_pred: np.ndarray, gt_c: np.ndarray, gt_vis: np.ndarray, k: int, lost_pos: float):
    """Velocity and position errors of one ball over predicted frames k..T-1 (pred NaN = lost)."""
    v_err, p_err = [], []
    for t in range(max(k, 1), len(gt_c)):
        if gt_vis[t] < 0.9 or gt_vis[t - 1] < 0.9:
            continue
        v_true = gt_c[t] - gt_c[t - 1]
        if np.isfinite(centroids_pred[t]).all() and np.isfinite(centroids_pred[t - 1]).all():
            v_err.append(float(np.linalg.norm(centroids_pred[t] - centroids_pred[t - 1] - v_true)))
        else:
            v_err.append(float(np.linalg.norm(v_true)))
        if np.isfinite(centroids_pred[t]).all():
            p_err.append(float(np.linalg.norm(centroids_pred[t] - gt_c[t])))
        else:
            p_err.append(lost_pos)
    return v_err, p_err


def evaluate(pipe, trials: int = 24, observed: int = 4, splits=("train", "heldout"), steps: int | None = None,
             guidance: float = 2.0, seed: int = 0, progress: bool = True, use_actions: bool = True,
             context_sigma: float = 0.0, guidance_min_sigma: float = 0.0) -> dict:
    """Scores per split and row (see the module docstring). A model that takes actions is given each clip's kicks
    unless `use_actions` is False (then it is rolled out as if nobody kicked, as a model without actions is).
    `context_sigma` (the noise put on a next-chunk model's context frames at sampling) and `guidance_min_sigma` (text
    guidance only above this noise level) are the pipeline's arguments."""
    T, H, W = pipe.defaults["frames"], pipe.defaults["height"], pipe.defaults["width"]
    lost_pos = float(np.hypot(H, W) / 4)
    steps = pipe.default_steps if steps is None else steps
    takes_actions = bool(getattr(pipe, "accepts_actions", False)) and use_actions
    result: dict = {"trials": trials, "observed": observed, "frames": T, "height": H, "width": W, "steps": steps,
                    "guidance": guidance, "sampler": sampler_name(pipe), "model_actions": takes_actions,
                    "context_sigma": float(context_sigma), "guidance_min_sigma": float(guidance_min_sigma),
                    "splits": {}}
    for split in splits:
        names = ("truth", "autoencoder", "model", "copy_last", "const_velocity")
        rows = {r: {"kept": [], "v": [], "p": [], "fail": Counter()} for r in names
                if r != "autoencoder" or hasattr(pipe, "vae")}
        for i in tqdm(range(trials), desc=f"evaluate {split}", disable=not progress):
            clip = sample_clip("mixed", split, seed=EVAL_SEED_BASE + seed * 10_000 + i, n_frames=T, height=H, width=W)
            gen = torch.Generator().manual_seed(seed * 10_000 + i)
            extra = {"context_sigma": result["context_sigma"], "guidance_min_sigma": result["guidance_min_sigma"]}
            if takes_actions:  # a world model that takes actions is told the clip's kicks, as a player would give them
                extra["actions"] = [kick_to_pixel(clip.scene, k, H, W) for k in clip.scene.kicks]
            out = pipe(clip.caption, observed_frames=clip.frames[:observed], num_frames=T, height=H, width=W,
                       num_inference_steps=steps, guidance_scale=guidance, generator=gen, enrich_prompt=False,
                       **extra)
            videos = {"truth": clip.frames, "model": out.frames[0], "copy_last": copy_last(clip.frames, observed)}
            if "autoencoder" in rows:
                with torch.no_grad():
                    z = pipe.vae.encode_frames(clip.frames[None])
                videos["autoencoder"] = pipe.decode_latents(z)[0]
            parsed = {name: parse_video(v) for name, v in videos.items()}
            # the probe suite's baselines, one implementation each: const_velocity extrapolates the parsed observed
            # tracks at their least-squares velocity (a track-level predictor: detections, no frames)
            parsed["const_velocity"] = const_velocity(parsed["truth"], observed, H, W)
            for name in parsed:
                for t in range(observed, T):
                    pred, want = _colour_multiset(parsed[name][t]), _colour_multiset(parsed["truth"][t])
                    rows[name]["kept"].append(pred == want)
                    rows[name]["fail"].update(k for k, bad in _failure_kinds(pred, want).items() if bad)
            for b, ball in enumerate(clip.scene.balls):
                gt_c, gt_vis = clip.gt.centroids[:, b], clip.gt.visible[:, b]
                for name in parsed:
                    tr = color_track(parsed[name], ball.color)
                    v, p = _track_errors(tr.centroids, gt_c, gt_vis, observed, lost_pos)
                    rows[name]["v"] += v
                    rows[name]["p"] += p
        result["splits"][split] = {
            name: {
                "objects_kept": float(np.mean(r["kept"])) if r["kept"] else None,
                "velocity_err_px": float(np.mean(r["v"])) if r["v"] else None,
                "position_err_px": float(np.mean(r["p"])) if r["p"] else None,
                "failures": ({k: r["fail"][k] / len(r["kept"]) for k in ("missing", "extra", "split")}
                             if r["kept"] else None),
                "n_frames": len(r["kept"]),
                "n_ball_frames": len(r["v"]),
            }
            for name, r in rows.items()
        }
    return result


def _shows_prompt(parsed_frames, colours: list[str], count: int) -> list[bool]:
    """Per frame: does it show exactly the prompt's colours, `count` balls in all (one blob per ball)?"""
    want = set(colours)
    return [set(_colour_multiset(f)) == want and len(f) == count for f in parsed_frames]


def text_only(pipe, clips: int = 24, steps: int | None = None, guidance: float = 2.0, seed: int = 0,
              captioner=None, progress: bool = True) -> dict:
    """Text-to-video: do clips made from the prompt alone show the prompt's colours and ball count?

    The prompts are the rich captions of `clips` fresh in-distribution `mixed` clips (seeds EVAL_SEED_BASE +
    seed * 10,000 + 5,000 + i, apart from evaluate's). Each video (no observed frame, the model's default length)
    is parsed frame by frame; a frame shows the prompt when its parsed colours are exactly the prompt's and it has
    the prompt's number of balls; a clip shows the prompt when at least half its frames do. Rows: `model`; `truth`,
    the simulator's clip of that very caption (the measure's ceiling: a ball can be hidden or out of view);
    `other_clip`, the simulator's clip of the next caption judged against this one (chance). With `captioner`,
    also how often the learned captioner reads the prompt's colours and count off the model's video."""
    from .enrich import prompt_attributes

    T, H, W = pipe.defaults["frames"], pipe.defaults["height"], pipe.defaults["width"]
    steps = pipe.default_steps if steps is None else steps
    cl = [sample_clip("mixed", "train", seed=EVAL_SEED_BASE + seed * 10_000 + 5_000 + i, n_frames=T, height=H,
                      width=W) for i in range(clips)]
    rows = {r: {"clips": [], "frames": []} for r in ("truth", "model", "other_clip")}
    agree = []
    for i in tqdm(range(clips), desc="text only", disable=not progress):
        a = prompt_attributes(cl[i].caption)
        gen = torch.Generator().manual_seed(seed * 10_000 + 5_000 + i)
        out = pipe(cl[i].caption, num_frames=T, height=H, width=W, num_inference_steps=steps,
                   guidance_scale=guidance, generator=gen, enrich_prompt=False)
        videos = {"truth": cl[i].frames, "model": out.frames[0], "other_clip": cl[(i + 1) % clips].frames}
        for name, v in videos.items():
            shown = _shows_prompt(parse_video(v), a["colours"], a["count"])
            rows[name]["frames"] += shown
            rows[name]["clips"].append(float(np.mean(shown)) >= 0.5)
        if captioner is not None:
            seen = captioner.describe(out.frames[0][None])[0]
            agree.append(seen["colours"] == a["colours"] and seen["count"] == a["count"])
    res = {"clips": clips, "steps": steps, "guidance": guidance, "frames": T, "height": H, "width": W,
           "rows": {name: {"clips_shown": float(np.mean(r["clips"])), "frames_shown": float(np.mean(r["frames"]))}
                    for name, r in rows.items()}}
    if captioner is not None:
        res["captioner_agrees"] = float(np.mean(agree))
    return res


def text_only_markdown(res: dict) -> str:
    lines = [f"Text only: {res['clips']} prompts (rich captions of fresh in-distribution `mixed` clips), "
             f"{res['frames']} frames at {res['height']}x{res['width']} from the prompt alone, {res['steps']} steps "
             f"per chunk, guidance {res['guidance']}. A frame shows the prompt when the parser finds exactly its "
             "colours and its number of balls; a clip, when half its frames or more do. truth = the simulator's "
             "clip of the same caption (the ceiling), other_clip = the simulator's clip of another caption "
             "(chance).", "", "| row | clips showing the prompt | frames showing it |", "| --- | --- | --- |"]
    for name, r in res["rows"].items():
        lines.append(f"| {name} | {100 * r['clips_shown']:.1f}% | {100 * r['frames_shown']:.1f}% |")
    if "captioner_agrees" in res:
        lines += ["", f"The learned captioner reads the prompt's colours and count off "
                  f"{100 * res['captioner_agrees']:.1f}% of the model's text-only clips."]
    return "\n".join(lines)


def _sampling_text(res: dict) -> str:
    """The guidance interval and context noise of a result, when they are on."""
    out = ""
    if res.get("guidance_min_sigma"):
        out += f" on the steps above noise level {res['guidance_min_sigma']:g} only"
    if res.get("context_sigma"):
        out += f", context frames noised to level {res['context_sigma']:g}"
    return out


def to_markdown(result: dict) -> str:
    lines = [f"Held-out seeds, `mixed` family, {result['trials']} clips per split, {result['observed']} of "
             f"{result['frames']} frames observed at {result['height']}x{result['width']}, {result['steps']} steps, "
             f"guidance {result['guidance']}" + _sampling_text(result)
             + SAMPLER_TEXT.get(result.get("sampler"), "")
             + ".", ""]
    lines.append("| split | row | objects kept (frames) | velocity error (px/frame) | position error (px) | "
                 "frames missing a colour | with an extra colour | with a split ball |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    fmt = lambda v, pct=False: "n/a" if v is None else (f"{100 * v:.1f}%" if pct else f"{v:.2f}")  # noqa: E731
    for split, rows in result["splits"].items():
        name = "in-distribution" if split == "train" else "held-out"
        for row, m in rows.items():
            fail = m.get("failures") or {}
            lines.append(f"| {name} | {row} | {fmt(m['objects_kept'], True)} | {fmt(m['velocity_err_px'])} | "
                         f"{fmt(m['position_err_px'])} | "
                         + " | ".join(fmt(fail.get(k), True) for k in ("missing", "extra", "split")) + " |")
    if result.get("denoise"):
        d = result["denoise"]
        lines += ["", f"Denoising error of the DiT alone (latent RMS over predicted frames, latents of unit variance; "
                  f"{d['clips']} in-distribution clips, true latents noised to each level, {result['observed']} "
                  f"frames observed; copy-last: {d['copy_last_rmse']:.3f}):", "",
                  "| noise level | " + " | ".join(f"{s:g}" for s in d["sigmas"]) + " |",
                  "| --- |" + " --- |" * len(d["sigmas"]),
                  "| x0 error | " + " | ".join(f"{e:.3f}" for e in d["model_rmse"]) + " |"]
    if result.get("text_only"):
        lines += ["", text_only_markdown(result["text_only"])]
    return "\n".join(lines)


@torch.no_grad()
def denoise_error(pipe, clips: int = 12, observed: int = 4, sigmas=(1.0, 0.7, 0.5, 0.3, 0.1, 0.03),
                  seed: int = 0) -> dict:
    """The DiT's x0 error at fixed noise levels: true latents of held-out in-distribution clips, noised to sigma,
    the first `observed` frames given clean, the caption as text, no guidance (a next-chunk model: its window, the
    observed frames as context and the chunk after them). At low sigma the input nearly is the answer, so the
    error there is the floor the network adds to every sampled video."""
    T, H, W = pipe.defaults["frames"], pipe.defaults["height"], pipe.defaults["width"]
    vids = [sample_clip("mixed", "train", seed=EVAL_SEED_BASE + seed * 10_000 + i, n_frames=T, height=H, width=W)
            for i in range(clips)]
    z = pipe.vae.encode_frames(np.stack([v.frames for v in vids]))  # (N, c, T, h, w)
    if getattr(pipe, "rolls_out", False):  # a next-chunk model sees its window: the observed frames and one chunk
        cfg = pipe.transformer.config
        observed = min(observed, int(cfg.context_frames))
        z = z[:, :, :observed + int(cfg.patch_size_t)]
        T = z.shape[2]
    text = pipe.encode_text([v.caption for v in vids])
    mask = torch.zeros(clips, T, device=pipe.device)
    mask[:, :observed] = 1
    m = mask[:, None, :, None, None]
    noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(seed)).to(pipe.device)
    copy_last = z[:, :, observed - 1 : observed].expand_as(z)
    rmse = lambda a: float(((a - z)[:, :, observed:] ** 2).mean().sqrt())  # noqa: E731
    errs = []
    for s in sigmas:
        x_t = ((1 - s) * z + s * noise) * (1 - m) + z * m
        errs.append(rmse(pipe.transformer(x_t, torch.full((clips,), s, device=pipe.device), text_embeds=text,
                                          cond_latents=z, cond_mask=mask)))
    return {"clips": clips, "sigmas": list(sigmas), "model_rmse": errs, "copy_last_rmse": rmse(copy_last)}


def main(argv=None) -> None:
    from .pipeline import WorldSimPipeline

    ap = argparse.ArgumentParser(prog="python -m playground.evaluate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(DEFAULT_MODEL_DIR))
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--observed", type=int, default=4)
    ap.add_argument("--steps", type=int, default=None, help="denoising steps (per chunk for a next-chunk model; "
                    "default: the model's own, WorldSimPipeline.default_steps)")
    ap.add_argument("--guidance", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sampler", choices=("shipped", "ode", "stochastic"), default="shipped",
                    help="the model's own scheduler config, or its scheduler with stochastic_sampling off / on")
    ap.add_argument("--no-actions", action="store_true",
                    help="roll a model that takes actions out without the clips' kicks")
    ap.add_argument("--precision", choices=("fp32", "bf16", "auto"), default="fp32",
                    help="the DiT's precision when sampling on the CPU (auto: bf16 where the CPU has native bf16)")
    ap.add_argument("--context-sigma", type=float, default=0.0,
                    help="noise level put on a next-chunk model's context frames at sampling (the model is told it)")
    ap.add_argument("--guidance-min-sigma", type=float, default=0.0,
                    help="text guidance only on steps above this noise level (0: every step)")
    ap.add_argument("--text-only", type=int, default=24, metavar="N",
                    help="also make N clips from their prompts alone and check their colours and count (0: skip)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    pipe = WorldSimPipeline.from_pretrained(args.model)
    precision = pipe.set_precision(args.precision)
    if args.sampler != "shipped":
        pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(
            pipe.scheduler.config, stochastic_sampling=args.sampler == "stochastic")
    pipe.set_progress_bar_config(disable=True)
    res = evaluate(pipe, trials=args.trials, observed=args.observed, steps=args.steps, guidance=args.guidance,
                   seed=args.seed, use_actions=not args.no_actions, context_sigma=args.context_sigma,
                   guidance_min_sigma=args.guidance_min_sigma)
    res["precision"] = precision
    res["denoise"] = denoise_error(pipe, observed=args.observed, seed=args.seed)
    if args.text_only:
        from .captioner import load_captioner

        res["text_only"] = text_only(pipe, clips=args.text_only, steps=args.steps, guidance=args.guidance,
                                     seed=args.seed, captioner=load_captioner(args.model))
    print(to_markdown(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
