"""Emergence over compute: when does each ability appear along a training run?

    python -m playground emergence runs/pilot-chunk [--trials 6] [--steps 4]

Training with `snapshot_every_s` leaves EMA snapshots in RUN_DIR/snapshots (step, DiT compute seconds, samples
seen). This scores every snapshot not scored yet - evaluate's headline rows (objects kept, velocity error) and the
inertia and permanence probes, in-distribution, a few trials each so a run is barely slowed - and appends one line
per snapshot to RUN_DIR/emergence.jsonl, the truth's and the baselines' scores beside the model's, and redraws
RUN_DIR/emergence.png. The model card shows both (copy them into the model folder).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from .errors import UserError, run_command

PROBE_METRICS = {"inertia": ("vel_err_px", "linear_r2"), "permanence": ("reemergence_rate", "colour_kept")}


def score_pipe(pipe, trials: int, steps: int, seed: int = 0) -> dict:
    """Evaluate's headline rows and the inertia / permanence probes' headline metrics, in-distribution."""
    from .evaluate import evaluate
    from .probes.suite import run_suite

    ev = evaluate(pipe, trials=trials, splits=("train",), steps=steps, seed=seed, progress=False)["splits"]["train"]
    out = {"evaluate": {row: {"objects_kept": r["objects_kept"], "velocity_err_px": r["velocity_err_px"]}
                        for row, r in ev.items()}}
    suite = run_suite(pipe, probes=list(PROBE_METRICS), trials=trials, seed=seed, split="train", steps=steps)
    summary = suite.to_json_dict()["summary"]
    out["probes"] = {p: {row: {m: vals.get(m) for m in ms} for row, vals in summary[p]["train"].items()}
                     for p, ms in PROBE_METRICS.items()}
    return out


def score_run(run_dir: Path, model_dir: Path, trials: int = 6, steps: int | None = None, seed: int = 0) -> list[dict]:
    """Score the run's unscored snapshots with the pipeline of `model_dir` (the run's exported model: its
    autoencoder, text encoder and config), the snapshot's weights in its transformer. steps: denoising steps
    (default 4 per chunk for a next-chunk model, 20 for a joint one)."""
    from .pipeline import WorldSimPipeline

    log = run_dir / "emergence.jsonl"
    done = set()
    if log.exists():
        done = {json.loads(line)["step"] for line in log.read_text().splitlines() if line.strip()}
    snaps = sorted(p for p in (run_dir / "snapshots").glob("step_*") if (p / "snapshot.json").exists())
    todo = [p for p in snaps if json.loads((p / "snapshot.json").read_text())["step"] not in done]
    if not todo:
        return []
    pipe = WorldSimPipeline.from_pretrained(model_dir)
    pipe.set_progress_bar_config(disable=True)
    steps = steps or (4 if pipe.rolls_out else 20)
    lines = []
    for p in todo:
        meta = json.loads((p / "snapshot.json").read_text())
        weights = load_file(str(p / "ema.safetensors"))
        pipe.transformer.load_state_dict({k: v.float() for k, v in weights.items()})
        with torch.no_grad():
            rec = {**meta, "trials": trials, "steps": steps, "seed": seed, **score_pipe(pipe, trials, steps, seed)}
        with open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        lines.append(rec)
        ev = rec["evaluate"]
        write_plot(log, run_dir / "emergence.png")
        print(f"step {meta['step']:>7}  compute {meta['compute_s'] / 3600:.2f} h  objects kept "
              f"{ev['model']['objects_kept']:.3f} (copy-last {ev['copy_last']['objects_kept']:.3f})  velocity error "
              f"{ev['model']['velocity_err_px']:.2f} px/frame")
    return lines


def add_emergence_parser(sub) -> None:
    e = sub.add_parser("emergence", help="score a training run's snapshots (emergence over compute)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("run_dir")
    e.add_argument("--model", help="the run's model folder (default: RUN_DIR/model, else models/<run name>)")
    e.add_argument("--trials", type=int, default=6, help="scenes per score (1-200)")
    e.add_argument("--steps", type=int, default=None,
                   help="denoising steps (default: 4 per chunk for a next-chunk model, 20 for a joint one)")
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(func=cmd_emergence)


def cmd_emergence(args) -> None:
    run_dir = Path(args.run_dir)
    if not (run_dir / "snapshots").is_dir():
        raise UserError(f"{run_dir} has no snapshots/ (train with snapshot_every_s > 0)")
    if not 1 <= args.trials <= 200:
        raise UserError(f"--trials must be in [1, 200], got {args.trials}")
    model = Path(args.model) if args.model else run_dir / "model"
    if not args.model and not model.is_dir() and (run_dir / "config.json").is_file():
        from .paths import REPO_ROOT

        model = REPO_ROOT / "models" / json.loads((run_dir / "config.json").read_text())["name"]
    if not (model / "model_index.json").is_file():
        raise UserError(f"no model folder at {model} (give --model)")
    score_run(run_dir, model, args.trials, args.steps, args.seed)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m playground.emergence")
    add_emergence_parser(ap.add_subparsers(dest="command", required=True))
    args = ap.parse_args(["emergence", *(argv if argv is not None else sys.argv[1:])])
    return run_command(args.func, args)


if __name__ == "__main__":
    sys.exit(main())


# ----------------------------------------------------------------------------- the model card's view
SERIES = (("objects kept", lambda r: r["evaluate"]["model"]["objects_kept"],
           lambda r: r["evaluate"]["copy_last"]["objects_kept"], (0.0, 1.0)),
          ("velocity error px/frame", lambda r: r["evaluate"]["model"]["velocity_err_px"],
           lambda r: r["evaluate"]["copy_last"]["velocity_err_px"], None),
          ("inertia linear R^2", lambda r: r["probes"]["inertia"]["model"]["linear_r2"],
           lambda r: r["probes"]["inertia"]["truth"]["linear_r2"], (0.0, 1.0)),
          ("occluded balls re-emerge", lambda r: r["probes"]["permanence"]["model"]["reemergence_rate"],
           lambda r: r["probes"]["permanence"]["copy_last"]["reemergence_rate"], (0.0, 1.0)))


def write_plot(log: Path, out: Path) -> None:
    """emergence_plot of a log file, as PNG."""
    from PIL import Image

    Image.fromarray(emergence_plot(read_log(log))).save(out)


def read_log(path: Path) -> list[dict]:
    return sorted((json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()),
                  key=lambda r: r["compute_s"])


def _fmt(v, pct: bool) -> str:
    if v is None:
        return "n/a"
    return f"{100 * v:.1f}%" if pct else f"{v:.2f}"


def emergence_markdown(lines: list[dict], image: str | None = "emergence.png") -> str:
    """The card's table: one row per scored snapshot, the model's headline numbers and the baselines beside."""
    out = ["## Emergence over compute", "",
           f"EMA snapshots along the run, each scored in-distribution on {lines[0]['trials']} scenes per score "
           f"(`python -m playground emergence`; {lines[0]['steps']} denoising steps{' per chunk' if lines[0]['steps'] < 20 else ''}). "
           "Copy-last (objects, velocity, re-emergence) and the truth through the parser (R^2) in brackets.", ""]
    if image:
        out += [f"![emergence over compute]({image})", ""]
    out += ["| DiT compute (h) | step | samples seen | objects kept | velocity error px/frame | inertia linear R^2 | "
            "occluded balls re-emerge |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in lines:
        cells = [f"{_fmt(m(r), pct)} ({_fmt(b(r), pct)})" for (name, m, b, rng), pct in
                 zip(SERIES, (True, False, False, True))]
        out.append(f"| {r['compute_s'] / 3600:.2f} | {r['step']:,} | {r['samples_seen']:,} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def emergence_plot(lines: list[dict], width: int = 880, height: int = 220) -> np.ndarray:
    """Small multiples (uint8 RGB): each headline number against DiT compute, the model in orange, its baseline
    dashed in grey."""
    import cv2

    panels = []
    xs = [r["compute_s"] / 3600 for r in lines]
    xmax = max(xs) * 1.05 or 1.0
    pw = width // len(SERIES)
    for name, m, b, rng in SERIES:
        img = np.full((height, pw, 3), 255, np.uint8)
        ys = [m(r) for r in lines]
        bs = [b(r) for r in lines]
        vals = [v for v in ys + bs if v is not None]
        lo, hi = rng if rng else (0.0, max(vals) * 1.1 if vals else 1.0)
        x0, x1, y0, y1 = 34, pw - 8, height - 28, 24

        def pt(x, y):
            return (int(x0 + (x1 - x0) * x / xmax), int(y0 + (y1 - y0) * (y - lo) / ((hi - lo) or 1.0)))

        cv2.rectangle(img, (x0, y1), (x1, y0), (200, 200, 200), 1)
        cv2.putText(img, name, (x0, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(img, f"{hi:.3g}", (2, y1 + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (80, 80, 80), 1, cv2.LINE_AA)
        cv2.putText(img, f"{lo:.3g}", (2, y0), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (80, 80, 80), 1, cv2.LINE_AA)
        cv2.putText(img, f"DiT compute, h (0-{xmax:.1f})", (x0, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.33,
                    (80, 80, 80), 1, cv2.LINE_AA)
        for series, colour, dashed in ((bs, (150, 150, 150), True), (ys, (230, 120, 20), False)):
            pts = [pt(x, y) for x, y in zip(xs, series) if y is not None]
            for a, c in zip(pts, pts[1:]):
                if dashed:
                    for k in range(0, 10, 2):
                        p = (a[0] + (c[0] - a[0]) * k // 10, a[1] + (c[1] - a[1]) * k // 10)
                        q = (a[0] + (c[0] - a[0]) * (k + 1) // 10, a[1] + (c[1] - a[1]) * (k + 1) // 10)
                        cv2.line(img, p, q, colour, 1, cv2.LINE_AA)
                else:
                    cv2.line(img, a, c, colour, 2, cv2.LINE_AA)
            for p in pts:
                cv2.circle(img, p, 3, colour, -1, cv2.LINE_AA)
        panels.append(img)
    return np.concatenate(panels, axis=1)
