"""The probe suite: for every probe and split, the same seeded scenes go through every row - `truth` (the
ground-truth frames through the parser: the noise floor), the baselines `copy_last` and `const_velocity` (and,
for the kick probe, `no_action`: the true simulator from the same start with the predicted kicks left out), and
`model` (the pipeline's rollout from the same observed frames, given the kicks as pixel actions when it takes
actions) - and the metrics are averaged over trials."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ..diffusion.sampler import SAMPLER_TEXT, sampler_name
from ..world import FAMILIES, SPLITS, Clip, make_clip, sample_scene
from ..world.actions import PixelAction, kick_to_pixel
from . import metrics as M
from .parser import Detection, color_track, parse_video

ROWS = ("truth", "copy_last", "const_velocity", "no_action", "model")
BASE_ROWS = ("truth", "copy_last", "const_velocity")


@dataclass(frozen=True)
class Probe:
    """A probe: which scene family it draws, how long its clips are (in multiples of the model's clip length),
    and its metric function. `higher` names the metrics where higher is better (the rest: lower)."""

    name: str
    family: str
    fn: Callable[..., dict]
    length: int = 1
    higher: tuple[str, ...] = ()
    doc: str = ""
    extra_rows: tuple[str, ...] = ()


PROBES: dict[str, Probe] = {p.name: p for p in (
    Probe("inertia", "inertia", M.inertia_metrics, higher=("linear_r2", "coverage"),
          doc="rolling balls keep their velocity"),
    Probe("gravity", "gravity", M.gravity_metrics, higher=("coverage",), doc="falling balls accelerate at g"),
    Probe("collision", "collision", M.collision_metrics, higher=("coverage",),
          doc="velocities, momentum and energy after an impact"),
    Probe("permanence", "occlusion", M.permanence_metrics, higher=("reemergence_rate", "colour_kept"),
          doc="occluded balls come back, on time, unchanged"),
    Probe("consistency", "camera", M.consistency_metrics, higher=("pairs_ok", "matches"),
          doc="a moving camera sees one rigid 3-D world"),
    Probe("long_range", "inertia", M.long_range_metrics, length=2, higher=("objects_kept", "objects_kept_late"),
          doc="objects, colours and sizes survive an extended rollout"),
    Probe("temporal", "inertia", M.temporal_metrics, doc="no flicker, smooth motion"),
    Probe("kick", "interaction", M.kick_metrics, higher=("kick_followed",), extra_rows=("no_action",),
          doc="a kicked ball moves off the way the kick sends it"),
    Probe("persistence", "interaction", M.persistence_metrics, length=2,
          higher=("persisted", "persisted_late", "made", "after_lookaway"),
          doc="marks the balls leave on the floor stay, also after the camera looks away and back"),
)}
ALIASES = {"collisions": "collision", "occlusion": "permanence", "object_permanence": "permanence",
           "3d": "consistency", "camera": "consistency", "3d_consistency": "consistency",
           "long-range": "long_range", "coherence": "long_range", "long_range_coherence": "long_range",
           "temporal_quality": "temporal", "flicker": "temporal", "kicks": "kick", "kick_response": "kick",
           "actions": "kick", "effects": "persistence", "marks": "persistence", "paint": "persistence",
           "world_interaction": "persistence"}
MAX_TRIALS = 200


def resolve_probes(probes) -> list[str]:
    """["all"] or names/aliases (a list or a comma-separated string) -> probe names; ValueError when unknown."""
    if isinstance(probes, str):
        probes = [p for p in probes.split(",")]
    names = []
    for p in probes:
        p = p.strip().lower()
        if not p:
            continue
        if p == "all":
            names += list(PROBES)
            continue
        p = ALIASES.get(p, p)
        if p not in PROBES:
            raise ValueError(f"unknown probe {p!r}; choose 'all' or any of {', '.join(PROBES)}")
        names.append(p)
    if not names:
        raise ValueError(f"no probe given; choose 'all' or any of {', '.join(PROBES)}")
    return list(dict.fromkeys(names))


def trial_seed(seed: int, family: str, split: str, trial: int) -> int:
    """The scene seed of one trial: the same for every row and probe drawing that family."""
    return int(np.random.SeedSequence([seed, FAMILIES.index(family), SPLITS.index(split), trial, 7]).generate_state(1)[0])


def probe_clip(family: str, split: str, seed: int, T: int, L: int, height: int, width: int) -> Clip:
    """The clip of one trial: the scene sample_clip(family, split, seed, T) draws, simulated for L >= T frames
    (sampling at L directly can fail: the families' event checks are designed for training-length clips)."""
    scene = sample_scene(family, split, np.random.default_rng(seed), T)
    return make_clip(replace(scene, n_frames=L), height, width)


# ---------------------------------------------------------------------------- baselines
def copy_last(frames: np.ndarray, k: int) -> np.ndarray:
    """The observed frames, then the last observed frame repeated."""
    out = frames.copy()
    out[k:] = frames[k - 1]
    return out


def const_velocity(parsed: list[list[Detection]], k: int, height: int, width: int) -> list[list[Detection]]:
    """Track-level predictor: each colour's observed track extrapolated at its least-squares velocity over the
    observed frames (radius kept, no walls, no gravity); detections outside the image are dropped."""
    T = len(parsed)
    out = [list(d) for d in parsed[:k]] + [[] for _ in range(T - k)]
    for color in sorted({d.color for dets in parsed[:k] for d in dets}):
        tr = color_track(parsed[:k], color)
        ts = np.flatnonzero(tr.present)
        last = ts[-1]
        v = np.polyfit(ts, tr.centroids[ts], 1)[0] if len(ts) >= 2 else np.zeros(2)  # (2,) px/frame
        r = float(tr.radii[last])
        for t in range(k, T):
            x, y = tr.centroids[last] + v * (t - last)
            if 0 <= x <= width and 0 <= y <= height:
                out[t].append(Detection(color, float(x), float(y), r, math.pi * r * r, (math.nan,) * 3))
    return out


# ---------------------------------------------------------------------------- result
class SuiteResult(dict):
    """JSON-serialisable: {"config", "summary": probe -> split -> row -> metric -> value (None = n/a),
    "counts": the same with the number of trials that defined each value, "trials": per-trial details (scene,
    seeds, per-row metrics and parsed tracks)}. `frames` (not in the dict) maps a trial id to {row: frames}
    when the suite kept them."""

    frames: dict

    def to_json_dict(self) -> dict:
        return dict(self)


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return round(float(v), 6) if isinstance(v, (float, np.floating)) else v


# ---------------------------------------------------------------------------- runner
def run_suite(pipe=None, probes=("all",), trials: int = 8, seed: int = 0, split=("train", "heldout"),
              observed: int = 4, steps: int | None = None, guidance_scale: float = 2.0, height: int | None = None,
              width: int | None = None, num_frames: int | None = None, prompt: str = "caption",
              keep_frames: bool = False, progress: Callable[[int, int, str], None] | None = None) -> SuiteResult:
    """Run probes on `trials` seeded scenes per probe and split; `pipe` None runs truth and baselines only.

    Args:
        pipe: a WorldSimPipeline (or None). Its defaults give the clip size unless height/width/num_frames are set.
        probes: "all" or names (see PROBES; aliases accepted), as a list or comma-separated string.
        trials: scenes per probe and split (1-200). seed: the suite seed (scenes and sampling noise).
        split: "train" (in-distribution) and/or "heldout", as a list or comma-separated string.
        observed: frames given to every predictor (1 .. num_frames - 3).
        steps, guidance_scale: the pipeline's sampling settings.
        prompt: "caption" (the scene's rich caption), "short" (its short caption) or "none".
        keep_frames: keep every row's frames in `result.frames` (for the app).
        progress: called as progress(done, total, description) after every trial.
    """
    names = resolve_probes(probes)
    if steps is None and pipe is not None:
        steps = pipe.default_steps
    splits = [s.strip() for s in split.split(",")] if isinstance(split, str) else list(split)
    for s in splits:
        if s not in SPLITS:
            raise ValueError(f"unknown split {s!r}; choose from {', '.join(SPLITS)}")
    if not isinstance(trials, (int, np.integer)) or not 1 <= trials <= MAX_TRIALS:
        raise ValueError(f"trials must be an integer in [1, {MAX_TRIALS}], got {trials!r}")
    if prompt not in ("caption", "short", "none"):
        raise ValueError(f"prompt must be 'caption', 'short' or 'none', got {prompt!r}")
    defaults = getattr(pipe, "defaults", {}) if pipe is not None else {}
    H = int(height or defaults.get("height", 32))
    W = int(width or defaults.get("width", 32))
    T = int(num_frames or defaults.get("frames", 16))
    if not 4 <= T <= 256:
        raise ValueError(f"num_frames must be in [4, 256], got {T}")
    if not isinstance(observed, (int, np.integer)) or not 1 <= observed <= T - 3:
        raise ValueError(f"observed must be an integer in [1, {T - 3}] for {T}-frame clips, got {observed!r}")
    k = int(observed)

    takes_actions = bool(getattr(pipe, "accepts_actions", False))
    model_rows = ["model"] if pipe is not None else []
    probe_rows = {p: [r for r in ROWS if r in BASE_ROWS or r in PROBES[p].extra_rows or r in model_rows]
                  for p in names}
    rows = [r for r in ROWS if any(r in pr for pr in probe_rows.values())]
    cache: dict[tuple, tuple[Clip, dict[str, M.Video]]] = {}
    per_trial: list[dict] = []
    values: dict = {p: {s: {r: {} for r in probe_rows[p]} for s in splits} for p in names}
    kept_frames: dict = {}
    total, done = len(names) * len(splits) * trials, 0

    for name in names:
        probe = PROBES[name]
        L = T * probe.length
        for s in splits:
            for i in range(trials):
                ts = trial_seed(seed, probe.family, s, i)
                key = (probe.family, s, i, L)
                if key not in cache:
                    cache[key] = _rollouts(pipe, probe_clip(probe.family, s, ts, T, L, H, W), k, T, ts, steps,
                                           guidance_scale, prompt)
                clip, videos = cache[key]
                if "no_action" in probe_rows[name] and "no_action" not in videos:
                    videos["no_action"] = no_action_video(clip, k)
                trial = {"id": f"{name}/{s}/{i}", "probe": name, "split": s, "trial": i, "family": probe.family,
                         "seed": ts, "scene": clip.scene.to_dict(), "caption": clip.caption, "observed": k,
                         "height": H, "width": W, "frames": L, "metrics": {}, "tracks": {}}
                if clip.scene.kicks:
                    trial["actions"] = [a.to_dict() for a in pixel_actions(clip)]
                for r in probe_rows[name]:
                    vals = probe.fn(videos[r], clip, k)
                    for m, v in vals.items():
                        values[name][s][r].setdefault(m, []).append(v)
                    trial["metrics"][r] = {m: _clean(v) for m, v in vals.items()}
                    trial["tracks"][r] = [tr.to_dict() for tr in M.ball_tracks(videos[r], clip)]
                per_trial.append(trial)
                if keep_frames:
                    kept_frames[trial["id"]] = {r: v.frames for r, v in videos.items() if v.frames is not None}
                done += 1
                if progress is not None:
                    progress(done, total, trial["id"])

    summary = {p: {s: {r: {m: _clean(_nanmean(v)) for m, v in ms.items()} for r, ms in rs.items()}
                   for s, rs in ss.items()} for p, ss in values.items()}
    counts = {p: {s: {r: {m: int(np.isfinite(np.asarray(v, float)).sum()) for m, v in ms.items()}
                      for r, ms in rs.items()} for s, rs in ss.items()} for p, ss in values.items()}
    result = SuiteResult(config={"probes": names, "splits": splits, "trials": trials, "seed": seed, "observed": k,
                                 "steps": steps, "guidance_scale": guidance_scale, "sampler": sampler_name(pipe),
                                 "model_actions": takes_actions if pipe is not None else None,
                                 "height": H, "width": W, "frames": T, "prompt": prompt, "rows": rows,
                                 "model": pipe is not None,
                                 "higher_is_better": {p: list(PROBES[p].higher) for p in names}},
                         summary=summary, counts=counts, trials=per_trial)
    result.frames = kept_frames
    return result


def _nanmean(v) -> float:
    a = np.asarray(v, dtype=float)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else math.nan


def pixel_actions(clip: Clip) -> list[PixelAction]:
    """The clip's kicks as the pixel actions a person (and a model that takes actions) gives."""
    H, W = clip.frames.shape[1:3]
    return [kick_to_pixel(clip.scene, kick, H, W, clip.gt.positions) for kick in clip.scene.kicks]


def no_action_video(clip: Clip, k: int) -> M.Video:
    """The `no_action` baseline: the true simulator from the same start, without the kicks the rollout must
    show (those at frame k - 1 or later), rendered through the same camera."""
    H, W = clip.frames.shape[1:3]
    scene = replace(clip.scene, kicks=[kk for kk in clip.scene.kicks if kk.frame < k - 1])
    frames = make_clip(scene, H, W).frames
    return M.Video(frames, parse_video(frames), H, W)


def _rollouts(pipe, clip: Clip, k: int, T: int, seed: int, steps: int, guidance: float, prompt: str):
    """Every row's video of one clip; the model's is sampled from the clip's first k frames."""
    import torch

    H, W = clip.frames.shape[1:3]
    truth_parsed = parse_video(clip.frames)
    cl = copy_last(clip.frames, k)
    videos = {
        "truth": M.Video(clip.frames, truth_parsed, H, W),
        "copy_last": M.Video(cl, parse_video(cl), H, W),
        "const_velocity": M.Video(None, const_velocity(truth_parsed, k, H, W), H, W),
    }
    if pipe is not None:
        text = {"caption": clip.caption, "short": clip.short_caption, "none": ""}[prompt]
        g = torch.Generator().manual_seed(seed)
        kw = dict(num_inference_steps=steps, guidance_scale=guidance, generator=g, enrich_prompt=False)
        if getattr(pipe, "accepts_actions", False) and clip.scene.kicks:
            kw["actions"] = pixel_actions(clip)
        L = clip.frames.shape[0]
        frames = pipe(text, observed_frames=clip.frames[:k], num_frames=min(T, L), height=H, width=W, **kw).frames[0]
        if L > T:
            frames = pipe.extend(frames, text, extra_frames=L - T, context_frames=max(1, T // 2), **kw)
        videos["model"] = M.Video(frames, parse_video(frames), H, W)
    return clip, videos


# ---------------------------------------------------------------------------- reports
def _fmt(v) -> str:
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.2f}"


def _tables(result: dict):
    """(title, header, rows) per probe and split."""
    cfg = result["config"]
    for p, ss in result["summary"].items():
        for s, rs in ss.items():
            metrics = list(dict.fromkeys(m for r in rs.values() for m in r))
            higher = set(cfg.get("higher_is_better", {}).get(p, []))
            header = ["row"] + [m + (" ^" if m in higher else "") for m in metrics]
            body = [[r] + [_fmt(rs[r].get(m)) for m in metrics] for r in cfg["rows"] if r in rs]
            yield f"{p} ({s}, {cfg['trials']} trials)", header, body


def actions_note(cfg: dict) -> str:
    """What the report must say when the model was run without the kicks (it takes no actions)."""
    if cfg.get("model") and cfg.get("model_actions") is False and "kick" in cfg.get("probes", []):
        return ("Note: this model takes no actions, so it was rolled out without the kicks: its kick row is in "
                "effect a no_action rollout of the model.")
    return ""


def format_table(result: dict) -> str:
    """Plain-text tables for the terminal (^ marks metrics where higher is better)."""
    out = [actions_note(result["config"])] if actions_note(result["config"]) else []
    for title, header, body in _tables(result):
        widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
        line = lambda row: "  ".join(str(x).rjust(w) if j else str(x).ljust(w)  # noqa: E731
                                     for j, (x, w) in enumerate(zip(row, widths)))
        out += [title, line(header), line(["-" * w for w in widths])] + [line(r) for r in body] + [""]
    return "\n".join(out)


def to_markdown(result: dict) -> str:
    """Markdown tables (one per probe and split) with the run's settings."""
    cfg = result["config"]
    out = [f"# Probe results\n\n{cfg['trials']} trials per probe and split, seed {cfg['seed']}, {cfg['observed']} "
           f"observed of {cfg['frames']} frames at {cfg['height']}x{cfg['width']}, {cfg['steps']} steps, guidance "
           f"{cfg['guidance_scale']}{SAMPLER_TEXT.get(cfg.get('sampler'), '')}. Rows: truth = ground-truth frames "
           f"(parser floor); copy_last and const_velocity = baselines; no_action = the true simulator without the "
           f"predicted kicks; model = the pipeline. n/a = undefined for that row. ^ = higher is better. "
           f"Definitions: docs/probes.md.\n"]
    note = actions_note(cfg)
    if note:
        out.append(note + "\n")
    for title, header, body in _tables(result):
        out += [f"## {title}\n", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(r) + " |" for r in body] + [""]
    return "\n".join(out)
