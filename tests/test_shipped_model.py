"""End-to-end checks on the shipped checkpoint (models/worldsim-s): it loads offline and makes video."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from playground.pipeline import WorldSimPipeline
from playground.probes import parse_video
from playground.world import sample_clip

MODEL = Path(__file__).resolve().parent.parent / "models" / "worldsim-s"


@pytest.fixture(scope="module")
def shipped(text_encoder):
    pipe = WorldSimPipeline.from_pretrained(MODEL, text_encoder=text_encoder)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_shipped_model_folder_is_complete():
    for rel in ("model_index.json", "README.md", "training.json", "transformer/config.json",
                "transformer/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
                "scheduler/scheduler_config.json", "enrich/captions.json"):
        assert (MODEL / rel).is_file(), rel


def test_shipped_model_samples_with_the_measured_scheduler(shipped):
    # The card's scores were measured with stochastic sampling (python -m playground.evaluate --sampler shipped).
    assert shipped.scheduler.config.stochastic_sampling
    assert json.loads((MODEL / "eval.json").read_text())["sampler"] == "stochastic"


def test_shipped_card_is_rendered_from_the_measurements_beside_it():
    from playground.model_card import render_card

    run = json.loads((MODEL / "training.json").read_text())["config"]["name"]  # the run that trained it
    card = render_card(MODEL, json.loads((MODEL / "eval.json").read_text()),
                       json.loads((MODEL / "probes.json").read_text()),
                       (MODEL.parent.parent / "runs" / run / "notes.md").read_text())
    # the card was written by `python -m playground.model_card models/worldsim-s ...`, which names the folder so
    assert card.replace(str(MODEL), "models/worldsim-s") == (MODEL / "README.md").read_text()


def test_shipped_model_continues_a_clip_with_the_balls_it_was_shown(shipped):
    clip = sample_clip("inertia", "train", seed=123)
    out = shipped(clip.caption, observed_frames=clip.frames[:4], num_inference_steps=10,
                  generator=torch.Generator().manual_seed(0), enrich_prompt=False)
    frames = out.frames[0]
    assert frames.shape == (16, 32, 32, 3)
    assert np.array_equal(frames[:4], clip.frames[:4])
    # The first predicted frame still shows the observed balls' colours (a weak, honest bar for a CPU model).
    want = {b.color for b in clip.scene.balls}
    got = {d.color for d in parse_video(frames[4:5])[0]}
    assert want & got


def test_shipped_model_serves_other_aspects_and_durations(shipped):
    for frames, h, w in [(8, 32, 48), (1, 48, 32)]:
        out = shipped("two balls on a checkered floor", num_frames=frames, height=h, width=w, num_inference_steps=4,
                      generator=torch.Generator().manual_seed(1))
        assert out.frames.shape == (1, frames, h, w, 3)
        assert out.prompts[0].source in ("nearest training caption", "as given")
