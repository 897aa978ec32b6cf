"""`python -m playground world ...`: sample a scene, render it, write an H.264 mp4 and its JSON ground truth."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .errors import UserError, run_command


def add_world_parser(subparsers) -> argparse.ArgumentParser:
    """Register the `world` sub-command on an argparse subparsers object."""
    from .world.families import FAMILIES, SPLITS

    p = subparsers.add_parser("world", help="render a world-simulator clip to mp4 + json",
                              description="Sample a scene from a family, render it, write an mp4 and clip.json.")
    p.add_argument("--family", default="mixed", choices=FAMILIES)
    p.add_argument("--split", default="train", choices=SPLITS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frames", type=int, default=16, help="number of frames, 1-512")
    p.add_argument("--height", type=int, default=64, help="pixels, 1-1024")
    p.add_argument("--width", type=int, default=64, help="pixels, 1-1024")
    p.add_argument("--fps", type=int, default=8)
    p.add_argument("--out", default="clip.mp4", help="output .mp4; the JSON goes beside it (same stem)")
    p.add_argument("--ranges", action="store_true", help="print the families' parameter ranges and exit")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Execute the `world` sub-command; returns 0. Bad input raises UserError (a one-line message on stderr and
    exit status 2 from the command line)."""
    from .video import write_mp4
    from .world import describe_ranges, sample_clip

    if args.ranges:
        print(describe_ranges())
        return 0
    out = Path(args.out)
    if out.suffix.lower() != ".mp4":
        return _fail(f"--out must end in .mp4, got {args.out!r}")
    if not 1 <= args.fps <= 60:
        return _fail(f"--fps must be in [1, 60], got {args.fps}")
    try:
        clip = sample_clip(args.family, args.split, args.seed, args.frames, args.height, args.width)
    except ValueError as e:
        return _fail(str(e))
    try:
        write_mp4(clip.frames, out, fps=args.fps)
        json_path = out.with_suffix(".json")
        json_path.write_text(json.dumps(clip.to_json_dict()))
        np.save(out.with_name(out.stem + "_depth.npy"), clip.gt.depth)
    except OSError as e:
        return _fail(f"cannot write output: {e}")
    print(f"{out} ({len(clip.frames)} frames, {args.height}x{args.width}), {json_path}")
    print(clip.caption)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (`python -m playground.cli_world ...`), same arguments as `world`."""
    parser = argparse.ArgumentParser(prog="playground")
    add_world_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["world", *(sys.argv[1:] if argv is None else argv)])
    return run_command(args.func, args)


def _fail(msg: str) -> int:
    raise UserError(msg)


if __name__ == "__main__":
    sys.exit(main())
