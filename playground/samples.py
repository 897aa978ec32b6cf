"""A labelled sample sheet of a model: truth vs. rollout from observed frames, and text-only samples.

    python -m playground.samples [--model DIR] --out assets/samples.png

Rows come in pairs for clips the model never saw (evaluation seeds): the simulator's truth, then the model given
the first `observed` frames (framed in grey). Then text-only samples for a few prompts. Every second frame is
shown, upscaled with nearest neighbour.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from .evaluate import EVAL_SEED_BASE
from .paths import DEFAULT_MODEL_DIR
from .viz.frames import upscale
from .world import sample_clip

PROMPTS = ("a red ball rolls to the left", "two balls collide", "a blue ball falls and bounces",
           "a ball passes behind a wall")


def _strip(frames: np.ndarray, observed: int, scale: int, every: int) -> np.ndarray:
    tiles = []
    for t in range(0, len(frames), every):
        tile = upscale(frames[t], scale)
        border = (128, 128, 128) if t < observed else (30, 30, 30)
        tiles.append(cv2.copyMakeBorder(tile, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=border))
    return np.concatenate(tiles, axis=1)


def _label(strip: np.ndarray, text: str, width: int = 260) -> np.ndarray:
    pad = np.full((strip.shape[0], width, 3), 20, np.uint8)
    y = 18
    for line in _wrap(text, 34):
        cv2.putText(pad, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (235, 235, 235), 1, cv2.LINE_AA)
        y += 16
    return np.concatenate([pad, strip], axis=1)


def _wrap(text: str, n: int) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if len(cur) + len(w) + 1 > n:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return lines + [cur] if cur else lines


def sample_sheet(pipe, families=("inertia", "collision", "occlusion", "gravity", "camera"), observed: int = 4,
                 steps: int | None = None, scale: int = 3, every: int = 2, seed: int = 0) -> np.ndarray:
    T, H, W = pipe.defaults["frames"], pipe.defaults["height"], pipe.defaults["width"]
    rows = []
    for i, fam in enumerate(families):
        clip = sample_clip(fam, "train", seed=EVAL_SEED_BASE + 500 + i, n_frames=T, height=H, width=W)
        out = pipe(clip.caption, observed_frames=clip.frames[:observed], num_inference_steps=steps,
                   generator=torch.Generator().manual_seed(seed + i), enrich_prompt=False).frames[0]
        rows.append(_label(_strip(clip.frames, observed, scale, every), f"{fam}: truth"))
        rows.append(_label(_strip(out, observed, scale, every), f"{fam}: model, {observed} frames observed"))
    for j, p in enumerate(PROMPTS):
        res = pipe(p, num_inference_steps=steps, generator=torch.Generator().manual_seed(seed + 100 + j))
        rows.append(_label(_strip(res.frames[0], 0, scale, every), f"text only: '{p}'"))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows]
    return np.concatenate(rows, axis=0)


def main(argv=None) -> None:
    from PIL import Image

    from .pipeline import WorldSimPipeline

    ap = argparse.ArgumentParser(prog="python -m playground.samples", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(DEFAULT_MODEL_DIR))
    ap.add_argument("--out", default="assets/samples.png")
    ap.add_argument("--steps", type=int, default=None, help="default: the model's own")
    args = ap.parse_args(argv)
    pipe = WorldSimPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    sheet = sample_sheet(pipe, steps=args.steps)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
