"""Training: the video autoencoder, then the Spacetime DiT, from scratch on the procedural world.

    python -m playground train --config default            # resumes from its own checkpoint if there is one
    accelerate launch -m playground train --config default # the same loop on one or many GPUs

Flat and visible, nanoGPT style. Data: a cache of simulator clips built once per machine (deterministic for the
seed), encoded to latents after the autoencoder is trained. Every step draws its batch from a generator seeded by
(seed, step, process), so a resumed run sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, fields, replace
from typing import NamedTuple
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from .conditioning import Conditioning
from .diffusion.chunks import ChunkWindow, next_chunk_window, own_context_window
from .diffusion.flow import add_noise, logit_normal_sigmas, masked_x0_loss
from .enrich import PromptEnricher, prompt_attributes
from .precision import fast_bf16
from .models.autoencoder import VideoAutoencoder
from .models.dit import DIT_SIZES, SpacetimeDiT, count_parameters, last_observed_anchor
from .models.autoencoder import from_uint8
from .pipeline import build_pipeline, shared_text_encoder


@dataclass(frozen=True)
class TrainConfig:
    name: str  # the run: checkpoints, logs and snapshots in runs/<name>/
    model_name: str | None = None  # the model folder it exports to, models/<model_name> (default: name)
    seed: int = 0
    # data: the main bucket plus other aspect ratios; durations are cut from the main clips
    family: str = "mixed"
    frames: int = 16
    height: int = 32
    width: int = 32
    clips: int = 12000
    aspect_sizes: tuple[tuple[int, int], ...] = ((32, 48), (48, 32))
    aspect_clips: int = 1200
    aspect_prob: float = 0.1
    short_durations: tuple[int, ...] = (1, 8)  # frames; drawn with short_prob, cut from main clips
    short_prob: float = 0.1
    short_caption_fraction: float = 0.3  # re-captioning: these clips only carry the vague caption
    # how they get a rich one: "captioner" (playground.captioner, trained first with CAPTIONER_CONFIGS[captioner])
    # or "nearest_neighbour" (the caption of the nearest rich-captioned clip in latent space; always measured)
    recaption_method: str = "captioner"
    captioner: str = "default"
    # autoencoder
    ae_channels: tuple[int, ...] = (16, 32)  # 2x spatial compression: small balls keep their colour
    latent_channels: int = 4
    ae_steps: int = 2000
    ae_batch: int = 32
    ae_lr: float = 2e-3
    ae_ball_weight: float = 10.0  # loss weight of the pixels the probe parser calls a ball (see ball_mask)
    # a trained autoencoder folder (relative to the repository) taken instead of training one here; its latent
    # shift and scale are measured on this run's clips. runs/ae-pilot/wide8_10k is made by
    # `python runs/ae-pilot/pilot.py wide8_10k 32,64 8 10000 10 2e-3` (see runs/ae-pilot/README.md)
    vae_init: str | None = None
    # DiT
    dit_size: str = "S"  # width, depth and heads: a playground.models.dit.DIT_SIZES preset
    patch_size_t: int = 2
    patch_size: int = 2
    attention_pattern: str = "alternating"
    anchor: str = "last_observed"  # x0 = last observed frame + the network's correction (see last_observed_anchor)
    # EDM preconditioning around the anchor: a nearly clean input passes through (SpacetimeDiT.skip); its residual
    # scale is measured on the training batches (measure_residual_std)
    precondition: str = "edm"
    # >1: loss weight of latent pixels with a ball in the frame or in its anchor; 5 did worse in a pilot (balls split
    # into more blobs; the numbers are in runs/worldsim-s/notes.md)
    dit_ball_weight: float = 1.0
    # exact GELU; the tanh approximation bought no measurable speed (bench_model --against)
    gelu_approximate: str = "none"
    # "joint": predict every unobserved frame of a clip at once; "next_chunk": predict one chunk (a temporal patch)
    # from the context_frames before it, the context noised up to max_context_sigma and the model told how much
    # (context_noise), short_context_prob of the batches with fewer context frames (playground.diffusion.chunks)
    objective: str = "joint"
    context_frames: int = 4
    context_noise: bool = False
    max_context_sigma: float = 0.3
    short_context_prob: float = 0.15
    # next_chunk: the share of batches with no context frame (the text-only first chunk: text-to-video's first
    # frame), on top of short_context_prob's 1-in-context_frames share of them; one such window is a single frame,
    # about a fifth of a full window's cost
    first_chunk_prob: float = 0.0
    # next_chunk: the share of batches whose context ends in the model's own chunk, sampled by the EMA weights in
    # own_context_steps steps from the true frames before it, the target still the truth
    # (playground.diffusion.chunks.own_context_window; the pilot that chose it is in runs/pilot-own/README.md)
    own_context_prob: float = 0.0
    own_context_steps: int = 4
    # next_chunk: per-frame action maps of the clips' kicks as extra input channels (playground.conditioning)
    action_channels: int = 0
    # next_chunk: the share of samples drawn from a kicked clip with the window's last context frame on the kick
    # (next_chunk_window's focus), the window whose chunk the kick changes
    kick_window_prob: float = 0.0
    dit_steps: int = 31000  # resumable; the measured compute is in the model card (training.json compute_s)
    batch: int = 16
    lr: float = 4e-4
    warmup: int = 300
    # Warm restarts of the cosine learning-rate curve (`learning_rate`): at each of these steps a new cycle starts at
    # restart_lr (after restart_warmup steps) and decays to a tenth of it at the next restart or at dit_steps. The
    # shipped model trained 8,000 steps, then was continued from its checkpoints with a second, third and fourth cycle.
    lr_restarts: tuple[int, ...] = (8000, 17000, 21000)
    restart_lr: float = 2e-4
    restart_warmup: int = 100
    ema_decay: float = 0.999
    text_dropout: float = 0.15
    no_obs_prob: float = 0.1  # text-to-video share; otherwise 1 .. T-1 observed frames
    grad_clip: float = 1.0
    # bookkeeping
    log_every: int = 50
    ckpt_every_s: float = 600.0
    sample_every: int = 2000
    enrich_captions: int = 3000
    # emergence over compute: an EMA snapshot every this many seconds of DiT compute (0 = none), scored later by
    # `python -m playground emergence RUN_DIR` into RUN_DIR/emergence.jsonl
    snapshot_every_s: float = 0.0
    # a run (relative to the repository) whose checkpoint this run starts from when it has none of its own: weights,
    # EMA, optimizer state, step and compute carry over, so a pilot's winner continues without losing its compute
    init_from: str | None = None
    # a model folder (relative to the repository) whose transformer weights start this run's DiT when it has no
    # checkpoint (a warm start across objectives, e.g. the joint worldsim-s continued as a next-chunk model): every
    # weight of the same name and shape is copied; the input channels this config adds (context noise level,
    # actions) start at zero, so the warm-started model first behaves as the one it came from (warm_start)
    init_weights: str | None = None
    # the EDM residual scale, when given instead of measured (a run continued from a warm start keeps its source's)
    residual_std: float | None = None


_WIDE8 = dict(ae_channels=(32, 64), latent_channels=8, ae_steps=10_000, vae_init="runs/ae-pilot/wide8_10k")

# world model v2 as continued: one frame per temporal patch (the next-frame model), warm-started from
# worldsim-v2-pt2's weights after 1.93 h (runs/pilot-warm/README.md), continued from that pilot's checkpoint;
# from step 13,517 a quarter of the windows end their context on a kick (the kick pilot's arm `kick`, whose
# checkpoint it continued: runs/pilot-kick/README.md); shipped as models/worldsim-s
_V2 = TrainConfig(name="worldsim-v2", model_name="worldsim-s", dit_steps=20_000, lr_restarts=(),
                  objective="next_chunk", context_noise=True, action_channels=3, **_WIDE8, patch_size_t=1, lr=2e-4,
                  warmup=100, snapshot_every_s=1800, init_from="runs/pilot-warm/pt1", residual_std=0.262,
                  kick_window_prob=0.25)

CONFIGS: dict[str, TrainConfig] = {
    # the joint model shipped as worldsim-s before world model v2 (runs/worldsim-s: its checkpoint and notes)
    "worldsim-s-joint": TrainConfig(name="worldsim-s"),
    # world model v2's pilot: today's joint recipe against the next-chunk recipe, same data, same size, run for equal
    # CPU time (`--compute-minutes 40` each, nothing else running); one cosine cycle long enough that neither
    # decays early; both on the autoencoder of the autoencoder pilot (32, 64 channels, 8 latent channels)
    "pilot-joint": TrainConfig(name="pilot-joint", dit_steps=100_000, lr_restarts=(), **_WIDE8, snapshot_every_s=600),
    "pilot-chunk": TrainConfig(name="pilot-chunk", dit_steps=100_000, lr_restarts=(), objective="next_chunk",
                               context_noise=True, action_channels=3, **_WIDE8, snapshot_every_s=600),
    # world model v2, the pilot's winner continued (runs/pilot-v2/README.md): the next-chunk recipe from
    # pilot-chunk's checkpoint, one cosine over dit_steps, within about 6 h of DiT compute in all (resumable;
    # `--compute-minutes 360` caps it), an EMA snapshot every 45 compute-minutes for emergence over compute
    "worldsim-v2-pt2": TrainConfig(name="worldsim-v2-pt2", dit_steps=56_000, lr_restarts=(), objective="next_chunk",
                                   context_noise=True, action_channels=3, **_WIDE8, snapshot_every_s=2700,
                                   init_from="runs/pilot-chunk"),
    "worldsim-v2": _V2,
    # world model v2 continued with a third of its batches the text-only first chunk (first_chunk_prob), from
    # worldsim-v2's checkpoint (step 20,000), a short cosine from 6e-5, for the DiT budget's last 16.8 minutes
    # (`--compute-minutes 340`; runs/worldsim-v2-first/README.md)
    "worldsim-v2-first": replace(_V2, name="worldsim-v2-first", init_from="runs/worldsim-v2", first_chunk_prob=0.3,
                                 lr_restarts=(20_000,), restart_lr=6e-5, restart_warmup=50, dit_steps=22_200,
                                 snapshot_every_s=0.0),
    # the shipped model (models/worldsim-s): world model v2
    "default": _V2,
    # seconds, for tests and smoke runs
    "tiny": TrainConfig(
        name="tiny", clips=48, aspect_clips=8, frames=8, ae_channels=(8, 16, 16), ae_steps=30, ae_batch=16,
        dit_size="XS", dit_steps=40, batch=4, warmup=5, log_every=5, sample_every=10**9,
        enrich_captions=20, lr=2e-3, short_durations=(1, 4), lr_restarts=(), captioner="tiny",
        # un-anchored and un-preconditioned, so that its loss starts at the data's scale and the tests see it fall
        # within 40 steps (anchored, it starts at the copy-last error, already small on these clips; preconditioned,
        # at 1 by design, and a 0.07M model does not take it down 30% in 40 steps)
        anchor="none", precondition="none",
    ),
}


# --------------------------------------------------------------------------- data
def build_clip_cache(cfg: TrainConfig, cache_dir: Path) -> dict:
    """Simulator clips for every size bucket, cached as .npz (deterministic for cfg.seed): frames, captions and each
    clip's kicks as pixel actions (`actions`: (N, MAX_KICKS, 6) float32 rows frame, x, y, dx, dy, strength, NaN
    where a clip has fewer kicks)."""
    from .world import sample_frames_batch
    from .world.scene import MAX_KICKS

    cache_dir.mkdir(parents=True, exist_ok=True)
    buckets = {}
    sizes = [((cfg.height, cfg.width), cfg.clips)] + [(s, cfg.aspect_clips) for s in cfg.aspect_sizes]
    for (h, w), n in sizes:
        path = cache_dir / f"clips_{cfg.frames}x{h}x{w}_n{n}_s{cfg.seed}_{cfg.family}_actions.npz"
        if not path.exists():
            frames, rich, short, acts = [], [], [], []
            chunk = 250
            for i in tqdm(range(0, n, chunk), desc=f"simulating {n} clips at {h}x{w}"):
                f, r, s, a = sample_frames_batch(min(chunk, n - i), seed=cfg.seed * 7_919 + h * 131 + w + i * 1_000_003,
                                                 family=cfg.family, split="train", n_frames=cfg.frames,
                                                 height=h, width=w, with_actions=True)
                frames.append(f), rich.extend(r), short.extend(s), acts.extend(a)
            table = np.full((n, MAX_KICKS, 6), np.nan, dtype=np.float32)
            for j, clip_acts in enumerate(acts):
                for k, a in enumerate(clip_acts):
                    table[j, k] = (a.frame, a.x, a.y, a.dx, a.dy, a.strength)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, frames=np.concatenate(frames), rich=np.array(rich), short=np.array(short), actions=table)
            os.replace(tmp, path)
        d = np.load(path)
        buckets[(h, w)] = {"frames": d["frames"], "rich": list(d["rich"]), "short": list(d["short"]),
                           "actions": d["actions"]}
    return buckets


def clip_actions(table: np.ndarray) -> list:
    """One row of the cache's action table (MAX_KICKS, 6) -> the clip's PixelActions."""
    from .world.actions import PixelAction

    return [PixelAction(int(r[0]), *map(float, r[1:])) for r in table if np.isfinite(r[0])]


def action_maps(table: np.ndarray, frames: int, lat_h: int, lat_w: int, compression: int) -> torch.Tensor:
    """Action tables (B, MAX_KICKS, 6) -> action maps (B, ACTION_CHANNELS, frames, lat_h, lat_w)."""
    from .conditioning import action_map

    return torch.stack([action_map(clip_actions(t), frames, lat_h, lat_w, compression) for t in table])


def recaption(latents: torch.Tensor, rich: list[str], short_only: np.ndarray) -> tuple[list[str], dict]:
    """Give short-caption clips the rich caption of their nearest rich-captioned neighbour in latent space.

    Returns the captions used for training and how often the borrowed caption is right against the clip's true
    rich caption: per attribute (colours, count, gravity, occluder, camera, collision) and for all at once.
    """
    feats = latents.flatten(1).float()  # (N, c*T*h*w)
    feats = F.normalize(feats - feats.mean(0), dim=1)
    donors = np.flatnonzero(~short_only)
    used = list(rich)
    keys = ("colours", "count", "gravity", "occluder", "camera", "collision")
    right = dict.fromkeys(("all",) + keys, 0)
    queries = np.flatnonzero(short_only)
    donor_feats = feats[donors]
    for i in range(0, len(queries), 512):
        q = queries[i : i + 512]
        nn_idx = donors[(feats[q] @ donor_feats.T).argmax(1).numpy()]
        for a, b in zip(q, nn_idx):
            used[a] = rich[b]
            want, got = prompt_attributes(rich[a]), prompt_attributes(rich[b])
            right["all"] += want == got
            for k in keys:
                right[k] += want.get(k) == got.get(k)
    return used, {k: v / max(1, len(queries)) for k, v in right.items()}


def recaption_with_captioner(captioner, frames: np.ndarray, rich: list[str], short_only: np.ndarray,
                             seed: int = 0) -> tuple[list[str], dict]:
    """Give short-caption clips the rich caption the learned captioner writes for their frames (N, T, H, W, 3).

    Returns the captions used for training and how often the captioner's caption agrees with the clip's true rich
    caption (playground.captioner.agreement: per attribute, all goal attributes at once, the whole caption)."""
    from .captioner import agreement, caption_labels_text

    used = list(rich)
    queries = np.flatnonzero(short_only)
    labels = captioner.describe(frames[queries]) if len(queries) else []
    for i, lab in zip(queries, labels):
        used[i] = caption_labels_text(lab, seed=seed + int(i))
    return used, agreement(labels, [prompt_attributes(rich[i]) for i in queries])


def nearest_neighbour_agreement(latents: torch.Tensor, rich: list[str], short_only: np.ndarray) -> dict:
    """The nearest-neighbour method (recaption) scored as the captioner is (playground.captioner.agreement)."""
    from .captioner import agreement

    used, _ = recaption(latents, rich, short_only)
    q = np.flatnonzero(short_only)
    return agreement([prompt_attributes(used[i]) for i in q], [prompt_attributes(rich[i]) for i in q])


def load_or_train_captioner(cfg: TrainConfig, cache_dir: Path, model_dir: Path | None = None):
    """The captioner of CAPTIONER_CONFIGS[cfg.captioner], trained once per machine and config (it depends on its
    config alone: its own seeded simulator clips) and kept in the cache; one already in `model_dir/captioner` that
    was trained with the same config (its training.json), or else in the shipped model folder, is taken instead of
    training again."""
    import hashlib

    from .captioner import CAPTIONER_CONFIGS, CAPTIONER_VERSION, Captioner, config_from_record, train_captioner

    ccfg = CAPTIONER_CONFIGS[cfg.captioner]
    conf = json.loads(json.dumps(asdict(ccfg)))
    key = hashlib.sha256(json.dumps([conf, CAPTIONER_VERSION], sort_keys=True).encode()).hexdigest()[:12]
    path = cache_dir / f"captioner_{cfg.captioner}_{key}"
    if (path / "config.json").exists():
        return Captioner.from_pretrained(path).eval(), path
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    from .paths import DEFAULT_MODEL_DIR

    candidates = [] if model_dir is None else [Path(model_dir) / "captioner"]
    candidates.append(DEFAULT_MODEL_DIR / "captioner")  # the shipped one, when a run writes its model elsewhere
    def trained_with(folder: Path):  # the config a captioner folder was trained with, or None
        if not (folder / "training.json").is_file():
            return None
        record = json.loads((folder / "training.json").read_text()).get("config")
        return None if record is None else config_from_record(record)

    shipped = next((c for c in candidates if trained_with(c) == ccfg), None)
    if shipped is not None:
        shutil.copytree(shipped, tmp)
    else:
        train_captioner(ccfg, tmp, cache_dir)
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    return Captioner.from_pretrained(path).eval(), path


def cached_text_embeddings(captions: list[str], text_encoder, cache_dir: Path) -> torch.Tensor:
    """Sentence embeddings of every training caption, cached on disk by a hash of the caption list (encoding
    ~15k long captions takes minutes on 2 cores)."""
    import hashlib

    key = hashlib.sha256("\n".join(captions).encode()).hexdigest()[:16]
    path = cache_dir / f"text_{key}.safetensors"
    if path.exists():
        return load_file(str(path))["embeddings"]
    emb = text_encoder.encode(captions)
    save_file({"embeddings": emb.contiguous()}, str(path))
    return emb


# --------------------------------------------------------------------------- checkpoints (safetensors only)
def save_checkpoint(path: Path, model, ema, opt, step: int, extra: dict) -> None:
    path.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}
    tensors |= {f"ema.{k}": v.contiguous() for k, v in ema.state_dict().items()}
    osd = opt.state_dict()
    for idx, st in osd["state"].items():
        for k, v in st.items():
            tensors[f"opt.{idx}.{k}"] = torch.as_tensor(v).contiguous()
    tmp = path / "state.safetensors.tmp"
    save_file(tensors, str(tmp))
    os.replace(tmp, path / "state.safetensors")
    meta = {"step": step, "param_groups": osd["param_groups"], **extra}
    (path / "state.json").write_text(json.dumps(meta, indent=1))


def resolve_repo_path(path: str | Path) -> Path:
    """A config's path: absolute as given, else relative to the repository."""
    from .paths import REPO_ROOT

    return Path(path) if Path(path).is_absolute() else REPO_ROOT / path


def warm_start(model: SpacetimeDiT, source: str | Path) -> dict:
    """Copies a model folder's transformer weights into `model` (TrainConfig.init_weights). The patch embedding's
    input channels are [latents, observed latents, mask, (noise level), (actions)]: the source's are copied into the
    first ones and any this model adds stay zero. From a temporal patch of 2 frames to 1, the embedding's two
    temporal taps are summed and the output layer keeps the first frame's rows. Returns {"copied": n, "extended": [...], "kept": [...]} (kept =
    this model's own initialisation: names or shapes the source lacks)."""
    src = resolve_repo_path(source)
    weights = load_file(str(src / "transformer" / "diffusion_pytorch_model.safetensors"))
    same_latents = json.loads((src / "transformer" / "config.json").read_text())["latent_channels"] == \
        model.config.latent_channels  # else the embedding's channels mean other things: it stays as initialised
    own = model.state_dict()
    report = {"copied": 0, "extended": [], "kept": []}
    with torch.no_grad():
        for name, param in own.items():
            w = weights.get(name)
            if w is not None and w.shape == param.shape:
                param.copy_(w)
                report["copied"] += 1
            elif (w is not None and same_latents and name == "x_embedder.weight" and w.shape[0] == param.shape[0]
                  and w.shape[3:] == param.shape[3:] and w.shape[1] <= param.shape[1]
                  and (w.shape[2] == param.shape[2] or param.shape[2] == 1)):
                if param.shape[2] != w.shape[2]:  # one frame per token: a frame seen twice embeds as before
                    w = w.sum(dim=2, keepdim=True)
                param.zero_()
                param[:, : w.shape[1]] = w
                report["extended"].append(name)
            elif (w is not None and same_latents and name.startswith("final_layer.linear.")
                  and w.shape[1:] == param.shape[1:] and w.shape[0] % param.shape[0] == 0):
                param.copy_(w[: param.shape[0]])  # fewer frames per token: the first frame's outputs
                report["extended"].append(name)
            else:
                report["kept"].append(name)
    print(f"warm start from {src}: {report['copied']} tensors copied, extended {report['extended']}, "
          f"kept {report['kept']}")
    return report


def save_snapshot(snap_dir: Path, ema, step: int, compute_s: float, samples: int) -> Path:
    """The EMA weights (fp16) at a point of the run, for emergence over compute (playground.emergence)."""
    snap_dir.mkdir(parents=True, exist_ok=True)
    path = snap_dir / f"step_{step:07d}"
    path.mkdir(exist_ok=True)
    save_file({k: v.half().contiguous() for k, v in ema.state_dict().items()}, str(path / "ema.safetensors"))
    (path / "snapshot.json").write_text(json.dumps({"step": step, "compute_s": round(compute_s, 1),
                                                    "samples_seen": samples}, indent=1))
    return path


def load_checkpoint(path: Path, model, ema, opt) -> dict:
    tensors = load_file(str(path / "state.safetensors"))
    meta = json.loads((path / "state.json").read_text())
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    state: dict = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, idx, name = k.split(".", 2)
            state.setdefault(int(idx), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    return meta


# --------------------------------------------------------------------------- autoencoder
def ball_mask(frames_u8: np.ndarray) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 1, 1, H, W) float: pixels the object parser calls a ball, grown by one pixel
    so that the anti-aliased rims count too."""
    from .probes.parser import classify_pixels

    m = torch.from_numpy(classify_pixels(frames_u8) >= 0).float()[:, None]  # (B, 1, H, W)
    return F.max_pool2d(m, 3, stride=1, padding=1)[:, :, None]


def ae_loss(rec: torch.Tensor, x: torch.Tensor, mask: torch.Tensor, ball_weight: float) -> torch.Tensor:
    """L1 + L2 reconstruction with ball pixels weighted `ball_weight` times. Balls cover a few percent of a
    frame: unweighted, a small autoencoder spends its capacity on the floor and returns small balls blurred
    into the wrong colour (white ones into the floor's grey)."""
    err = (rec - x).abs() + (rec - x) ** 2
    return ((1 + (ball_weight - 1) * mask) * err).mean()


def train_autoencoder(cfg: TrainConfig, buckets: dict, run_dir: Path, device) -> VideoAutoencoder:
    out = run_dir / "vae"
    if (out / "config.json").exists():
        return VideoAutoencoder.from_pretrained(out).to(device).eval()
    main = buckets[(cfg.height, cfg.width)]["frames"]  # (N, T, H, W, 3)
    n, t = main.shape[:2]
    if cfg.vae_init is not None:
        src = resolve_repo_path(cfg.vae_init)
        vae = VideoAutoencoder.from_pretrained(src).to(device)
        got = (tuple(vae.config.channels), vae.config.latent_channels)
        if got != (tuple(cfg.ae_channels), cfg.latent_channels):
            raise ValueError(f"vae_init {cfg.vae_init}: channels, latent channels {got}, the config asks for "
                             f"{(tuple(cfg.ae_channels), cfg.latent_channels)}")
        return _finish_autoencoder(cfg, vae, main, out, None, device, source=str(cfg.vae_init))
    torch.manual_seed(cfg.seed)
    vae = VideoAutoencoder(latent_channels=cfg.latent_channels, channels=cfg.ae_channels).to(device)
    opt = torch.optim.AdamW(vae.parameters(), lr=cfg.ae_lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.ae_lr, total_steps=cfg.ae_steps, pct_start=0.1)
    bar = tqdm(range(cfg.ae_steps), desc="autoencoder")
    for step in bar:
        rng = np.random.default_rng((cfg.seed, 1, step))
        idx = rng.integers(0, n, cfg.ae_batch)
        ti = rng.integers(0, t, cfg.ae_batch)
        batch = main[idx, ti]  # (B, H, W, 3)
        x = from_uint8(batch[:, None]).to(device)  # (B, 3, 1, H, W)
        rec = vae(x)
        loss = ae_loss(rec, x, ball_mask(batch).to(device), cfg.ae_ball_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.4f}")
    return _finish_autoencoder(cfg, vae, main, out, loss, device, source="trained here")


def _finish_autoencoder(cfg: TrainConfig, vae: VideoAutoencoder, main: np.ndarray, out: Path, loss, device,
                        source: str) -> VideoAutoencoder:
    n = len(main)
    vae.eval()
    # Normalise the latent to zero mean, unit variance for the diffusion model.
    with torch.no_grad():
        rng = np.random.default_rng((cfg.seed, 2))
        idx = rng.integers(0, n, 256)
        z = vae.encode_raw(from_uint8(main[idx]).to(device))
        vae.register_to_config(shift_factor=float(z.mean()), scaling_factor=float(1.0 / z.std()))
        err = (vae.decode_frames(vae.encode_frames(main[idx[:64]])).astype(np.float32)
               - main[idx[:64]].astype(np.float32))
    psnr = float(10 * np.log10(255.0**2 / np.mean(err**2)))
    vae.save_pretrained(out)
    (out / "metrics.json").write_text(json.dumps({"psnr_db": psnr, "final_loss": None if loss is None else loss.item(),
                                                  "source": source},
                                                 indent=1))
    print(f"autoencoder: reconstruction PSNR {psnr:.2f} dB on 64 training clips")
    return vae


@torch.no_grad()
def encode_buckets(vae: VideoAutoencoder, buckets: dict, device, batch: int = 64, cache_dir: Path | None = None) -> None:
    """Every bucket's latents (fp16), kept in cache_dir under a hash of the autoencoder's weights, its latent
    scaling and the clips (encoding 14,400 clips takes minutes on 2 cores)."""
    import hashlib

    h = hashlib.sha256()
    for k, v in sorted(vae.state_dict().items()):
        h.update(k.encode()), h.update(v.detach().cpu().float().numpy().tobytes())
    h.update(json.dumps([vae.config.shift_factor, vae.config.scaling_factor]).encode())
    for key, b in buckets.items():
        hk = h.copy()
        hk.update(np.ascontiguousarray(b["frames"][:: max(1, len(b["frames"]) // 64)]).tobytes())
        hk.update(str((key, b["frames"].shape)).encode())
        path = None if cache_dir is None else cache_dir / f"latents_{hk.hexdigest()[:16]}.safetensors"
        if path is not None and path.exists():
            b["latents"] = load_file(str(path))["latents"]
            continue
        lat = []
        for i in range(0, len(b["frames"]), batch):
            lat.append(vae.encode_frames(b["frames"][i : i + batch]).half().cpu())
        b["latents"] = torch.cat(lat)  # (N, c, T, h, w)
        if path is not None:
            tmp = path.with_suffix(".tmp")
            save_file({"latents": b["latents"].contiguous()}, str(tmp))
            os.replace(tmp, path)


# --------------------------------------------------------------------------- DiT
class Batch(NamedTuple):
    """One training batch (dit_loss's arguments). x0 (B, c, T, h, w) clean latents; text (B, D); obs_mask (B, T) 1 on
    observed (context) frames; sigma (B,) and noise (like x0) of the frames to predict; weight (B, 1, T, h, w) or
    None; cond_latents, cond_sigma: a next-chunk batch's noised context and its levels; actions: action maps or
    None; own_context: a next-chunk batch to be finished on the model's own output (own_context_window), whose
    first seven fields describe the window before that."""

    x0: torch.Tensor
    text: torch.Tensor
    obs_mask: torch.Tensor
    sigma: torch.Tensor
    noise: torch.Tensor
    weight: torch.Tensor | None = None
    cond_latents: torch.Tensor | None = None
    cond_sigma: torch.Tensor | None = None
    actions: torch.Tensor | None = None
    own_context: ChunkWindow | None = None


def make_batch(cfg: TrainConfig, buckets: dict, text_table: torch.Tensor, step: int, process: int = 0,
               processes: int = 1) -> Batch:
    """Process `process`'s share (cfg.batch samples) of step `step`'s global batch of cfg.batch * processes
    samples; a pure function of (cfg, step, process, processes). The global batch depends only on its size, so
    P processes with batch B train on what one process with batch P * B trains on."""
    if not 0 <= process < processes:
        raise ValueError(f"process {process} of {processes}")
    if processes == 1:
        return _global_batch(cfg, buckets, text_table, step)
    full = _global_batch(replace(cfg, batch=cfg.batch * processes), buckets, text_table, step)
    part = slice(process * cfg.batch, (process + 1) * cfg.batch)
    cut = lambda t: None if t is None else t[part]  # noqa: E731
    own = full.own_context
    if own is not None:
        own = ChunkWindow(*(cut(getattr(own, f.name)) for f in fields(ChunkWindow)))
    return Batch(*(cut(t) for t in full[:9]), own_context=own)


def _global_batch(cfg: TrainConfig, buckets: dict, text_table: torch.Tensor, step: int, stream: int = 0) -> Batch:
    """The whole batch of a step; `stream` != 0 draws batches apart from the training ones (measure_residual_std)."""
    rng = np.random.default_rng((cfg.seed, 3, step, stream))
    u = rng.random()
    if u < cfg.aspect_prob and cfg.aspect_sizes:
        key = cfg.aspect_sizes[rng.integers(len(cfg.aspect_sizes))]
        frames = cfg.frames
    else:
        key = (cfg.height, cfg.width)
        frames = cfg.frames
        if u < cfg.aspect_prob + cfg.short_prob and cfg.short_durations:
            frames = int(cfg.short_durations[rng.integers(len(cfg.short_durations))])
    b = buckets[key]
    n = b["latents"].shape[0]
    idx = rng.integers(0, n, cfg.batch)
    if cfg.objective == "next_chunk":
        return _next_chunk_batch(cfg, b, text_table, idx, rng)
    start = rng.integers(0, cfg.frames - frames + 1)
    x0 = b["latents"][idx, :, start : start + frames].float()  # (B, c, T, h, w)
    text = text_table[b["text_index"][idx]]  # (B, 384)
    drop = rng.random(cfg.batch) < cfg.text_dropout
    text[torch.from_numpy(drop)] = 0
    n_obs = np.where(rng.random(cfg.batch) < cfg.no_obs_prob, 0, rng.integers(1, max(2, frames), cfg.batch))
    n_obs = np.minimum(n_obs, frames - 1)
    obs_mask = torch.from_numpy(np.arange(frames)[None] < n_obs[:, None]).float()  # (B, T)
    gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
    sigma = logit_normal_sigmas(cfg.batch, gen)
    noise = torch.randn(x0.shape, generator=gen)
    weight = None
    if cfg.dit_ball_weight != 1.0:
        px = b["frames"][idx, start : start + frames]  # (B, T, H, W, 3) uint8
        m = ball_mask(px.reshape(-1, *px.shape[2:]))[:, :, 0]  # (B*T, 1, H, W)
        m = F.max_pool2d(m, px.shape[2] // x0.shape[3])  # down to the latent grid
        m = rearrange(m, "(b t) 1 h w -> b 1 t h w", b=cfg.batch)
        m = torch.maximum(m, last_observed_anchor(m, obs_mask))  # where the ball is, and where the anchor has it
        weight = 1 + (cfg.dit_ball_weight - 1) * m
    return Batch(x0, text, obs_mask, sigma, noise, weight)


def kick_focus(table: np.ndarray, idx: np.ndarray, rng: np.random.Generator, prob: float):
    """A share `prob` of the batch's clips `idx` swapped for kicked clips (action table (N, MAX_KICKS, 6), NaN rows
    where none), each with one of its kicks' frames as its window's focus (next_chunk_window); -1 elsewhere."""
    frames = table[:, :, 0]
    kicked = np.flatnonzero(np.isfinite(frames).any(axis=1))
    focus = np.full(len(idx), -1)
    take = np.flatnonzero(rng.random(len(idx)) < prob) if len(kicked) else np.zeros(0, dtype=int)
    idx = idx.copy()
    idx[take] = kicked[rng.integers(0, len(kicked), len(take))]
    for i in take:
        f = frames[idx[i]][np.isfinite(frames[idx[i]])]
        focus[i] = int(f[rng.integers(len(f))])
    return idx, focus


def _next_chunk_batch(cfg: TrainConfig, b: dict, text_table: torch.Tensor, idx: np.ndarray, rng: np.random.Generator):
    """make_batch for objective="next_chunk": one window per clip (next_chunk_window), the same tuple as the joint
    batch plus the noised context latents and their noise levels."""
    focus = None
    if cfg.kick_window_prob:
        idx, focus = kick_focus(b["actions"], idx, rng, cfg.kick_window_prob)
    text = text_table[b["text_index"][idx]]  # (B, 384)
    text[torch.from_numpy(rng.random(cfg.batch) < cfg.text_dropout)] = 0
    gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
    lat = b["latents"][idx]  # (B, c, T, h, w)
    maps = None
    if cfg.action_channels:
        maps = action_maps(b["actions"][idx], lat.shape[2], lat.shape[3], lat.shape[4],
                           b["frames"].shape[2] // lat.shape[3])
    max_sigma = cfg.max_context_sigma if cfg.context_noise else 0.0
    sigma = logit_normal_sigmas(cfg.batch, gen)
    if cfg.own_context_prob and rng.random() < cfg.own_context_prob:
        # a window one chunk longer with a full context: the model samples its first chunk (own_context_batch)
        long = next_chunk_window(lat, rng, gen, cfg.context_frames, 2 * cfg.patch_size_t, max_sigma, 0.0, maps)
        x0 = long.x0[:, :, cfg.patch_size_t:]
        noise = torch.randn(x0.shape, generator=gen)
        mask = (torch.arange(x0.shape[2]) < cfg.context_frames).float().expand(cfg.batch, -1)
        return Batch(x0, text, mask, sigma, noise, own_context=long)
    win = next_chunk_window(lat, rng, gen, cfg.context_frames, cfg.patch_size_t, max_sigma, cfg.short_context_prob,
                            maps, focus, cfg.first_chunk_prob)
    noise = torch.randn(win.x0.shape, generator=gen)
    return Batch(win.x0, text, win.cond_mask, sigma, noise, None, win.cond_latents, win.cond_sigma, win.actions)


@torch.no_grad()
def own_context_batch(cfg: TrainConfig, batch: Batch, pipe, generator: torch.Generator) -> Batch:
    """Finishes a batch drawn with own_context: `pipe` (a WorldSimPipeline around the EMA weights) samples the
    chunk after the long window's context, as a rollout would (own_context_steps steps, no guidance), and the batch
    becomes the window one chunk later with that chunk as the end of its context (own_context_window)."""
    long, chunk = batch.own_context, cfg.patch_size_t
    n = long.x0.shape[2] - chunk  # the context and the chunk the model makes
    parts = (long.cond_latents[:, :, :n], long.cond_mask[:, :n], batch.text,
             torch.ones(len(batch.text), dtype=torch.bool),  # text dropout's zero rows stay the null text
             long.cond_sigma[:, :n], None if long.actions is None else long.actions[:, :, :n])
    cond = Conditioning(*(None if t is None else t.to(pipe.device) for t in parts))
    latents = torch.randn(long.x0[:, :, :n].shape, generator=generator).to(pipe.device)
    for st in pipe.denoise(cond, latents, cfg.own_context_steps, 1.0, generator):
        pass
    made = st.next_latents[:, :, n - chunk:].cpu()
    win = own_context_window(long, made, chunk, generator)
    return batch._replace(obs_mask=win.cond_mask, cond_latents=win.cond_latents, cond_sigma=win.cond_sigma,
                          actions=win.actions, own_context=None)


def dit_loss(model, x0, text, obs_mask, sigma, noise, weight=None, raw: SpacetimeDiT | None = None,
             cond_latents: torch.Tensor | None = None, cond_sigma: torch.Tensor | None = None,
             actions: torch.Tensor | None = None) -> torch.Tensor:
    """x0 error over the frames to predict; with precondition="edm", measured on the network's own output (EDM's
    weighting); `weight` (B, 1, T, h, w) or None weights latent pixels. `raw`: the model without its distributed
    wrapper (default: `model` itself). `cond_latents`: what the model sees of the observed frames (a next-chunk
    batch's noised context; default: the clean x0) and `cond_sigma` their noise levels; `actions` the window's
    action maps (action_channels models)."""
    cond = x0 if cond_latents is None else cond_latents
    m = obs_mask[:, None, :, None, None]
    x_t = add_noise(x0, noise, sigma) * (1 - m) + cond * m  # observed frames as the model is given them
    x0_hat = model(x_t, sigma, text_embeds=text, cond_latents=cond, cond_mask=obs_mask, cond_sigma=cond_sigma,
                   actions=actions)
    c_out = (raw or model).skip(x_t, sigma, cond, obs_mask)[2]
    return masked_x0_loss(x0_hat, x0, 1 - obs_mask, c_out if torch.is_tensor(c_out) else None, weight)


def measure_residual_std(cfg: TrainConfig, buckets: dict, text_table: torch.Tensor, batches: int = 32) -> float:
    """RMS of (x0 - last observed frame) over the frames to predict that have an observed frame before them, on
    training batches: the scale of what an anchored model must add (SpacetimeDiT's `residual_std`)."""
    num, den = 0.0, 0.0
    for i in range(batches):
        x0, _, obs_mask, *_ = _global_batch(cfg, buckets, text_table, step=i, stream=2**20)
        w = ((1 - obs_mask) * (torch.cummax(obs_mask, dim=1).values > 0.5))[:, None, :, None, None]
        num += float((w * (x0 - last_observed_anchor(x0, obs_mask)) ** 2).sum())
        den += float(w.sum()) * x0.shape[1] * x0.shape[3] * x0.shape[4]
    return round((num / max(den, 1.0)) ** 0.5, 3)


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Cosine cycles with linear warmup: the first from cfg.lr over [0, first restart), then one from cfg.restart_lr
    per entry of cfg.lr_restarts (those at or past dit_steps are ignored); each ends at a tenth of its peak."""
    bounds = [0, *(r for r in sorted(cfg.lr_restarts) if 0 < r < cfg.dit_steps), cfg.dit_steps]
    i = min(bisect.bisect_right(bounds, step) - 1, len(bounds) - 2)  # the cycle this step is in
    start, end = bounds[i], bounds[i + 1]
    peak, warmup = (cfg.lr, cfg.warmup) if i == 0 else (cfg.restart_lr, cfg.restart_warmup)
    warm = min(1.0, (step - start + 1) / max(1, warmup))
    frac = min(1.0, (step - start) / max(1, end - start))
    return peak * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


@torch.no_grad()
def ema_update(ema, model, decay: float) -> None:
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pm.detach(), 1 - decay)


def export_model(cfg: TrainConfig, ema, vae, enricher, out_dir: Path, card_extra: dict,
                 captioner_dir: Path | None = None) -> None:
    """The model folder: the pipeline's components, the enricher's index, the captioner that re-captioned the data
    (its measured eval.json kept while the weights are unchanged), the card and results beside them."""
    pipe = build_pipeline(ema, vae)
    pipe.enricher = enricher
    pipe.defaults = {"frames": cfg.frames, "height": cfg.height, "width": cfg.width}
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    pipe.save_pretrained(tmp)
    if out_dir.exists():  # keep the card and the measured results that live beside the components
        for f in out_dir.iterdir():
            if f.is_file() and f.name not in ("model_index.json", "training.json"):
                shutil.copy(f, tmp / f.name)
    (tmp / "training.json").write_text(json.dumps(card_extra, indent=1))
    if captioner_dir is not None:
        shutil.copytree(captioner_dir, tmp / "captioner")
        old, weights = out_dir / "captioner", "diffusion_pytorch_model.safetensors"
        if (old / "eval.json").is_file() and (old / weights).is_file() \
                and (old / weights).read_bytes() == (tmp / "captioner" / weights).read_bytes():
            shutil.copy(old / "eval.json", tmp / "captioner" / "eval.json")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)


@torch.no_grad()
def sample_grid(cfg, ema, vae, buckets, text_encoder, path: Path, device) -> None:
    """A PNG grid: rows = clips (truth, text-only, 4 observed frames), columns = frames."""
    from PIL import Image

    pipe = build_pipeline(ema, vae)
    pipe.text_encoder = text_encoder
    pipe.set_progress_bar_config(disable=True)
    b = buckets[(cfg.height, cfg.width)]
    rows = []
    for j in range(3):
        i = j * 7
        truth = b["frames"][i]
        g = torch.Generator().manual_seed(j)
        txt = pipe(b["rich"][i], num_frames=cfg.frames, height=cfg.height, width=cfg.width, generator=g,
                   enrich_prompt=False).frames[0]
        obs = pipe(b["rich"][i], observed_frames=truth[:4], num_frames=cfg.frames, height=cfg.height,
                   width=cfg.width, generator=g, enrich_prompt=False).frames[0]
        rows += [truth, txt, obs]
    grid = np.concatenate([np.concatenate(list(r), axis=1) for r in rows], axis=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(path)


def train(cfg: TrainConfig, run_dir: Path, model_dir: Path, cache_dir: Path, max_minutes: float | None = None,
          max_steps: int | None = None, mixed_precision: str | None = None,
          max_compute_minutes: float | None = None) -> dict:
    """mixed_precision: "no" or "bf16" (autocast; on CPUs with AVX512-BF16 or AMX a DiT step takes about 0.7x the
    time), "auto" (bf16 where fast_bf16(), else fp32); None takes accelerate's own setting (`accelerate launch
    --mixed_precision`, its config file).
    max_minutes counts from this call (data, autoencoder and captioner included); max_compute_minutes stops when
    the run's DiT compute (its training loop's time, summed over every session of the run) reaches it."""
    from accelerate import Accelerator

    if cfg.dit_size not in DIT_SIZES:
        raise ValueError(f"dit_size must be one of {', '.join(DIT_SIZES)}, got {cfg.dit_size!r}")
    if mixed_precision == "auto":
        mixed_precision = "bf16" if fast_bf16() else "no"
    accelerator = Accelerator(mixed_precision=mixed_precision)
    device = accelerator.device
    t_start = time.time()
    run_dir.mkdir(parents=True, exist_ok=True)
    if accelerator.is_main_process:
        (run_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    # the caches and the autoencoder are made by the main process; the others then read them
    with accelerator.main_process_first():
        buckets = build_clip_cache(cfg, cache_dir)
        vae = train_autoencoder(cfg, buckets, run_dir, device)
        vae.requires_grad_(False)
        vae_metrics = json.loads((run_dir / "vae" / "metrics.json").read_text())
        encode_buckets(vae, buckets, device, cache_dir=cache_dir)

    # Re-captioning and text embeddings for every clip: the short-caption share gets a rich caption from the
    # captioner (or its nearest neighbour's); both methods are scored on the main bucket.
    if cfg.recaption_method not in ("captioner", "nearest_neighbour"):
        raise ValueError(f"recaption_method must be 'captioner' or 'nearest_neighbour', got {cfg.recaption_method!r}")
    from .captioner import captioner_sha256

    with accelerator.main_process_first():
        captioner, captioner_dir = load_or_train_captioner(cfg, cache_dir, model_dir)
    text_encoder = shared_text_encoder()
    recap_acc, recap = None, {"method": cfg.recaption_method}
    all_caps: list[str] = []
    for key, b in buckets.items():
        short_only = np.random.default_rng((cfg.seed, 4, *key)).random(len(b["rich"])) < cfg.short_caption_fraction
        caps, acc = recaption(b["latents"], b["rich"], short_only)
        if cfg.recaption_method == "captioner" or key == (cfg.height, cfg.width):
            cap_caps, cap_acc = recaption_with_captioner(captioner, b["frames"], b["rich"], short_only, cfg.seed)
        if cfg.recaption_method == "captioner":
            caps = cap_caps
        if key == (cfg.height, cfg.width):
            recap_acc = acc
            recap |= {"clips": int(short_only.sum()), "captioner": cap_acc,
                      "captioner_sha256": captioner_sha256(captioner_dir),
                      "nearest_neighbour": nearest_neighbour_agreement(b["latents"], b["rich"], short_only)}
        b["text_index"] = np.arange(len(all_caps), len(all_caps) + len(caps))
        all_caps.extend(caps)
    with accelerator.main_process_first():
        text_table = cached_text_embeddings(all_caps, text_encoder, cache_dir)  # (N_all, 384)
    rich_main = buckets[(cfg.height, cfg.width)]["rich"]
    enricher = PromptEnricher.build(rich_main[: cfg.enrich_captions], text_encoder)

    residual_std = measure_residual_std(cfg, buckets, text_table) if cfg.precondition != "none" else 1.0
    if cfg.residual_std is not None:
        residual_std = cfg.residual_std
    elif cfg.init_weights is not None and cfg.precondition != "none":  # a warm start keeps its source's scaling
        src = resolve_repo_path(cfg.init_weights)
        residual_std = json.loads((src / "transformer" / "config.json").read_text())["residual_std"]
    torch.manual_seed(cfg.seed)
    model = SpacetimeDiT(latent_channels=cfg.latent_channels, patch_size_t=cfg.patch_size_t,
                         patch_size=cfg.patch_size, **DIT_SIZES[cfg.dit_size],
                         attention_pattern=cfg.attention_pattern, anchor=cfg.anchor,
                         precondition=cfg.precondition, residual_std=residual_std,
                         gelu_approximate=cfg.gelu_approximate, objective=cfg.objective,
                         context_frames=cfg.context_frames, context_noise=cfg.context_noise,
                         action_channels=cfg.action_channels)
    warm_compute = 0.0
    if cfg.init_weights is not None and cfg.init_from is None and not (run_dir / "checkpoint" / "state.json").exists():
        warm_start(model, cfg.init_weights)
        # the compute that made the starting weights counts: a warm start is not a model trained from nothing
        src_info = resolve_repo_path(cfg.init_weights) / "training.json"
        warm_compute = json.loads(src_info.read_text()).get("compute_s", 0.0) if src_info.is_file() else 0.0
    ema = SpacetimeDiT.from_config(model.config)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=0.0)
    ckpt = run_dir / "checkpoint"
    step, compute_s, precision_log = 0, warm_compute, []
    if cfg.init_from is not None and not (ckpt / "state.json").exists():
        src = resolve_repo_path(cfg.init_from)
        if not (src / "checkpoint" / "state.json").exists():
            raise FileNotFoundError(f"init_from: {src} has no checkpoint/ (train that run first)")
        shutil.copytree(src / "checkpoint", ckpt)
        print(f"starting from {src}'s checkpoint")
    if (ckpt / "state.json").exists():
        meta = load_checkpoint(ckpt, model, ema, opt)
        step, compute_s = meta["step"], meta.get("compute_s", 0.0)
        precision_log = meta.get("mixed_precision") or [[0, "no"]]  # checkpoints from before the option ran in fp32
        print(f"resumed from {ckpt} at step {step}")
    if not precision_log or precision_log[-1][1] != accelerator.mixed_precision:
        precision_log.append([step, accelerator.mixed_precision])  # [first step, precision] of each stretch
    model, opt = accelerator.prepare(model, opt)
    ema.to(device)
    raw = accelerator.unwrap_model(model)
    print(f"DiT: {count_parameters(raw) / 1e6:.2f}M parameters; autoencoder "
          f"{count_parameters(vae) / 1e6:.2f}M; re-captioning ({cfg.recaption_method}) agreement, all attributes at "
          f"once: captioner {recap['captioner']['all']:.3f}, nearest neighbour {recap['nearest_neighbour']['all']:.3f}")

    # SIGTERM / SIGINT end the loop at the next step boundary and checkpoint, so a run can be moved or resized.
    stop = {"flag": False}

    def _request_stop(signum, frame):
        stop["flag"] = True

    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _request_stop)

    log = open(run_dir / "log.jsonl", "a") if accelerator.is_main_process else None
    last_ckpt = time.time()
    end_step = cfg.dit_steps if max_steps is None else min(cfg.dit_steps, step + max_steps)
    bar = tqdm(total=end_step, initial=step, desc="DiT", disable=not accelerator.is_main_process)
    losses = []
    loop_t = time.time()

    def extra():
        return {"compute_s": compute_s + time.time() - loop_t, "recaption_accuracy": recap_acc, "recaption": recap,
                "vae_psnr_db": vae_metrics["psnr_db"],
                "dit_parameters": count_parameters(raw), "vae_parameters": count_parameters(vae),
                "mixed_precision": precision_log, "config": asdict(cfg)}

    own_pipe = build_pipeline(ema, vae) if cfg.own_context_prob else None  # samples own_context batches
    snap_dir = run_dir / "snapshots"
    next_snap = (math.floor(compute_s / cfg.snapshot_every_s) + 1) * cfg.snapshot_every_s if cfg.snapshot_every_s else None
    def should_stop() -> bool:
        """A signal or a time limit; with several processes the main process decides for all, so that none is left
        waiting for the others' gradients."""
        flag = stop["flag"] or (max_minutes is not None and time.time() - t_start > max_minutes * 60) or (
            max_compute_minutes is not None and extra()["compute_s"] >= max_compute_minutes * 60)
        if accelerator.num_processes == 1:
            return flag
        from accelerate.utils import broadcast

        return bool(broadcast(torch.tensor([float(flag)], device=device), from_process=0).item())

    while step < end_step:
        if should_stop():
            break
        batch = make_batch(cfg, buckets, text_table, step, accelerator.process_index, accelerator.num_processes)
        if batch.own_context is not None:
            with accelerator.autocast():
                batch = own_context_batch(cfg, batch, own_pipe, torch.Generator().manual_seed(cfg.seed * 7 + step))
        x0, text, obs_mask, sigma, noise, weight, cond, cond_sigma, acts = (t if t is None else t.to(device)
                                                                            for t in batch[:9])
        for g in opt.param_groups:
            g["lr"] = learning_rate(cfg, step)
        loss = dit_loss(model, x0, text, obs_mask, sigma, noise, weight, raw, cond, cond_sigma, acts)
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        ema_update(ema, raw, min(cfg.ema_decay, (1 + step) / (10 + step)))
        step += 1
        losses.append(loss.item())
        bar.update(1)
        if step % cfg.log_every == 0:
            rec = {"step": step, "loss": float(np.mean(losses)), "lr": learning_rate(cfg, step), "time": time.time()}
            losses = []
            if log is not None:  # the main process's batches' loss
                log.write(json.dumps(rec) + "\n"), log.flush()
            bar.set_postfix(loss=f"{rec['loss']:.4f}")
        if accelerator.is_main_process and next_snap is not None and extra()["compute_s"] >= next_snap:
            save_snapshot(snap_dir, ema, step, extra()["compute_s"], step * cfg.batch * accelerator.num_processes)
            next_snap += cfg.snapshot_every_s
        if accelerator.is_main_process and step % cfg.sample_every == 0:
            sample_grid(cfg, ema, vae, buckets, text_encoder, run_dir / "samples" / f"step_{step:06d}.png", device)
        if accelerator.is_main_process and time.time() - last_ckpt > cfg.ckpt_every_s:
            save_checkpoint(ckpt, raw, ema, opt, step, extra())
            export_model(cfg, ema, vae, enricher, model_dir, {"step": step, **extra()}, captioner_dir)
            last_ckpt = time.time()
    bar.close()
    info = {"step": step, **extra()}
    if accelerator.is_main_process:
        if cfg.snapshot_every_s and step > 0 and not (snap_dir / f"step_{step:07d}").exists():
            save_snapshot(snap_dir, ema, step, info["compute_s"], step * cfg.batch * accelerator.num_processes)
        save_checkpoint(ckpt, raw, ema, opt, step, extra())
        export_model(cfg, ema, vae, enricher, model_dir, info, captioner_dir)
    return info
