"""The autoencoder and the Spacetime DiT, with tiny random weights."""

import numpy as np
import pytest
import torch

from playground.models.autoencoder import VideoAutoencoder
from playground.models.dit import (
    AttentionCapture,
    SpacetimeDiT,
    SpacetimeDiT_tiny,
    last_observed_anchor,
    sincos_3d,
)
from playground.diffusion.flow import skip_coefficients
from tiny import perturb


def _perturbed(model):
    return perturb(model).eval()


@pytest.mark.parametrize("frames,height,width", [(16, 8, 8), (1, 8, 8), (7, 8, 12), (9, 12, 8), (24, 4, 4)])
def test_dit_output_shape_matches_input_for_any_duration_and_aspect(frames, height, width):
    torch.manual_seed(0)
    model = _perturbed(SpacetimeDiT_tiny())
    x = torch.randn(2, 4, frames, height, width)
    out = model(x, torch.rand(2), torch.randn(2, 384))
    assert out.shape == x.shape
    assert torch.isfinite(out).all()


def test_dit_untrained_predicts_zero_because_of_adaln_zero():
    model = SpacetimeDiT_tiny().eval()
    out = model(torch.randn(1, 4, 4, 8, 8), torch.rand(1))
    assert torch.count_nonzero(out) == 0


def test_last_observed_anchor_repeats_the_latest_observed_frame_and_is_zero_before_any():
    lat = torch.arange(2 * 1 * 5, dtype=torch.float32).reshape(2, 1, 5, 1, 1).expand(2, 1, 5, 2, 2).clone()
    mask = torch.tensor([[1, 1, 0, 0, 0], [0, 1, 0, 1, 0]], dtype=torch.float32)
    a = last_observed_anchor(lat, mask)[:, 0, :, 0, 0]
    # clip 0 observes frames 0, 1 (values 0, 1); clip 1 observes frames 1, 3 (values 6, 8)
    assert a.tolist() == [[0, 1, 1, 1, 1], [0, 6, 6, 8, 8]]


def test_anchored_untrained_dit_predicts_the_last_observed_frame():
    torch.manual_seed(0)
    model = SpacetimeDiT_tiny(anchor="last_observed").eval()
    cond = torch.randn(1, 4, 6, 8, 8)
    mask = torch.tensor([[1.0, 1, 1, 0, 0, 0]])
    out = model(torch.randn(1, 4, 6, 8, 8), torch.rand(1), cond_latents=cond, cond_mask=mask)
    torch.testing.assert_close(out, torch.cat([cond[:, :, :3], cond[:, :, 2:3].expand(-1, -1, 3, -1, -1)], dim=2))
    # no observed frames: nothing to anchor to, the model predicts zero like the plain one
    assert torch.count_nonzero(model(torch.randn(1, 4, 6, 8, 8), torch.rand(1))) == 0
    with pytest.raises(ValueError, match="anchor must be one of"):
        SpacetimeDiT_tiny(anchor="first")


@pytest.mark.parametrize("sigma,residual_std", [(0.05, 0.4), (0.5, 0.4), (0.9, 1.0), (0.3, 1.0)])
def test_skip_coefficients_are_the_best_linear_guess_and_its_error(sigma, residual_std):
    g = torch.Generator().manual_seed(0)
    d = torch.randn(400_000, generator=g) * residual_std  # what x0 adds to the base guess
    y = (1 - sigma) * d + sigma * torch.randn(400_000, generator=g)  # x_t - (1 - sigma) * base
    c_skip, c_out = skip_coefficients(torch.tensor(sigma), torch.tensor(residual_std))
    assert float(c_skip) == pytest.approx(float((d * y).mean() / (y * y).mean()), rel=0.02)
    assert float(c_out) == pytest.approx(float((d - c_skip * y).std()), rel=0.02)


def test_preconditioned_untrained_dit_passes_clean_input_through_and_starts_from_the_anchor_at_full_noise():
    torch.manual_seed(0)
    model = SpacetimeDiT_tiny(anchor="last_observed", precondition="edm", residual_std=0.4).eval()
    cond, x0 = torch.randn(1, 4, 6, 8, 8), torch.randn(1, 4, 6, 8, 8)
    mask = torch.tensor([[1.0, 1, 0, 0, 0, 0]])
    anchor = last_observed_anchor(cond, mask)
    for sigma in (1e-4, 1.0):
        x_t = (1 - sigma) * x0 + sigma * torch.randn_like(x0)
        out = model(x_t, torch.tensor([sigma]), cond_latents=cond, cond_mask=mask)
        torch.testing.assert_close(out, x_t if sigma < 0.5 else anchor, atol=1e-3, rtol=1e-3)
    with pytest.raises(ValueError, match="precondition must be one of"):
        SpacetimeDiT_tiny(precondition="v")


@pytest.mark.parametrize("pattern", ["alternating", "joint"])
def test_captured_attention_rows_sum_to_one_and_do_not_change_output(pattern):
    torch.manual_seed(0)
    model = _perturbed(SpacetimeDiT_tiny(attention_pattern=pattern))
    x, t, txt = torch.randn(2, 4, 6, 8, 8), torch.rand(2), torch.randn(2, 384)
    plain = model(x, t, txt)
    cap = AttentionCapture()
    traced = model(x, t, txt, capture=cap)
    torch.testing.assert_close(traced, plain, atol=1e-5, rtol=1e-4)
    assert set(cap.weights) == set(model.capture_names())
    for name, w in cap.weights.items():
        torch.testing.assert_close(w.float().sum(-1), torch.ones(w.shape[:-1]), atol=2e-3, rtol=0)
    grid = model.token_grid(6, 8, 8)
    if pattern == "alternating":
        assert cap.weights["blocks.0.attn"].shape == (grid[0], 2, 64, 64)  # spatial: per frame
        assert cap.weights["blocks.1.attn"].shape == (64, 2, grid[0], grid[0])  # temporal: per position
    else:
        n = grid[0] * 64
        assert cap.weights["blocks.0.attn"].shape == (2, n, n)


def test_capture_keeps_only_requested_layers_and_heads():
    torch.manual_seed(0)
    model = _perturbed(SpacetimeDiT_tiny())
    cap = AttentionCapture(layers={"blocks.1.attn"}, heads=[1], batch_index=1)
    model(torch.randn(2, 4, 4, 8, 8), torch.rand(2), capture=cap)
    assert list(cap.weights) == ["blocks.1.attn"]
    assert cap.weights["blocks.1.attn"].shape[1] == 1


def test_positional_code_of_a_short_clip_is_a_prefix_of_a_long_one():
    d = 48
    short, long = sincos_3d(d, (3, 4, 4)), sincos_3d(d, (8, 4, 4))
    torch.testing.assert_close(long[: short.shape[0]], short)
    assert torch.unique(long, dim=0).shape[0] == long.shape[0]  # every token has its own code


def test_dit_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = _perturbed(SpacetimeDiT_tiny(patch_size_t=1))
    model.save_pretrained(tmp_path / "dit")
    again = SpacetimeDiT.from_pretrained(tmp_path / "dit").eval()
    assert again.config.patch_size_t == 1
    x = torch.randn(1, 4, 3, 8, 8)
    torch.testing.assert_close(again(x, torch.rand(1) * 0 + 0.5), model(x, torch.rand(1) * 0 + 0.5))
    assert (tmp_path / "dit" / "diffusion_pytorch_model.safetensors").exists()


def test_dit_rejects_latents_not_divisible_by_patch():
    model = SpacetimeDiT_tiny(patch_size=2)
    with pytest.raises(ValueError, match="multiples of the patch size"):
        model(torch.randn(1, 4, 2, 6, 5), torch.rand(1))


def test_autoencoder_compresses_4x_and_round_trips_shapes(tmp_path):
    torch.manual_seed(0)
    vae = VideoAutoencoder(channels=(8, 16, 16)).eval()
    x = torch.rand(2, 3, 5, 32, 48) * 2 - 1
    z = vae.encode(x)
    assert z.shape == (2, 4, 5, 8, 12)
    assert vae.decode(z).shape == x.shape
    vae.save_pretrained(tmp_path / "vae")
    again = VideoAutoencoder.from_pretrained(tmp_path / "vae")
    torch.testing.assert_close(again.encode(x), z)
    with pytest.raises(ValueError, match="multiples of 4"):
        vae.encode(torch.zeros(1, 3, 1, 30, 32))


def test_text_encoder_gives_unit_vectors_and_similar_texts_are_closer(text_encoder):
    e = text_encoder.encode(["a red ball rolls left", "a red ball moves to the left", "the camera orbits a scene", ""])
    assert e.shape == (4, 384)
    np.testing.assert_allclose(e[:3].norm(dim=1).numpy(), 1.0, atol=1e-5)
    assert float(e[0] @ e[1]) > float(e[0] @ e[2])
    assert torch.count_nonzero(e[3]) == 0
    torch.testing.assert_close(text_encoder.encode("a red ball rolls left")[0], e[0])  # cached, identical


def test_dit_config_names_what_it_predicts():
    with pytest.raises(ValueError, match="prediction_type must be 'sample'"):
        SpacetimeDiT_tiny(prediction_type="epsilon")  # the network always predicts x0; another name is an error
    with pytest.raises(ValueError, match="objective must be one of"):
        SpacetimeDiT_tiny(objective="next_frame")
