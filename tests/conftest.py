import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# One thread: tests stay deterministic and cheap, and never fight a training job for the two cores.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def text_encoder():
    from playground.pipeline import shared_text_encoder

    return shared_text_encoder()


@pytest.fixture()
def tiny_pipe(text_encoder):
    """A random-weight pipeline small enough to sample in a fraction of a second."""
    from playground.models.autoencoder import VideoAutoencoder
    from playground.models.dit import SpacetimeDiT_tiny
    from playground.pipeline import build_pipeline

    from tiny import perturb

    torch.manual_seed(0)
    pipe = build_pipeline(perturb(SpacetimeDiT_tiny()), VideoAutoencoder(channels=(8, 16, 16)))
    pipe.text_encoder = text_encoder
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, text_encoder):
    """The real app serving a tiny random-weight model in this process (shared by the API and fuzz tests)."""
    from tiny import build_tiny_model_dir, serve

    demo, url, _ = serve(build_tiny_model_dir(tmp_path_factory.mktemp("tiny-model"), text_encoder))
    yield url
    demo.close()
