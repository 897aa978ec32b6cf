"""Does the model answer a kick as the truth does? A Play game as the browser test plays it: one red ball placed
on an empty floor and aimed to the right, 4 frames observed, 8 frames played, then a kick in each of 4 directions,
4 frames played on. Reports, per kick direction and seed, the model's and the truth's ball direction of motion
before and after the kick (image degrees, 0 = right, 90 = up) and the game's own kick_response score.

    python runs/worldsim-v2/kick_check.py [MODEL_DIR] [--seeds 3] [--guidance G] [--steps N] [--precision fp32|bf16|auto]
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace

import numpy as np
import torch

from playground import play
from playground.paths import DEFAULT_MODEL_DIR
from playground.pipeline import WorldSimPipeline
from playground.probes.parser import color_track, parse_video
from playground.world.families import sample_scene


def heading(track, f0: int, f1: int) -> float | None:
    a, b = track.centroids[f0], track.centroids[f1]
    if not (np.isfinite(a).all() and np.isfinite(b).all()) or np.hypot(*(b - a)) < 0.5:
        return None
    return round(math.degrees(math.atan2(-(b - a)[1], (b - a)[0])), 1)


def diff(a: float, b: float) -> float:
    """Degrees between two headings."""
    return abs((a - b + 180) % 360 - 180)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=str(DEFAULT_MODEL_DIR))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--guidance", type=float, default=play.PLAY_GUIDANCE)
    ap.add_argument("--steps", type=int, default=None, help="denoising steps per chunk (default: the model's own)")
    ap.add_argument("--precision", choices=("fp32", "bf16", "auto"), default="fp32")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    pipe = WorldSimPipeline.from_pretrained(args.model)
    pipe.set_precision(args.precision)
    pipe.set_progress_bar_config(disable=True)
    H = W = 32
    base = replace(sample_scene("inertia", "train", np.random.default_rng(0), 16), balls=[], kicks=[], n_frames=1)
    base = play.place_ball(base, 0.35 * W, 0.72 * H, "red", 0.16, H, W)  # as the browser test places and aims it
    base = play.aim_ball(base, 0, 0.6 * W, 0.72 * H, 0.5, H, W)
    rows, agree, turned = [], [], []
    per = 8 // play.chunk_size(pipe)
    for angle in (90, 180, -90, 0):
        for seed in range(args.seeds):
            g = play.start(pipe, base, observed=4, seed=seed, steps=args.steps, guidance=args.guidance)
            g = play.step(pipe, g, chunks=per)  # frames 4..11
            tr = color_track(parse_video(g.truth()), "red")
            x, y = tr.centroids[g.num_frames - 1]
            dx, dy = math.cos(math.radians(angle)), -math.sin(math.radians(angle))
            g, msg = play.kick(g, float(x), float(y), dx, dy, 1.0)
            f = g.num_frames - 1  # 11
            g = play.step(pipe, g, chunks=per // 2)  # frames 12..15 (before a wall can turn the truth's ball)
            tm = color_track(parse_video(g.frames), "red")
            tt = color_track(parse_video(g.truth()), "red")
            s = play.scores(g)
            resp = s["kick_response"][0] if s["kick_response"] else {}
            agree.append(bool(resp.get("same_direction")))
            row = {"kick_deg": angle, "seed": seed, "message": msg,
                   "model_before": heading(tm, 3, f), "truth_before": heading(tt, 3, f),
                   "model_after": heading(tm, f, f + 4), "truth_after": heading(tt, f, f + 4),
                   "objects_kept": s.get("objects_kept"), "kick_response": resp}
            mb, ma, ta = row["model_before"], row["model_after"], row["truth_after"]
            # as the browser test asks: the model's ball turns by more than 20 degrees, within 45 of the truth's
            turned.append(None not in (mb, ma, ta) and diff(ma, mb) > 20 and diff(ma, ta) < 45)
            rows.append(row)
    print(json.dumps({"model": args.model, "guidance": args.guidance, "steps": pipe.default_steps if args.steps is None else args.steps,
                      "precision": args.precision,
                      "same_direction_rate": float(np.mean(agree)),
                      "turned_like_truth_rate": float(np.mean(turned)), "games": rows}, indent=1))


if __name__ == "__main__":
    main()
