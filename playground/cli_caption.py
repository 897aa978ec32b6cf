"""`python -m playground caption ...`: train the learned captioner, measure it, or caption a clip.

    python -m playground caption train --out models/worldsim-s/captioner      # the shipped one (seeded)
    python -m playground caption eval --model models/worldsim-s               # -> captioner/eval.json
    python -m playground caption describe --scene scene.json                  # or --npy clip.npy
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .errors import UserError
from .paths import DEFAULT_MODEL_DIR


def _fail(msg: str):
    raise UserError(msg)


def _repo() -> Path:
    return Path(__file__).resolve().parent.parent


def add_caption_parser(subparsers) -> argparse.ArgumentParser:
    """Register the `caption` sub-command on an argparse subparsers object."""
    from .captioner import CAPTIONER_CONFIGS

    p = subparsers.add_parser("caption", help="the learned captioner: train, evaluate, describe a clip",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="caption_command", required=True)
    t = sub.add_parser("train", help="train a captioner on seeded simulator clips")
    t.add_argument("--config", choices=sorted(CAPTIONER_CONFIGS), default="default")
    t.add_argument("--out", default=str(DEFAULT_MODEL_DIR / "captioner"), help="folder to save it to")
    t.add_argument("--threads", type=int, default=None, help="torch threads (default: the config's)")
    t.add_argument("--cache-dir", default=str(_repo() / "cache"), help="simulated clips are kept here")
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("eval", help="agreement with the true rich captions, beside the nearest-neighbour baseline")
    e.add_argument("--model", default=str(DEFAULT_MODEL_DIR), help="model folder with captioner/ and vae/")
    e.add_argument("--clips", type=int, default=1000, help="clips per split (10-20000)")
    e.add_argument("--seed", type=int, default=1)
    e.add_argument("--donors", type=int, default=None, help="nearest-neighbour donor clips (default 8400)")
    e.add_argument("--no-baseline", action="store_true", help="skip the nearest-neighbour baseline")
    e.add_argument("--cache-dir", default=str(_repo() / "cache"), help="simulated clips are kept here")
    e.add_argument("--json", default=None, help="where to write the results (default MODEL/captioner/eval.json)")
    e.set_defaults(func=cmd_eval)
    d = sub.add_parser("describe", help="what the captioner sees in a clip")
    d.add_argument("--model", default=str(DEFAULT_MODEL_DIR))
    src = d.add_mutually_exclusive_group(required=True)
    src.add_argument("--scene", help="scene JSON (as written by `world`)")
    src.add_argument("--npy", help="frames (T, H, W, 3) uint8 saved with numpy (no pickle)")
    d.set_defaults(func=cmd_describe)
    return p


def _captioner(model: str):
    from .captioner import load_captioner

    cap = load_captioner(model)
    if cap is None:
        _fail(f"no captioner in {model} (looked for {Path(model) / 'captioner' / 'config.json'}); "
                        "train one with `python -m playground caption train --out DIR`")
    return cap


def cmd_train(args) -> None:
    import torch

    from .captioner import CAPTIONER_CONFIGS, train_captioner

    cfg = CAPTIONER_CONFIGS[args.config]
    torch.set_num_threads(args.threads or cfg.threads)
    train_captioner(cfg, Path(args.out), Path(args.cache_dir))
    print(f"wrote {args.out}")


def cmd_eval(args) -> None:
    from dataclasses import replace

    from .captioner import EvalConfig, evaluate_captioner

    if not 10 <= args.clips <= 20000:
        _fail(f"--clips must be in [10, 20000], got {args.clips}")
    cap = _captioner(args.model)
    vae = None
    if not args.no_baseline:
        from .models.autoencoder import VideoAutoencoder

        vae_dir = Path(args.model) / "vae"
        if not (vae_dir / "config.json").is_file():
            _fail(f"the nearest-neighbour baseline needs the autoencoder at {vae_dir}; or pass "
                            "--no-baseline")
        vae = VideoAutoencoder.from_pretrained(vae_dir).eval()
    cfg = replace(EvalConfig(), clips=args.clips, seed=args.seed, **({"donors": args.donors} if args.donors else {}))
    res = evaluate_captioner(cap, cfg, vae, Path(args.cache_dir))
    out = Path(args.json or Path(args.model) / "captioner" / "eval.json")
    out.write_text(json.dumps(res, indent=1))
    print(f"wrote {out}")


def cmd_describe(args) -> None:
    import numpy as np

    from .captioner import describe_video

    cap = _captioner(args.model)
    if args.scene:
        from .world import Scene, make_clip

        try:
            data = json.loads(Path(args.scene).read_text())
            frames = make_clip(Scene.from_dict(data.get("scene", data))).frames
        except FileNotFoundError:
            _fail(f"--scene: no such file {args.scene}")
        except (ValueError, KeyError, TypeError) as e:
            _fail(f"--scene: not a valid scene file: {e}")
    else:
        try:
            frames = np.load(args.npy, allow_pickle=False)
        except (FileNotFoundError, ValueError) as e:
            _fail(f"--npy: cannot read {args.npy} as a numpy array without pickle: {e}")
    try:
        caption, labels = describe_video(cap, frames)
    except ValueError as e:
        _fail(str(e))
    print(caption)
    print(json.dumps(labels))
