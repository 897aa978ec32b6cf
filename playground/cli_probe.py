"""`python -m playground probe ...`: run the physics probe suite, print tables, write JSON (and markdown)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import UserError
from .paths import DEFAULT_MODEL_DIR

DEFAULT_TRIALS = 8


def add_probe_parser(subparsers) -> argparse.ArgumentParser:
    """Register the `probe` sub-command on an argparse subparsers object."""
    from .probes.suite import PROBES

    p = subparsers.add_parser(
        "probe", help="score a model (and the truth / baselines) on the physics probes",
        description="Run the physics probes on seeded scenes: ground truth through the parser (the floor), the "
                    "copy_last and const_velocity baselines, and the model. Metrics: docs/probes.md.")
    p.add_argument("--suite", default="all", help=f"'all' or a comma-separated list of: {', '.join(PROBES)}")
    p.add_argument("--trials", type=int, default=DEFAULT_TRIALS, help="scenes per probe and split (1-200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="train,heldout", help="train, heldout or both (comma-separated)")
    p.add_argument("--observed", type=int, default=4, help="observed frames given to every predictor")
    p.add_argument("--steps", type=int, default=None,
                   help="sampling steps of the model (default: its own, WorldSimPipeline.default_steps)")
    p.add_argument("--guidance", type=float, default=2.0)
    p.add_argument("--height", type=int, default=None, help="default: the model's (32 without a model)")
    p.add_argument("--width", type=int, default=None)
    p.add_argument("--model", help="model folder (default: the shipped models/worldsim-s)")
    p.add_argument("--no-model", action="store_true", help="truth and baselines only")
    p.add_argument("--json", default="probes.json", help="where to write the full results (JSON)")
    p.add_argument("--markdown", help="also write the tables as markdown here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def _fail(msg: str):
    raise UserError(msg)


def run(args: argparse.Namespace) -> int:
    """Execute the `probe` sub-command; bad input raises UserError (one line on stderr and exit code 2 from the
    command line)."""
    from .probes.suite import format_table, resolve_probes, run_suite, to_markdown

    try:
        names = resolve_probes(args.suite)
    except ValueError as e:
        _fail(f"--suite: {e}")
    if not 1 <= args.trials <= 200:
        _fail(f"--trials must be in [1, 200], got {args.trials}")
    for flag, v in (("--height", args.height), ("--width", args.width)):
        if v is not None and not 8 <= v <= 256:
            _fail(f"{flag} must be in [8, 256] pixels, got {v}")
    if args.model and args.no_model:
        _fail("--model and --no-model exclude each other")
    for out in filter(None, (args.json, args.markdown)):
        if not Path(out).parent.exists():
            _fail(f"cannot write {out}: folder {Path(out).parent} does not exist")

    pipe = None
    if not args.no_model:
        model = Path(args.model) if args.model else DEFAULT_MODEL_DIR
        if not (model / "model_index.json").is_file():
            _fail(f"no model folder at {model} (it needs a model_index.json); pass --model DIR, or --no-model "
                  f"to score the truth and baselines only")
        from .pipeline import WorldSimPipeline

        pipe = WorldSimPipeline.from_pretrained(model)
        pipe.set_progress_bar_config(disable=True)

    bar = None
    if not args.quiet:
        from tqdm import tqdm
        bar = tqdm(total=1, desc="probes", unit="trial", file=sys.stderr)

    def progress(done, total, desc):
        if bar is not None:
            bar.total = total
            bar.set_postfix_str(desc)
            bar.update(done - bar.n)

    try:
        result = run_suite(pipe, probes=names, trials=args.trials, seed=args.seed, split=args.split,
                           observed=args.observed, steps=args.steps, guidance_scale=args.guidance,
                           height=args.height, width=args.width, progress=progress)
    except ValueError as e:
        _fail(str(e))
    finally:
        if bar is not None:
            bar.close()
    print(format_table(result))
    try:
        Path(args.json).write_text(json.dumps(result, allow_nan=False))
        if args.markdown:
            Path(args.markdown).write_text(to_markdown(result))
    except OSError as e:
        _fail(f"cannot write output: {e}")
    print(f"wrote {args.json}" + (f" and {args.markdown}" if args.markdown else ""))
    return 0
