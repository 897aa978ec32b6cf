"""Pilot: classifier-free guidance on the kick (the action maps) instead of, or beside, guidance on the text.

x0 = x0(no action) + s * (x0(actions) - x0(no action)), only in windows that hold a kick (elsewhere both are the
same prediction, and nothing extra is computed). Patches WorldSimPipeline._predict_x0 for the run, then runs the
Play kick check or evaluate with the given text guidance.

    python runs/play-speed/action_guidance.py --action-scale S kick [kick_check args...]
    python runs/play-speed/action_guidance.py --action-scale S eval [evaluate args...]
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "runs" / "worldsim-v2"))

from playground.pipeline import WorldSimPipeline  # noqa: E402

SCALE = 1.0
_plain = WorldSimPipeline._predict_x0


def _predict_x0(self, latents, sigma, guided, guidance_scale, capture=None):
    x0 = _plain(self, latents, sigma, guided, guidance_scale, capture)
    if SCALE == 1.0 or guided.actions is None or not bool(guided.actions.abs().sum() > 0):
        return x0
    none = _plain(self, latents, sigma, replace(guided, actions=torch.zeros_like(guided.actions)), guidance_scale)
    return none + SCALE * (x0 - none)


def main() -> None:
    global SCALE
    args = sys.argv[1:]
    assert args[0] == "--action-scale", __doc__
    SCALE = float(args[1])
    what, rest = args[2], args[3:]
    WorldSimPipeline._predict_x0 = _predict_x0
    if what == "kick":
        import kick_check

        kick_check.main(rest)
    elif what == "eval":
        from playground import evaluate

        evaluate.main(rest)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
