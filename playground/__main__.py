"""Command line: `python -m playground {world,generate,probe,caption,inspect,emergence,train} ...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import UserError, run_command
from .paths import DEFAULT_MODEL_DIR as DEFAULT_MODEL
from .paths import REPO_ROOT as REPO


def cmd_generate(args) -> None:
    import json

    import numpy as np
    import torch

    from .pipeline import WorldSimPipeline
    from .video import write_mp4

    model = Path(args.model or DEFAULT_MODEL)
    if not (model / "model_index.json").is_file():
        raise UserError(f"no model folder at {model} (it needs a model_index.json); pass --model DIR")
    pipe = WorldSimPipeline.from_pretrained(model)
    observed = None
    if args.observe:
        from .world import Scene, make_clip

        try:
            data = json.loads(Path(args.observe).read_text())
            scene = Scene.from_dict(data.get("scene", data))
        except FileNotFoundError:
            raise UserError(f"--observe: no such file {args.observe}")
        except (ValueError, KeyError, TypeError) as e:
            raise UserError(f"--observe: not a valid scene file: {e}")
        h = args.height or pipe.defaults["height"]
        w = args.width or pipe.defaults["width"]
        clip = make_clip(scene, height=h, width=w)
        observed = clip.frames[: args.observed_frames]
    g = torch.Generator().manual_seed(args.seed)
    try:
        out = pipe(args.prompt, observed_frames=observed, num_frames=args.frames, height=args.height,
                   width=args.width, num_inference_steps=args.steps, guidance_scale=args.guidance, generator=g)
    except ValueError as e:
        raise UserError(str(e))
    frames = out.frames[0]
    if args.extend:
        frames = pipe.extend(frames, out.prompts[0].text, extra_frames=args.extend, enrich_prompt=False,
                             num_inference_steps=args.steps, guidance_scale=args.guidance, generator=g)
    write_mp4(frames, args.out)
    np.save(Path(args.out).with_suffix(".npy"), frames)
    p = out.prompts[0]
    print(f"prompt used ({p.source}): {p.text!r}")
    print(f"wrote {args.out}: {frames.shape[0]} frames of {frames.shape[1]}x{frames.shape[2]}")


def cmd_train(args) -> None:
    from .train import CONFIGS, train

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = CONFIGS[args.config]
    run_dir = Path(args.run_dir or REPO / "runs" / cfg.name)
    model_dir = Path(args.model_dir or REPO / "models" / (cfg.model_name or cfg.name))
    cache_dir = Path(args.cache_dir or REPO / "cache")
    info = train(cfg, run_dir, model_dir, cache_dir, max_minutes=args.minutes, max_steps=args.steps,
                 mixed_precision=args.mixed_precision, max_compute_minutes=args.compute_minutes)
    print(f"stopped at step {info['step']}; model written to {model_dir}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m playground", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    from .cli_world import add_world_parser

    add_world_parser(sub)
    from .cli_probe import add_probe_parser

    add_probe_parser(sub)
    from .cli_caption import add_caption_parser

    add_caption_parser(sub)
    from .inspect.cli import add_inspect_parser

    add_inspect_parser(sub)
    from .emergence import add_emergence_parser

    add_emergence_parser(sub)

    g = sub.add_parser("generate", help="sample a video from the world model")
    g.add_argument("--prompt", default="", help="text prompt (short prompts are enriched)")
    g.add_argument("--observe", help="scene JSON (as written by `world`): its first frames are observed")
    g.add_argument("--observed-frames", type=int, default=4, help="how many frames of --observe to give")
    g.add_argument("--model", help="model folder (default: the shipped models/worldsim-s)")
    g.add_argument("--frames", type=int, default=None)
    g.add_argument("--height", type=int, default=None)
    g.add_argument("--width", type=int, default=None)
    g.add_argument("--steps", type=int, default=None, help="denoising steps (default: the model's own)")
    g.add_argument("--guidance", type=float, default=2.0)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--extend", type=int, default=0, help="continue the clip by this many frames")
    g.add_argument("--out", default="generated.mp4")
    g.set_defaults(func=cmd_generate)

    from .train import CONFIGS

    t = sub.add_parser("train", help="train the autoencoder and the DiT from scratch (resumable)")
    t.add_argument("--config", choices=sorted(CONFIGS), default="default")
    t.add_argument("--minutes", type=float, default=None, help="stop (and checkpoint) after this long")
    t.add_argument("--steps", type=int, default=None, help="stop after this many more DiT steps")
    t.add_argument("--compute-minutes", type=float, default=None,
                   help="stop when the run's DiT training time, summed over all its sessions, reaches this")
    t.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: all cores)")
    t.add_argument("--mixed-precision", choices=("no", "bf16", "auto"), default=None,
                   help="bf16 autocast for the DiT (fast on CPUs with AVX512-BF16/AMX, and on GPUs); auto: bf16 "
                        "only where it is fast here; "
                        "default: accelerate's setting, fp32 without one")
    t.add_argument("--run-dir", help="checkpoints, logs and samples (default runs/<name>)")
    t.add_argument("--model-dir", help="where the model folder is written (default models/<the config's model_name or name>)")
    t.add_argument("--cache-dir", help="simulator clip cache (default cache/)")
    t.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
