"""Which parts of the network carry object permanence, inertia, 3-D consistency? Re-run probes of the suite
(playground.probes.suite.run_suite) with an ablated copy of the pipeline, the same scenes and sampling seeds as
the unablated run, and report each metric's change with its trial-to-trial spread.

Because every trial uses the same scene and the same noise in both runs, the change is measured per trial
(paired): mean change +- its standard error over trials, and `beyond_noise` where |mean| > 2 standard errors.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..probes.suite import run_suite
from .ablate import Ablation, ablated_pipeline, expand, temporal_blocks


def default_ablations(transformer) -> dict[str, Ablation]:
    """A small standard set for this model's block structure: all cross-time attention off, a temporal window of
    two frame groups (2 * patch_size_t frames), and the first and the last cross-time block off alone."""
    tb = temporal_blocks(transformer)
    out = {}
    if tb:
        out["time_off_all"] = Ablation(time_off=tuple(tb))
        w = 2 * transformer.config.patch_size_t
        out[f"window_{w}"] = Ablation(window=w)
        out[f"time_off_{tb[0]}"] = Ablation(time_off=(tb[0],))
        if len(tb) > 1:
            out[f"time_off_{tb[-1]}"] = Ablation(time_off=(tb[-1],))
    return out


def _per_trial(result: dict) -> dict[tuple[str, str, str], dict[int, float]]:
    """(probe, split, metric) -> {trial: model value} from a suite result."""
    out: dict = {}
    for t in result["trials"]:
        for m, v in t["metrics"].get("model", {}).items():
            if v is not None and isinstance(v, (int, float)) and math.isfinite(v):
                out.setdefault((t["probe"], t["split"], m), {})[t["trial"]] = float(v)
    return out


def _stats(v) -> dict:
    a = np.asarray(v, float)
    return {"mean": _r(a.mean()) if a.size else None, "sd": _r(a.std(ddof=1)) if a.size > 1 else None, "n": int(a.size)}


def compare(base: dict, ablated: dict) -> list[dict]:
    """Per probe, split and metric: the unablated and ablated model rows (mean, sd over trials) and the paired
    change (mean, standard error, trials that defined both)."""
    b, a = _per_trial(base), _per_trial(ablated)
    higher = base["config"].get("higher_is_better", {})
    rows = []
    for key in sorted(set(b) | set(a)):
        p, s, m = key
        both = sorted(set(b.get(key, {})) & set(a.get(key, {})))
        d = np.array([a[key][i] - b[key][i] for i in both])
        se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan
        mean = float(d.mean()) if len(d) else math.nan
        rows.append({"probe": p, "split": s, "metric": m, "higher_is_better": m in higher.get(p, []),
                     "unablated": _stats(list(b.get(key, {}).values())),
                     "ablated": _stats(list(a.get(key, {}).values())),
                     "change": {"mean": _r(mean), "se": _r(se), "n": len(d)},
                     "beyond_noise": bool(len(d) > 1 and math.isfinite(se) and abs(mean) > 2 * se)})
    return rows


def run_interventions(pipe, ablations: dict[str, Ablation] | None = None, probes=("inertia", "permanence"),
                      trials: int = 6, seed: int = 0, split=("train",), steps: int = 10, guidance_scale: float = 2.0,
                      progress=None) -> dict:
    """The unablated suite run, then one run per ablation with the same seeds; returns the JSON-ready comparison."""
    ablations = default_ablations(pipe.transformer) if ablations is None else ablations
    for name, ab in ablations.items():
        ablations[name] = expand(ab, pipe.transformer).check(pipe.transformer)
    kw = dict(probes=probes, trials=trials, seed=seed, split=split, steps=steps, guidance_scale=guidance_scale)
    t0 = time.time()
    base = run_suite(pipe, **kw)
    out = {"config": {**base["config"], "ablations": {n: a.to_dict() for n, a in ablations.items()}},
           "unablated": base["summary"], "ablations": {}}
    for i, (name, ab) in enumerate(ablations.items()):
        res = run_suite(ablated_pipeline(pipe, ab), **kw)
        out["ablations"][name] = {"ablation": ab.to_dict(), "summary": res["summary"], "rows": compare(base, res)}
        if progress is not None:
            progress(i + 1, len(ablations), name)
    out["seconds"] = round(time.time() - t0, 1)
    return out


def _r(v):
    return None if v is None or not math.isfinite(float(v)) else round(float(v), 4)


def _ms(s: dict) -> str:
    if s["mean"] is None:
        return "n/a"
    return f"{s['mean']:.3f}" + (f" ± {s['sd']:.3f}" if s.get("sd") is not None else "")


def to_markdown(result: dict, command: str = "") -> str:
    c = result["config"]
    lines = ["# Attention interventions", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    lines += [f"Probes {', '.join(c['probes'])} on splits {', '.join(c['splits'])}, {c['trials']} trials each, seed "
              f"{c['seed']}, {c['observed']} observed of {c['frames']} frames, {c['steps']} steps, guidance "
              f"{c['guidance_scale']}; every ablated run uses the same scenes and sampling seeds as the unablated one. "
              "Cells: model row, mean ± sd over trials; change = ablated - unablated per trial, mean ± standard "
              "error; **beyond noise** where |change| > 2 standard errors. ^ = higher is better.", ""]
    for name, e in result["ablations"].items():
        lines += [f"## {name}: {e['ablation']['description']}", "",
                  "| probe | split | metric | unablated | ablated | change | beyond noise |",
                  "|---|---|---|---|---|---|---|"]
        for r in e["rows"]:
            ch = r["change"]
            cell = "n/a" if ch["mean"] is None else f"{ch['mean']:+.3f}" + (
                f" ± {ch['se']:.3f}" if ch["se"] is not None else "")
            lines.append(f"| {r['probe']} | {r['split']} | {r['metric']}{' ^' if r['higher_is_better'] else ''} | "
                         f"{_ms(r['unablated'])} | {_ms(r['ablated'])} | {cell} (n={ch['n']}) | "
                         f"{'**yes**' if r['beyond_noise'] else 'no'} |")
        lines.append("")
    lines += [f"Time: {result.get('seconds')} s (2 shared CPU cores).", ""]
    return "\n".join(lines)
