"""Shared test helpers (imported by the tests; the fixtures built on them are in conftest.py): tiny random-weight
models and a served app."""

import json
import socket

import torch


def perturb(model):
    """Random adaLN-Zero models are the identity; perturb the zero-initialised layers so outputs depend on inputs."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "adaLN" in name or "final_layer" in name:
                p.normal_(0, 0.05)
    return model


TINY_CAPTIONS = [  # the first is nearest to "a red ball rolls to the left" but adds a wall the prompt never asked for
    "A red ball rolls to the left. The red ball passes behind the grey wall.",
    "One ball on a checkered floor: red. The red ball rolls to the left. The camera is still.",
    "Two blue balls fall.",
]
TINY_TRAINED = {"frames": 16, "height": 32, "width": 32, "aspect_sizes": [[32, 48]], "short_durations": [8]}


def build_tiny_model_dir(folder, text_encoder, next_chunk: bool = False) -> str:
    """A random-weight model folder (with a prompt enricher and a training record: 16 frames at 32x32 and 32x48,
    8 frames at 32x32) small enough to sample in a fraction of a second; `next_chunk`: a next-chunk world model
    with context noise and actions (what the Play tab is for)."""
    from playground.conditioning import ACTION_CHANNELS
    from playground.enrich import PromptEnricher
    from playground.models.autoencoder import VideoAutoencoder
    from playground.models.dit import SpacetimeDiT_tiny
    from playground.pipeline import build_pipeline

    torch.manual_seed(0)
    kw = dict(objective="next_chunk", context_frames=4, context_noise=True,
              action_channels=ACTION_CHANNELS) if next_chunk else {}
    pipe = build_pipeline(perturb(SpacetimeDiT_tiny(**kw)), VideoAutoencoder(channels=(8, 16, 16)))
    pipe.enricher = PromptEnricher.build(TINY_CAPTIONS, text_encoder)
    pipe.save_pretrained(folder)
    (folder / "training.json").write_text(json.dumps({"config": TINY_TRAINED}))
    return str(folder)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(model_dir: str, precision: str = "fp32"):
    """Launch the app in this process; returns (demo, url, ctx)."""
    from playground.ui.app import build_demo, launch_kwargs
    from playground.ui.session import AppContext

    ctx = AppContext.load(model_dir, concurrency_limit=2, precision=precision)
    demo = build_demo(ctx)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                allowed_paths=[str(ctx.out_dir)], max_file_size="20mb", show_error=True, **launch_kwargs())
    return demo, f"http://127.0.0.1:{port}/", ctx
