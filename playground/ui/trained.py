"""What the model was trained on, read from its folder's `training.json` (the config training wrote), so the app
can offer those sizes first and label every other one as untrained: allowed, but the model never saw it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TrainedSizes:
    """The (frames, height, width) combinations the model was trained on, and where that record came from."""

    combos: frozenset[tuple[int, int, int]]
    source: str  # "training.json" or a sentence saying why only the default size counts

    @classmethod
    def load(cls, model_dir: str | Path, defaults: dict) -> "TrainedSizes":
        """Main size x main duration, each extra aspect size at the main duration, each short duration at the
        main size (how `playground.train.make_batch` draws its batches). Without a training record only the
        model's default size counts as trained."""
        path = Path(model_dir) / "training.json"
        main = (int(defaults["frames"]), int(defaults["height"]), int(defaults["width"]))
        try:
            cfg = json.loads(path.read_text())["config"]
        except (OSError, ValueError, KeyError, TypeError):
            return cls(frozenset({main}), "no training.json in the model folder: only its default size counts")
        frames, h, w = int(cfg["frames"]), int(cfg["height"]), int(cfg["width"])
        combos = {(frames, h, w)}
        combos |= {(frames, int(a), int(b)) for a, b in cfg.get("aspect_sizes", [])}
        combos |= {(int(t), h, w) for t in cfg.get("short_durations", [])}
        return cls(frozenset(combos), "training.json")

    @property
    def resolutions(self) -> list[tuple[int, int]]:
        """Trained (height, width) pairs, the most trained (main) first."""
        count: dict[tuple[int, int], int] = {}
        for _, h, w in self.combos:
            count[(h, w)] = count.get((h, w), 0) + 1
        return sorted(count, key=lambda hw: (-count[hw], hw))

    def durations(self, height: int | None = None, width: int | None = None) -> list[int]:
        """Trained frame counts (at this resolution, when given)."""
        return sorted({t for t, h, w in self.combos if height is None or (h, w) == (height, width)})

    def is_trained(self, frames: int, height: int, width: int) -> bool:
        return (frames, height, width) in self.combos

    def describe(self) -> str:
        """One line naming every trained combination, e.g. '16 frames at 32x32, 32x48, 48x32; 1, 8 frames at 32x32'."""
        by_t: dict[int, list[str]] = {}
        for t, h, w in sorted(self.combos):
            by_t.setdefault(t, []).append(f"{h}x{w}")
        return "; ".join(f"{t} frame{'s' if t > 1 else ''} at {', '.join(v)}" for t, v in
                         sorted(by_t.items(), key=lambda kv: -len(kv[1])))

    def note(self, frames: int, height: int, width: int) -> str:
        """A one-line label for a setting: trained, or untrained with what was trained."""
        if self.is_trained(frames, height, width):
            return f"{frames} frames at {height}x{width}: **trained** size."
        why = []
        if (height, width) not in self.resolutions:
            why.append(f"{height}x{width} was never trained")
        elif frames not in self.durations(height, width):
            why.append(f"{frames} frames at {height}x{width} were never trained")
        else:  # pragma: no cover - a trained resolution and duration make a trained combination
            why.append("this combination was never trained")
        return (f"**Untrained setting** ({'; '.join(why)}): allowed, but expect garbled frames. Trained: "
                f"{self.describe()}. Longer clips: World Sim -> Extend.")

    def resolution_choices(self, extra: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        """Dropdown choices (label, 'HxW'): the trained resolutions, then `extra` ones labelled untrained."""
        trained = [f"{h}x{w}" for h, w in self.resolutions]
        return [(f"{v} (trained)", v) for v in trained] + [(f"{v} (untrained)", v) for v in extra if v not in trained]
