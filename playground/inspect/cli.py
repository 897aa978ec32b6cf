"""`python -m playground inspect`: the representation study and the attention interventions, as JSON and Markdown.

    python -m playground inspect --what probes,ablate --json models/worldsim-s/inspect.json \\
        --md models/worldsim-s/inspect.md
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from ..errors import UserError

WHAT = ("probes", "ablate")


def add_inspect_parser(sub) -> None:
    p = sub.add_parser("inspect", help="linear probes on the DiT's hidden states and attention interventions",
                       description=__doc__)
    p.add_argument("--model", help="model folder (default: the shipped models/worldsim-s)")
    p.add_argument("--what", default="probes,ablate", help=f"comma-separated, from {', '.join(WHAT)}")
    p.add_argument("--clips", type=int, default=48, help="in-distribution clips (split by clip into fit / test)")
    p.add_argument("--heldout-clips", type=int, default=16, help="held-out clips, scored with the same probes")
    p.add_argument("--sigmas", default="0.2,0.6", help="noise levels to record the hidden states at")
    p.add_argument("--tasks", default="all", help="depth,ball,position,velocity,hidden,camera or all")
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples of the test clips")
    p.add_argument("--probes", default="inertia,permanence,consistency",
                   help="suite probes re-run under each ablation")
    p.add_argument("--trials", type=int, default=6, help="suite trials per probe and split for the ablations")
    p.add_argument("--steps", type=int, default=10, help="sampling steps for the ablation runs")
    p.add_argument("--split", default="train", help="suite splits for the ablations (train, heldout)")
    p.add_argument("--heads", default="", help="custom ablation: BLOCK:HEAD pairs, e.g. '3:0,3:1' or '5:*'")
    p.add_argument("--time-off", default="", help="custom ablation: blocks whose attention may not cross time")
    p.add_argument("--window", type=int, default=None,
                   help="custom ablation: temporal attention sees only the last K frames")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.add_argument("--json", help="write the results here (JSON)")
    p.add_argument("--md", help="write the report here (Markdown)")
    p.set_defaults(func=cmd_inspect)


def _ints(text: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UserError(f"--{name}: expected comma-separated block numbers, got {text!r}")


def cmd_inspect(args) -> None:
    import torch

    from ..paths import DEFAULT_MODEL_DIR
    from ..pipeline import WorldSimPipeline
    from .ablate import Ablation, parse_heads
    from .interventions import run_interventions, to_markdown as ablate_markdown
    from .study import TASKS, StudyConfig, run_study, to_markdown as study_markdown

    if args.threads:
        torch.set_num_threads(args.threads)
    what = [w.strip() for w in args.what.split(",") if w.strip()]
    bad = [w for w in what if w not in WHAT]
    if bad or not what:
        raise UserError(f"--what: unknown {bad or what}; choose from {', '.join(WHAT)}")
    model = Path(args.model or DEFAULT_MODEL_DIR)
    if not (model / "model_index.json").is_file():
        raise UserError(f"no model folder at {model} (it needs a model_index.json); pass --model DIR")
    pipe = WorldSimPipeline.from_pretrained(model)
    pipe.set_progress_bar_config(disable=True)
    command = "python -m playground inspect " + " ".join(shlex.quote(a) for a in sys.argv[2:]) \
        if len(sys.argv) > 2 and sys.argv[1] == "inspect" else "python -m playground inspect"
    out = {"command": command, "model": str(args.model or "models/worldsim-s")}
    md = []
    try:
        if "probes" in what:
            tasks = tuple(TASKS) if args.tasks.strip() == "all" else tuple(t.strip() for t in args.tasks.split(","))
            sigmas = tuple(float(s) for s in args.sigmas.split(",") if s.strip())
            cfg = StudyConfig(clips=args.clips, heldout_clips=args.heldout_clips, sigmas=sigmas, tasks=tasks,
                              seed=args.seed, bootstrap=args.bootstrap)
            out["probes"] = run_study(pipe, cfg, progress=lambda d, n: print(f"recorded {d}/{n} clips", flush=True))
            md.append(study_markdown(out["probes"], command))
            _write(args, out, md)  # keep the study even if the interventions are stopped
        if "ablate" in what:
            custom = Ablation(heads=parse_heads(args.heads), time_off=_ints(args.time_off, "time-off"),
                              window=args.window)
            ablations = None if custom.empty else {"custom": custom}
            out["interventions"] = run_interventions(
                pipe, ablations, probes=args.probes, trials=args.trials, seed=args.seed, split=args.split,
                steps=args.steps, progress=lambda d, n, name: print(f"ablation {d}/{n}: {name}", flush=True))
            md.append(ablate_markdown(out["interventions"], command))
    except ValueError as e:
        raise UserError(str(e))
    _write(args, out, md, final=True)


def _write(args, out: dict, md: list[str], final: bool = False) -> None:
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    if args.md:
        Path(args.md).write_text("\n\n".join(md))
    if final:
        for f in (args.json, args.md):
            if f:
                print(f"wrote {f}")
        if not args.json and not args.md:
            print("\n\n".join(md))
