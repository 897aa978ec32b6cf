"""Emergence over compute: when does each ability appear along a training run?

    python -m playground emergence runs/pilot-chunk [--trials 6] [--steps 4]

Training with `snapshot_every_s` leaves EMA snapshots in RUN_DIR/snapshots (step, DiT compute seconds, samples
seen). This scores every snapshot not scored yet - evaluate's headline rows (objects kept, velocity error) and the
inertia and permanence probes, in-distribution, a few trials each so a run is barely slowed - and appends one line
per snapshot to RUN_DIR/emergence.jsonl, the truth's and the baselines' scores beside the model's. The model card
plots these lines against compute.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from .errors import UserError, run_command

PROBE_METRICS = {"inertia": ("velocity_err", "linear_r2"), "permanence": ("reemergence_rate", "colour_kept")}


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
