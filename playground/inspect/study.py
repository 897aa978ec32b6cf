"""The representation study: does the DiT hold depth, objects, 3-D motion, hidden objects and the camera, beyond
what a linear read-out of its input already gives?

Clips with ground truth are drawn per split (families in turn, seeded); each clip is encoded, noised to every
chosen noise level sigma with its first `observed` frames given clean (as the pipeline conditions), and passed
through the trained DiT and a random-weight DiT of the same shape, keeping every layer's hidden states - a
next-chunk model window by window, as it makes a clip (clip_states). For
every task (TASKS) a ridge probe is fitted on the in-distribution clips of the probe-training part and scored on
the rest (split by clip, seeded) and on held-out clips, for every layer, beside three baselines: the patch's
clean input latents, its raw pixels (both with the DiT's positional code, which the DiT itself is given), and the
random DiT's best layer.

Criterion: a property counts as represented (at a noise level, on a split) where the trained model's layer chosen
by cross-validation on the training clips beats every baseline (each at its own cross-validated best) in at
least 97.5% of paired bootstrap resamples of the test clips by more than MIN_GAIN, i.e. the lower end of the 95%
interval of each difference is above 0.02 (R^2 or AUC): both beyond the resampling spread and not negligible.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn as nn

from ..models.dit import SpacetimeDiT, sincos_3d
from ..models.autoencoder import from_uint8
from ..world import SPLITS, sample_clip
from .linear import ALPHAS, CV_FOLDS, bootstrap, cv_select, fit_ridge
from .record import layer_names, record_hidden_states
from .targets import TokenTruth, token_truth

FAMILIES = ("inertia", "gravity", "collision", "occlusion", "camera")
BASELINES = ("latents", "pixels", "random_dit")
MIN_GAIN = 0.02  # the smallest lead over a baseline (in R^2 or AUC) that counts, at the bootstrap's low end


@dataclass(frozen=True)
class Task:
    """One read-out: its metric (r2 or auc), what one sample is, and what it asks for."""

    name: str
    metric: str
    unit: str
    doc: str


TASKS: dict[str, Task] = {t.name: t for t in (
    Task("depth", "r2", "token", "per-patch depth: mean camera z of the patch's pixels (patches showing sky left out)"),
    Task("ball", "auc", "token", "the patch shows a ball (>= 25% of its pixels) against one that shows none"),
    Task("position", "r2", "ball", "a visible ball's 3-D world position, from the token at its image centre"),
    Task("velocity", "r2", "ball", "a visible ball's 3-D world velocity, from the token at its image centre"),
    Task("hidden", "auc", "token", "an occluder patch hides a ball (its image centre lies there, < 5% visible) "
                                   "against one that hides none: object permanence"),
    Task("camera", "r2", "frame", "the camera pose (centre and viewing axis, world) of a frame group, from all its "
                                  "tokens pooled to a grid of at most 4 x 4 cells"),
)}


@dataclass(frozen=True)
class StudyConfig:
    """What the study draws and how it fits. `clips` in-distribution clips are split by clip into probe-train and
    probe-test (`test_fraction`); `heldout_clips` held-out clips are only scored."""

    clips: int = 48
    heldout_clips: int = 16
    test_fraction: float = 1 / 3
    sigmas: tuple[float, ...] = (0.2, 0.6)
    observed: int = 4
    tasks: tuple[str, ...] = tuple(TASKS)
    seed: int = 0
    tokens_per_clip: int = 96
    bootstrap: int = 200
    batch: int = 8

    def check(self) -> "StudyConfig":
        if not 6 <= self.clips <= 2000:
            raise ValueError(f"clips must be in [6, 2000], got {self.clips}")
        if not 0 <= self.heldout_clips <= 2000:
            raise ValueError(f"heldout_clips must be in [0, 2000], got {self.heldout_clips}")
        if not self.sigmas or any(not 0 <= s <= 1 for s in self.sigmas):
            raise ValueError(f"sigmas must be noise levels in [0, 1], got {list(self.sigmas)}")
        unknown = [t for t in self.tasks if t not in TASKS]
        if unknown:
            raise ValueError(f"unknown tasks {unknown}; choose from {', '.join(TASKS)}")
        if not 0.1 <= self.test_fraction <= 0.9:
            raise ValueError(f"test_fraction must be in [0.1, 0.9], got {self.test_fraction}")
        return self


# ---------------------------------------------------------------------------- models
def random_like(transformer: SpacetimeDiT, seed: int) -> SpacetimeDiT:
    """A random-weight DiT of the same configuration. Its adaLN-Zero layers are drawn like the other linear layers
    (Xavier) instead of zero, or every block would be the identity and the random baseline would be the embedding."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SpacetimeDiT.from_config(transformer.config)
        for block in model.blocks:
            nn.init.xavier_uniform_(block.adaLN_modulation[-1].weight)
    return model.eval()


# ---------------------------------------------------------------------------- one clip's features
@dataclass
class ClipRecord:
    """Everything the probes need from one clip: per-token feature grids (T', h', w', F) by source and noise
    level (trained and random DiT layers; latents and pixels, noise-free), and the truth."""

    split: str
    index: int
    family: str
    seed: int
    truth: TokenTruth
    layers: dict[tuple[str, float, str], np.ndarray] = field(default_factory=dict)  # (model, sigma, layer)
    latents: np.ndarray | None = None
    pixels: np.ndarray | None = None
    pos: np.ndarray | None = None
    samples: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # task -> (index, target)


def clip_seed(seed: int, split: str, i: int) -> int:
    return int(np.random.SeedSequence([seed, SPLITS.index(split), i, 20]).generate_state(1)[0])


def patch_grid(x: torch.Tensor, pt: int, p: int) -> np.ndarray:
    """(c, T, h, w) -> (T', h/p, w/p, pt * p * p * c) patches in token order, time padded by repeating."""
    c, T, h, w = x.shape
    tg = math.ceil(T / pt)
    idx = torch.minimum(torch.arange(tg * pt), torch.tensor(T - 1))
    x = x[:, idx].reshape(c, tg, pt, h // p, p, w // p, p)
    return x.permute(1, 3, 5, 2, 4, 6, 0).reshape(tg, h // p, w // p, -1).numpy().astype(np.float32)


def position_grid(dim: int, grid: tuple[int, int, int]) -> np.ndarray:
    """The DiT's own 3-D sin-cos positional code on its token grid: (T', h', w', dim). The baselines carry it, so
    they know where a patch is, as the DiT does."""
    return sincos_3d(dim, grid).reshape(*grid, dim).numpy()


def baseline_tokens(patches: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Patch values (T', h', w', F) with the positional code appended: a baseline's per-token features."""
    return np.concatenate([patches, pos.astype(patches.dtype)], -1)


def select_samples(truth: TokenTruth, cap: int, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per task, which rows of a clip's token grid are samples and their targets. Token tasks index (t', y', x');
    ball tasks index the ball's token; camera indexes frame groups."""
    grid = truth.depth.shape

    def cap_rows(rows):
        return rows if len(rows) <= cap else rows[np.sort(rng.choice(len(rows), cap, replace=False))]

    flat = np.stack(np.unravel_index(np.arange(np.prod(grid)), grid), 1)  # (N, 3) all tokens
    out = {}
    ok = np.isfinite(truth.depth).reshape(-1)
    rows = cap_rows(flat[ok])
    out["depth"] = (rows, truth.depth[tuple(rows.T)])
    pos = flat[(truth.ball >= 0.25).reshape(-1)]
    neg = flat[(truth.ball == 0).reshape(-1)]
    pos = cap_rows(pos)[: cap // 2]
    neg = neg[np.sort(rng.choice(len(neg), min(len(neg), max(len(pos), 1)), replace=False))] if len(neg) else neg
    rows = np.concatenate([pos, neg])
    out["ball"] = (rows, np.r_[np.ones(len(pos)), np.zeros(len(neg))])
    out["position"] = (truth.ball_tokens[:, :3], truth.ball_position)
    out["velocity"] = (truth.ball_tokens[:, :3], truth.ball_velocity)
    occ = (truth.occluder >= 0.5).reshape(-1)
    rows = cap_rows(flat[occ])
    out["hidden"] = (rows, truth.hidden_behind[tuple(rows.T)].astype(float) if len(rows) else np.zeros(0))
    out["camera"] = (np.arange(grid[0])[:, None], truth.camera)
    return out


def pooled_frames(grid: np.ndarray, cells: int = 4) -> np.ndarray:
    """(T', h', w', F) -> (T', cells_y * cells_x * F): each frame group's tokens averaged over a grid of at most
    `cells` x `cells` blocks and concatenated (the camera task's features)."""
    tg, h, w, f = grid.shape
    cy, cx = min(cells, h), min(cells, w)
    ys = np.array_split(np.arange(h), cy)
    xs = np.array_split(np.arange(w), cx)
    return np.stack([np.concatenate([grid[t][np.ix_(y, x)].mean((0, 1)) for y in ys for x in xs])
                     for t in range(tg)])


def features(rec: ClipRecord, task: str, source: tuple) -> np.ndarray:
    """The (samples, F) matrix of one clip for a task from a source: ("dit", model, sigma, layer), ("latents",)
    or ("pixels",). Baselines carry the positional code except for the camera task (pooled cells)."""
    rows, _ = rec.samples[task]
    if source[0] == "dit":
        g = rec.layers[source[1:]]
    else:
        g = rec.latents if source[0] == "latents" else rec.pixels
        if task != "camera":
            g = baseline_tokens(g, rec.pos)
    if task == "camera":
        return pooled_frames(g)[rows[:, 0]]
    return g[tuple(rows.T)] if len(rows) else np.zeros((0, g.shape[-1]), np.float32)


@torch.no_grad()
def noisy_inputs(pipe, frames: np.ndarray, captions: list[str], sigma: float, observed: int,
                 generator: torch.Generator) -> dict:
    """What the DiT sees at noise level `sigma` for clips (B, T, H, W, 3) uint8 whose first `observed` frames are
    given: {"x0": clean latents, "sample": the noisy latents (observed frames clean, as the pipeline keeps them),
    "cond_latents", "cond_mask", "text_embeds"}."""
    x0 = pipe.vae.encode_frames(frames)  # (B, c, T, h, w)
    mask = torch.zeros(x0.shape[0], x0.shape[2])
    mask[:, :observed] = 1
    m = mask[:, None, :, None, None]
    noise = torch.randn(x0.shape, generator=generator)
    xt = ((1 - sigma) * x0 + sigma * noise) * (1 - m) + x0 * m
    return {"x0": x0, "sample": xt, "cond_latents": x0, "cond_mask": mask, "text_embeds": pipe.encode_text(captions)}


@torch.no_grad()
def clip_states(model: SpacetimeDiT, inp: dict, sigma: float, observed: int, names: list[str]) -> dict:
    """{layer: (B, N, D)} hidden states over the clip's whole token grid, each token as the model computes it when
    it makes that token's frames. A joint model makes the clip in one pass (`inp` as noisy_inputs gives it). A
    next-chunk model never sees a whole clip: it predicts each chunk from the `context_frames` frames before it, so
    every chunk after the observed frames is recorded in its own window - the true clean frames before it as
    context, the chunk at noise level `sigma` - and the observed frames as the first window's context sees them."""
    if model.config.objective != "next_chunk":
        return record_hidden_states(model, inp["sample"], sigma, inp["text_embeds"], inp["cond_latents"],
                                    inp["cond_mask"], names)[0]
    k, c = model.config.context_frames, model.config.patch_size_t
    x0, sample = inp["x0"], inp["sample"]
    B, _, T, h, w = x0.shape
    if observed > k or observed % c or T % c:
        raise ValueError(f"a next-chunk model with {k} context frames and {c} frames per chunk is studied with at "
                         f"most {k} observed frames, whole chunks of a {T}-frame clip; got {observed} observed")
    _, gh, gw = model.token_grid(T, h, w)
    out = {n: torch.zeros(B, T // c, gh * gw, model.config.hidden_size) for n in names}
    for t0 in range(observed, T, c):
        w0 = max(0, t0 - k)
        win = torch.cat([x0[:, :, w0:t0], sample[:, :, t0:t0 + c]], dim=2)
        mask = torch.zeros(B, win.shape[2])
        mask[:, :t0 - w0] = 1
        cond = win * mask[:, None, :, None, None]
        states, _ = record_hidden_states(model, win, sigma, inp["text_embeds"], cond, mask, names)
        n_ctx = (t0 - w0) // c
        for n in names:
            st = states[n].reshape(B, -1, gh * gw, model.config.hidden_size)
            out[n][:, t0 // c] = st[:, n_ctx]
            if t0 == observed:
                out[n][:, w0 // c:t0 // c] = st[:, :n_ctx]
    return {n: v.reshape(B, -1, v.shape[-1]) for n, v in out.items()}


@torch.no_grad()
def record_clips(pipe, models: dict[str, SpacetimeDiT], clips: list[tuple[str, int, str, int]], cfg: StudyConfig,
                 progress=None) -> list[ClipRecord]:
    """Draw, encode, noise and record every clip; `clips` lists (split, index, family, seed)."""
    tr = pipe.transformer
    pt, p, D = tr.config.patch_size_t, tr.config.patch_size, tr.config.hidden_size
    px = pipe.spatial_factor
    T, H, W = pipe.defaults["frames"], pipe.defaults["height"], pipe.defaults["width"]
    names = layer_names(tr)
    out: list[ClipRecord] = []
    for start in range(0, len(clips), cfg.batch):
        chunk = clips[start:start + cfg.batch]
        drawn = [sample_clip(fam, split, sd, T, H, W) for split, _, fam, sd in chunk]
        frames = np.stack([c.frames for c in drawn])  # (B, T, H, W, 3)
        grid = tr.token_grid(T, H // pipe.vae.spatial_compression, W // pipe.vae.spatial_compression)
        pos = position_grid(D, grid)
        recs = []
        x0 = pipe.vae.encode_frames(frames)  # (B, c, T, h, w)
        for (split, i, fam, sd), clip, z in zip(chunk, drawn, x0):
            rec = ClipRecord(split, i, fam, sd, token_truth(clip, pt, px))
            rec.latents = patch_grid(z, pt, p)
            rec.pixels = patch_grid(from_uint8(clip.frames[None])[0], pt, px)
            rec.pos = pos
            rec.samples = select_samples(rec.truth, cfg.tokens_per_clip, np.random.default_rng(sd))
            recs.append(rec)
        for sigma in cfg.sigmas:
            g = torch.Generator().manual_seed(clip_seed(cfg.seed, chunk[0][0], chunk[0][1]) + int(sigma * 1000))
            inp = noisy_inputs(pipe, frames, [c.caption for c in drawn], sigma, cfg.observed, g)
            for model_name, model in models.items():
                states = clip_states(model, inp, sigma, cfg.observed, names)
                for name in names:
                    s = states[name].reshape(len(drawn), *grid, D).numpy()
                    for rec, a in zip(recs, s):
                        rec.layers[(model_name, sigma, name)] = a
        out += recs
        if progress is not None:
            progress(len(out), len(clips))
    return out


# ---------------------------------------------------------------------------- fitting
def stack(recs: list[ClipRecord], task: str, source: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, Y, clip groups) of a task from a source over clips."""
    Xs, Ys, gs = [], [], []
    for rec in recs:
        rows, y = rec.samples[task]
        if len(rows) == 0:
            continue
        Xs.append(features(rec, task, source))
        Ys.append(np.asarray(y, float).reshape(len(rows), -1))
        gs.append(np.full(len(rows), rec.index if rec.split == "train" else 10**6 + rec.index))
    if not Xs:
        return np.zeros((0, 1)), np.zeros((0, 1)), np.zeros(0, int)
    return np.concatenate(Xs).astype(np.float64), np.concatenate(Ys), np.concatenate(gs)


def _score(metric, y, pred):
    from .linear import METRICS

    return METRICS[metric](y, pred) if len(y) else float("nan")


def fit_source(task: Task, train, parts: dict, source: tuple, seed: int) -> dict:
    """CV-select alpha on the probe-train clips, refit, predict every evaluation part."""
    X, Y, g = stack(train, task.name, source)
    if len(np.unique(g)) < CV_FOLDS or (task.metric == "auc" and len(np.unique(Y)) < 2):
        return {"alpha": None, "cv": float("nan"), "probe": None, "pred": {}, "scores": {}}
    alpha, cv = cv_select(X, Y, g, task.metric, seed)
    probe = fit_ridge(X, Y, alpha)
    pred, scores = {}, {}
    for part, (recs, Yp, _) in parts.items():
        Xe = stack(recs, task.name, source)[0]
        pred[part] = probe.predict(Xe) if len(Yp) else np.zeros((0, Y.shape[1]))
        scores[part] = _score(task.metric, Yp, pred[part])
    return {"alpha": alpha, "cv": cv, "probe": probe, "pred": pred, "scores": scores}


def run_study(pipe, cfg: StudyConfig = StudyConfig(), progress=None) -> dict:
    """Record, fit and judge; returns the JSON-ready result (see to_markdown for how to read it)."""
    cfg.check()
    t0 = time.time()
    tr = pipe.transformer.eval()
    models = {"trained": tr, "random": random_like(tr, cfg.seed)}
    rng = np.random.default_rng(cfg.seed)
    clips = [("train", i, FAMILIES[i % len(FAMILIES)], clip_seed(cfg.seed, "train", i)) for i in range(cfg.clips)]
    clips += [("heldout", i, FAMILIES[i % len(FAMILIES)], clip_seed(cfg.seed, "heldout", i))
              for i in range(cfg.heldout_clips)]
    recs = record_clips(pipe, models, clips, cfg, progress)
    t_record = time.time() - t0
    ids = rng.permutation(cfg.clips)
    n_test = max(2, int(round(cfg.clips * cfg.test_fraction)))
    test_ids = set(ids[:n_test].tolist())
    train = [r for r in recs if r.split == "train" and r.index not in test_ids]
    test = [r for r in recs if r.split == "train" and r.index in test_ids]
    held = [r for r in recs if r.split == "heldout"]
    names = layer_names(tr)
    result = {"config": {**asdict(cfg), "sigmas": list(cfg.sigmas), "tasks": list(cfg.tasks),
                         "probe_train_clips": len(train), "probe_test_clips": len(test),
                         "heldout_clips_scored": len(held), "families": list(FAMILIES), "alphas": list(ALPHAS),
                         "cv_folds": CV_FOLDS, "frames": pipe.defaults["frames"], "height": pipe.defaults["height"],
                         "width": pipe.defaults["width"], "layers": names,
                         "token_grid": list(tr.token_grid(pipe.defaults["frames"],
                                                          pipe.defaults["height"] // pipe.vae.spatial_compression,
                                                          pipe.defaults["width"] // pipe.vae.spatial_compression)),
                         "hidden_size": tr.config.hidden_size, "blocks": list(tr.kinds)},
              "tasks": {}, "readout": None}
    for tname in cfg.tasks:
        task = TASKS[tname]
        parts = {}  # evaluation part -> (clips, targets, clip groups); targets do not depend on the source
        for part, rs in (("test", test), ("heldout", held)):
            if rs:
                parts[part] = (rs, *stack(rs, tname, ("latents",))[1:])
        counts = {"train_samples": int(len(stack(train, tname, ("latents",))[1])),
                  **{f"{k}_samples": int(len(v[1])) for k, v in parts.items()}}
        if task.metric == "auc":
            counts.update({f"{k}_positives": int((v[1] > 0.5).sum()) for k, v in parts.items()})
        base = {b: fit_source(task, train, parts, (b,), cfg.seed) for b in ("latents", "pixels")}
        entry = {"metric": task.metric, "doc": task.doc, "unit": task.unit, "counts": counts, "sigmas": {}}
        for sigma in cfg.sigmas:
            fits = {m: [fit_source(task, train, parts, ("dit", m, sigma, n), cfg.seed) for n in names]
                    for m in models}
            best = {m: int(np.nanargmax([f["cv"] if np.isfinite(f["cv"]) else -np.inf for f in fits[m]]))
                    if any(np.isfinite(f["cv"]) for f in fits[m]) else None for m in models}
            s_entry = {"curves": {m: {part: [_r(f["scores"].get(part)) for f in fits[m]] for part in parts}
                                  for m in models},
                       "cv": {m: [_r(f["cv"]) for f in fits[m]] for m in models},
                       "alpha": {m: [f["alpha"] for f in fits[m]] for m in models},
                       "best_layer": {m: (names[b] if b is not None else None) for m, b in best.items()},
                       "baselines": {b: {"alpha": f["alpha"], "cv": _r(f["cv"]),
                                         **{part: _r(f["scores"].get(part)) for part in parts}}
                                     for b, f in base.items()},
                       "judgement": {}}
            if best["trained"] is not None:
                chosen = {"trained": fits["trained"][best["trained"]], "latents": base["latents"],
                          "pixels": base["pixels"]}
                if best["random"] is not None:
                    chosen["random_dit"] = fits["random"][best["random"]]
                for part, (_, Yp, gp) in parts.items():
                    if not len(Yp):
                        continue
                    preds = {k: f["pred"][part] for k, f in chosen.items() if f["probe"] is not None}
                    boots = bootstrap(Yp, preds, gp, task.metric, cfg.bootstrap, cfg.seed)
                    j = {"score": {k: _r(chosen[k]["scores"][part]) for k in preds},
                         "spread": {k: _r(np.nanstd(v)) for k, v in boots.items()}, "margin_low": {}}
                    for b in BASELINES:
                        if b in boots:
                            d = boots["trained"] - boots[b]
                            j["margin_low"][b] = _r(np.nanpercentile(d, 2.5))
                    j["represented"] = bool(len(j["margin_low"]) == len(BASELINES)
                                            and all(v is not None and v > MIN_GAIN for v in j["margin_low"].values()))
                    s_entry["judgement"][part] = j
                if tname == "depth" and (result["readout"] is None or
                                         fits["trained"][best["trained"]]["cv"] > result["readout"]["cv"]):
                    f = fits["trained"][best["trained"]]
                    result["readout"] = {"task": "depth", "sigma": sigma, "layer": names[best["trained"]],
                                         "cv": _r(f["cv"]), "probe": f["probe"].to_dict()}
            entry["sigmas"][str(sigma)] = s_entry
        result["tasks"][tname] = entry
    result["timing_s"] = {"record": round(t_record, 1), "total": round(time.time() - t0, 1)}
    return result


def _r(v):
    if v is None:
        return None
    v = float(v)
    return round(v, 4) if math.isfinite(v) else None


# ---------------------------------------------------------------------------- report
def verdict(result: dict) -> dict[str, dict[str, list[float]]]:
    """task -> part -> noise levels at which the property counts as represented."""
    out = {}
    for t, e in result["tasks"].items():
        out[t] = {}
        for s, se in e["sigmas"].items():
            for part, j in se["judgement"].items():
                out[t].setdefault(part, [])
                if j["represented"]:
                    out[t][part].append(float(s))
    return out


def _f(v):
    return "n/a" if v is None else f"{v:.3f}"


def to_markdown(result: dict, command: str = "") -> str:
    """The per-layer tables and the verdict per task, noise level and split."""
    c = result["config"]
    lines = ["# Inside the model: linear probes on the DiT's hidden states", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    lines += [
        f"{c['clips']} in-distribution clips ({c['probe_train_clips']} to fit the probes, {c['probe_test_clips']} to "
        f"test them, split by clip with seed {c['seed']}) and {c['heldout_clips_scored']} held-out clips (scored with "
        f"the in-distribution probes), families {', '.join(c['families'])} in turn, {c['frames']} frames at "
        f"{c['height']}x{c['width']}, the first {c['observed']} frames observed (clean), the rest noised to sigma "
        f"{', '.join(str(s) for s in c['sigmas'])}; token grid {c['token_grid']} (T' x h' x w'), hidden size "
        f"{c['hidden_size']}, blocks {', '.join(c['blocks'])}.",
        "",
        f"Probes: ridge regression on standardised features, penalty alpha x n_train with alpha picked from "
        f"{c['alphas']} by {c['cv_folds']}-fold cross-validation over probe-training clips; 0/1 tasks use the same "
        "ridge on the labels (a ridge classifier) scored by ROC AUC (0.5 = chance); the rest by R^2 (0 = the "
        "test mean). Baselines: `latents` = the patch's clean autoencoder latents + the DiT's positional code; "
        "`pixels` = the patch's raw pixels + the positional code; `random_dit` = the best layer of a random-weight "
        "DiT of the same shape. **Represented** = the trained model's cross-validated best layer beats every "
        f"baseline by more than {MIN_GAIN} in >= 97.5% of {c['bootstrap']} paired bootstrap resamples of the "
        "test clips (the column `margin` is the 2.5th percentile of the smallest difference).",
        "",
        "## Verdict",
        "",
        "| task | what | metric | sigma | split | trained (layer) | latents | pixels | random DiT | margin | "
        "represented |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t, e in result["tasks"].items():
        for s, se in e["sigmas"].items():
            for part, j in se["judgement"].items():
                sc, sp = j["score"], j["spread"]
                cell = lambda k: f"{_f(sc.get(k))} ± {_f(sp.get(k))}" if k in sc else "n/a"  # noqa: E731
                margin = min((v for v in j["margin_low"].values() if v is not None), default=None)
                lines.append(f"| {t} | {e['doc'].split(':')[0]} | {e['metric']} | {s} | {part} | "
                             f"{cell('trained')} ({se['best_layer']['trained']}) | {cell('latents')} | "
                             f"{cell('pixels')} | {cell('random_dit')} | {_f(margin)} | "
                             f"{'**yes**' if j['represented'] else 'no'} |")
    lines += ["", "± = the bootstrap standard deviation over test clips.", "", "## Per-layer curves (test score)", ""]
    for t, e in result["tasks"].items():
        lines += [f"### {t}: {e['doc']}", "", "Samples: " + ", ".join(f"{k} {v}" for k, v in e["counts"].items()), ""]
        head = ["sigma", "model", "split"] + c["layers"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for s, se in e["sigmas"].items():
            for m, parts in se["curves"].items():
                for part, vals in parts.items():
                    lines.append(f"| {s} | {m} | {part} | " + " | ".join(_f(v) for v in vals) + " |")
        lines.append("")
    ro = result.get("readout")
    if ro:
        lines += [f"Depth read-out kept for the app: layer {ro['layer']} at sigma {ro['sigma']} (cross-validated "
                  f"R^2 {_f(ro['cv'])}).", ""]
    tm = result.get("timing_s", {})
    if tm:
        lines += [f"Time: {tm.get('total')} s in all, {tm.get('record')} s recording (2 shared CPU cores).", ""]
    return "\n".join(lines)
