"""Does the model answer a kick as the truth does? A Play game as the browser test plays it: one red ball placed
on an empty floor and aimed to the right, 4 frames observed, 4 frames played, then a kick in each of 4 directions,
8 frames played on. Reports, per kick direction and seed, the model's and the truth's ball direction of motion
before and after the kick (image degrees, 0 = right, 90 = up) and the game's own kick_response score.

    python runs/worldsim-v2/kick_check.py [MODEL_DIR] [--seeds 3]
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


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=str(DEFAULT_MODEL_DIR))
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    pipe = WorldSimPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    H = W = 32
    base = replace(sample_scene("inertia", "train", np.random.default_rng(0), 16), balls=[], kicks=[], n_frames=1)
    base = play.place_ball(base, 0.45 * W, 0.75 * H, "red", 0.16, H, W)
    base = play.aim_ball(base, 0, 0.85 * W, 0.75 * H, 0.8, H, W)
    rows, agree = [], []
    for angle in (90, 180, -90, 0):
        for seed in range(args.seeds):
            g = play.start(pipe, base, observed=4, seed=seed)
            g = play.step(pipe, g, chunks=4 // play.chunk_size(pipe))
            truth = parse_video(g.truth())
            tr = color_track(truth, "red")
            x, y = tr.centroids[g.num_frames - 1]
            dx, dy = math.cos(math.radians(angle)), -math.sin(math.radians(angle))
            g, msg = play.kick(g, float(x), float(y), dx, dy, 1.0)
            f = g.num_frames - 1
            g = play.step(pipe, g, chunks=8 // play.chunk_size(pipe))
            tm = color_track(parse_video(g.frames), "red")
            tt = color_track(parse_video(g.truth()), "red")
            s = play.scores(g)
            resp = s["kick_response"][0] if s["kick_response"] else {}
            agree.append(bool(resp.get("same_direction")))
            rows.append({"kick_deg": angle, "seed": seed, "message": msg,
                         "model_before": heading(tm, 4, f), "truth_before": heading(tt, 4, f),
                         "model_after": heading(tm, f + 1, f + 5), "truth_after": heading(tt, f + 1, f + 5),
                         "objects_kept": s.get("objects_kept"), "kick_response": resp})
    print(json.dumps({"model": args.model, "same_direction_rate": float(np.mean(agree)), "games": rows}, indent=1))


if __name__ == "__main__":
    main()
