"""The model card's short account of the inspect measurements (inspect.json beside the model): the verdict per
property, the depth curve, and the interventions whose change is beyond the trial-to-trial noise. Plain JSON in,
Markdown out; the full tables are in inspect.md."""

from __future__ import annotations


def _f(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def verdict_rows(probes: dict) -> list[dict]:
    """One row per task, noise level and split: the trained score, the best baseline and whether it counts."""
    rows = []
    for t, e in probes["tasks"].items():
        for s, se in e["sigmas"].items():
            for part, j in se["judgement"].items():
                base = {k: v for k, v in j["score"].items() if k != "trained" and v is not None}
                best = max(base, key=base.get) if base else None
                rows.append({"task": t, "metric": e["metric"], "sigma": s, "split": part,
                             "trained": j["score"].get("trained"), "layer": se["best_layer"]["trained"],
                             "best_baseline": best, "baseline_score": base.get(best), "represented": j["represented"]})
    return rows


def card_markdown(data: dict) -> str:
    """The card section from an inspect.json written by `python -m playground inspect`."""
    lines = ["## Inside the model: probes and interventions", "", f"Command: `{data['command']}` (full tables: "
             "inspect.md beside this card)."]
    probes = data.get("probes")
    if probes:
        c = probes["config"]
        lines += ["", f"Linear ridge probes on every layer's hidden states, {c['clips']} in-distribution clips "
                  f"({c['probe_train_clips']} fit, {c['probe_test_clips']} test, split by clip, seed {c['seed']}) and "
                  f"{c['heldout_clips_scored']} held-out clips, ridge strength by {c['cv_folds']}-fold "
                  f"cross-validation over clips from alpha in {c['alphas']} (times n, standardised features). A "
                  "property counts as represented where the trained DiT's best layer beats the clean latents, the raw "
                  "pixels (both with the positional code) and a random-weight DiT of the same shape by more than "
                  f"0.02 at the low end of a 95% paired bootstrap interval over test clips ({c['bootstrap']} "
                  "resamples).", "",
                  "| property | metric | sigma | split | trained DiT (layer) | best baseline | represented |",
                  "|---|---|---|---|---|---|---|"]
        for r in verdict_rows(probes):
            lines.append(f"| {r['task']} | {r['metric']} | {r['sigma']} | {r['split']} | {_f(r['trained'])} "
                         f"({r['layer']}) | {_f(r['baseline_score'])} ({r['best_baseline']}) | "
                         f"{'**yes**' if r['represented'] else 'no'} |")
        depth = probes["tasks"].get("depth")
        if depth:
            lines += ["", "Depth R^2 per layer (in-distribution test clips; " + ", ".join(c["layers"]) + "):", ""]
            for s, se in depth["sigmas"].items():
                for m in ("trained", "random"):
                    lines.append(f"- sigma {s}, {m} DiT: " + ", ".join(_f(v) for v in se["curves"][m]["test"]))
            b = next(iter(depth["sigmas"].values()))["baselines"]
            lines.append(f"- baselines: latents {_f(b['latents'].get('test'))}, pixels {_f(b['pixels'].get('test'))}")
    iv = data.get("interventions")
    if iv:
        c = iv["config"]
        lines += ["", f"Attention interventions: probes {', '.join(c['probes'])} ({', '.join(c['splits'])}), "
                  f"{c['trials']} trials, {c['steps']} steps, same scenes and seeds with and without the ablation; "
                  "changes beyond 2 standard errors of the paired per-trial difference:", "",
                  "| ablation | probe | metric | unablated | ablated | change |", "|---|---|---|---|---|---|"]
        any_row = False
        for name, e in iv["ablations"].items():
            for r in e["rows"]:
                if r["beyond_noise"]:
                    any_row = True
                    ch = r["change"]
                    lines.append(f"| {name} ({e['ablation']['description']}) | {r['probe']} | {r['metric']}"
                                 f"{' ^' if r['higher_is_better'] else ''} | {_f(r['unablated']['mean'])} | "
                                 f"{_f(r['ablated']['mean'])} | {ch['mean']:+.3f} ± {_f(ch['se'])} |")
        if not any_row:
            lines.append("| (none beyond noise) | | | | | |")
    return "\n".join(lines)
