"""Next-chunk world model machinery (tiny random weights): the pipeline rolls a next_chunk DiT out chunk by chunk,
conditioned on pixel actions and told the context's noise level."""

import numpy as np
import pytest
import torch

from playground.conditioning import ACTION_CHANNELS, action_map
from playground.models.autoencoder import VideoAutoencoder
from playground.models.dit import SpacetimeDiT_tiny
from playground.pipeline import build_pipeline
from playground.world import PixelAction, kick_to_pixel, sample_clip
from tiny import perturb


@pytest.fixture()
def chunk_pipe(text_encoder):
    torch.manual_seed(0)
    dit = perturb(SpacetimeDiT_tiny(objective="next_chunk", context_frames=4, context_noise=True,
                                     action_channels=ACTION_CHANNELS))
    pipe = build_pipeline(dit, VideoAutoencoder(channels=(8, 16, 16)))
    pipe.text_encoder = text_encoder
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def clip():
    return sample_clip("interaction", "train", 3)


def _run(pipe, clip, seed=0, n=40, **kw):
    return pipe("", observed_frames=clip.frames[:4], num_frames=n, num_inference_steps=2, guidance_scale=1.0,
                generator=torch.Generator().manual_seed(seed), enrich_prompt=False, **kw).frames[0]


def test_rolls_out_40_frames_from_4_observed_deterministically(chunk_pipe, clip):
    a, b, c = _run(chunk_pipe, clip), _run(chunk_pipe, clip), _run(chunk_pipe, clip, seed=1)
    assert a.shape == (40, 32, 32, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a[:4], clip.frames[:4])  # observed frames come back unchanged
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[4:], c[4:])


def test_chunk_callback_fires_once_per_chunk_in_order(chunk_pipe, clip):
    seen = []
    out = _run(chunk_pipe, clip, n=11, callback_on_chunk_end=lambda d: seen.append((d["chunk"], d["start"],
                                                                                     d["frames"].shape[1])))
    assert seen == [(0, 4, 2), (1, 6, 2), (2, 8, 2), (3, 10, 1)]  # the last chunk is cropped to the video
    assert out.shape[0] == 11


def test_streamed_chunks_are_the_video(chunk_pipe, clip):
    parts = []
    out = _run(chunk_pipe, clip, n=12, callback_on_chunk_end=lambda d: parts.append(d["frames"][0]))
    np.testing.assert_array_equal(np.concatenate(parts), out[4:])


def test_actions_change_the_rollout(chunk_pipe, clip):
    acts = [kick_to_pixel(clip.scene, k, 32, 32, clip.gt.positions) for k in clip.scene.kicks]
    assert acts
    plain, kicked = _run(chunk_pipe, clip, n=16), _run(chunk_pipe, clip, n=16, actions=acts)
    first = min(a.frame for a in acts)
    untouched = 4 + 2 * ((first - 4) // 2)  # chunks whose window ends before the kick's frame
    np.testing.assert_array_equal(plain[:untouched], kicked[:untouched])
    assert not np.array_equal(plain[untouched:], kicked[untouched:])


def test_context_noise_level_changes_the_rollout(chunk_pipe, clip):
    assert not np.array_equal(_run(chunk_pipe, clip, n=8), _run(chunk_pipe, clip, n=8, context_sigma=0.2))


def test_a_guidance_interval_guides_only_the_noisy_steps(chunk_pipe, clip):
    """guidance_min_sigma: text guidance on the steps above it (a batch of two), the conditional model alone on the
    others (a batch of one); above every step's sigma it is no guidance at all."""
    batches = []
    orig = chunk_pipe.transformer.forward

    def spy(x, *a, **kw):
        batches.append(x.shape[0])
        return orig(x, *a, **kw)

    chunk_pipe.transformer.forward = spy
    kw = dict(prompt="a red ball rolls to the left", n=8, guidance_scale=3.0)

    def run(**extra):
        batches.clear()
        out = chunk_pipe(kw["prompt"], observed_frames=clip.frames[:4], num_frames=kw["n"], num_inference_steps=4,
                         guidance_scale=kw["guidance_scale"], generator=torch.Generator().manual_seed(0),
                         enrich_prompt=False, **extra).frames[0]
        return out, list(batches)

    full, b_full = run()
    interval, b_int = run(guidance_min_sigma=0.9)
    none, b_none = run(guidance_min_sigma=1.0)
    unguided = chunk_pipe(kw["prompt"], observed_frames=clip.frames[:4], num_frames=8, num_inference_steps=4,
                          guidance_scale=1.0, generator=torch.Generator().manual_seed(0), enrich_prompt=False).frames[0]
    assert b_full == [2] * 8 and b_int == [2, 1, 1, 1] * 2 and b_none == [1] * 8  # 2 chunks of 4 steps
    np.testing.assert_array_equal(none, unguided)
    assert not np.array_equal(interval, full) and not np.array_equal(interval, unguided)
    with pytest.raises(ValueError, match="guidance_min_sigma"):
        run(guidance_min_sigma=1.5)


def test_text_only_first_chunk_then_rollout(chunk_pipe):
    out = chunk_pipe("a red ball rolls to the left", num_frames=9, num_inference_steps=2,
                     generator=torch.Generator().manual_seed(0), enrich_prompt=False).frames[0]
    assert out.shape == (9, 32, 32, 3)


def test_a_model_without_actions_refuses_them(tiny_pipe, clip):
    assert not tiny_pipe.accepts_actions
    with pytest.raises(ValueError, match="takes no actions"):
        tiny_pipe("", num_frames=8, num_inference_steps=1, actions=[PixelAction(2, 10, 10, 1, 0, 1)])


def test_action_map_puts_the_kick_at_its_frame_and_place():
    m = action_map([PixelAction(3, 10.0, 20.0, 1.0, 0.0, 2.0)], 6, 16, 16, 2)
    assert m.shape == (ACTION_CHANNELS, 6, 16, 16)
    assert m[:, [0, 1, 2, 4, 5]].abs().sum() == 0
    y, x = np.unravel_index(int(m[0, 3].argmax()), (16, 16))
    assert (x, y) in ((4, 9), (5, 9), (4, 10), (5, 10))  # pixel (10, 20) / 2 = latent (5, 10)
    assert m[1, 3].max() == pytest.approx(m[0, 3].max()) and m[2, 3].abs().max() == 0


# ---------------------------------------------------------------------------- the next-chunk objective
def test_training_windows_noise_only_the_context_and_say_how_much():
    from playground.diffusion.chunks import next_chunk_window

    lat = torch.randn(8, 4, 16, 8, 8)
    acts = torch.randn(8, 3, 16, 8, 8)
    win = next_chunk_window(lat, np.random.default_rng(0), torch.Generator().manual_seed(0), 4, 2,
                            max_context_sigma=0.3, short_context_prob=0.0, actions=acts)
    assert win.x0.shape == (8, 4, 6, 8, 8) and win.cond_mask[:, :4].all() and not win.cond_mask[:, 4:].any()
    for i, s in enumerate(win.start):
        torch.testing.assert_close(win.x0[i], lat[i, :, s:s + 6])
        torch.testing.assert_close(win.actions[i], acts[i, :, s:s + 6])
    assert (win.cond_sigma[:, :4] > 0).all() and (win.cond_sigma[:, :4] <= 0.3).all()
    assert (win.cond_sigma[:, 4:] == 0).all() and (win.cond_latents[:, :, 4:] == 0).all()
    ctx_err = (win.cond_latents[:, :, :4] - win.x0[:, :, :4]).abs().mean()
    assert 0 < ctx_err < 1.0  # noised, not replaced



def test_first_chunk_windows_are_the_clips_opening_frames_with_no_context():
    from playground.diffusion.chunks import next_chunk_window

    lat = torch.randn(6, 4, 16, 8, 8)
    focus = np.array([5, -1, 9, -1, 3, 12])  # a kick focus does not move a text-only window off the clip's start
    win = next_chunk_window(lat, np.random.default_rng(0), torch.Generator().manual_seed(0), 4, 1,
                            focus=focus, first_chunk_prob=1.0)
    assert win.x0.shape == (6, 4, 1, 8, 8) and not win.cond_mask.any() and (win.start == 0).all()
    torch.testing.assert_close(win.x0, lat[:, :, :1])
    assert (win.cond_latents == 0).all() and (win.cond_sigma == 0).all()
    # at 0 the draw is skipped: the windows of older configs are cut exactly as before
    a = next_chunk_window(lat, np.random.default_rng(3), torch.Generator().manual_seed(0), 4, 1)
    b = next_chunk_window(lat, np.random.default_rng(3), torch.Generator().manual_seed(0), 4, 1, first_chunk_prob=0.0)
    assert (a.start == b.start).all() and torch.equal(a.cond_latents, b.cond_latents)
    # about the asked share of batches
    rng = np.random.default_rng(1)
    n = sum(not next_chunk_window(lat, rng, torch.Generator().manual_seed(0), 4, 1, short_context_prob=0.0,
                                  first_chunk_prob=0.3).cond_mask.any() for _ in range(400))
    assert 90 <= n <= 150

def test_own_context_windows_move_one_chunk_on_and_keep_the_true_target():
    from playground.diffusion.chunks import next_chunk_window, own_context_window

    lat = torch.randn(3, 4, 16, 8, 8)
    long = next_chunk_window(lat, np.random.default_rng(0), torch.Generator().manual_seed(0), 4, 4,
                             max_context_sigma=0.3, short_context_prob=0.0, actions=torch.randn(3, 3, 16, 8, 8))
    made = torch.full((3, 4, 2, 8, 8), 5.0)
    win = own_context_window(long, made, 2, torch.Generator().manual_seed(1))
    assert win.x0.shape == (3, 4, 6, 8, 8) and (win.start == long.start + 2).all()
    torch.testing.assert_close(win.x0, long.x0[:, :, 2:])
    torch.testing.assert_close(win.cond_latents[:, :, :2], long.cond_latents[:, :, 2:4])
    s = win.cond_sigma[:, 2]
    assert (s == long.cond_sigma[:, 0]).all() and (win.cond_sigma[:, 4:] == 0).all()
    # the model's chunk, noised at the window's level: its mean is (1 - s) * 5
    torch.testing.assert_close(win.cond_latents[:, :, 2:4].mean(dim=(1, 2, 3, 4)), (1 - s) * 5, atol=0.1, rtol=0)
    with pytest.raises(ValueError, match="no room"):
        own_context_window(long, made[:, :, :1], 2, torch.Generator())


def test_sampling_draws_no_context_noise_unless_asked(chunk_pipe, clip):
    """context_sigma=0 at sampling: the context is the frames themselves (the model is told 0)."""
    seen = []
    orig = chunk_pipe.transformer.forward

    def spy(*a, **kw):
        seen.append(kw["cond_sigma"].abs().max().item())
        return orig(*a, **kw)

    chunk_pipe.transformer.forward = spy
    _run(chunk_pipe, clip, n=8)
    assert seen and max(seen) == 0.0


# ---------------------------------------------------------------------------- the trace of a rollout
def test_a_rollout_is_traced_step_by_step_and_its_attention_replays(chunk_pipe, clip):
    """A traced rollout: one record per step of every chunk, numbered through the call, each the whole video as
    it stood (made chunks, the chunk being denoised, zeros not made yet), the window the model saw, and for
    captured steps the model's exact inputs - replaying them through the block gives the captured map."""
    from playground.pipeline import TraceConfig
    from playground.viz.arithmetic import query_arithmetic
    from playground.viz.attention import per_head_maps

    cfg = TraceConfig(latents=True, attention_steps=[0, 5])
    out = chunk_pipe("", observed_frames=clip.frames[:4], num_frames=10, num_inference_steps=2, guidance_scale=1.0,
                     generator=torch.Generator().manual_seed(0), enrich_prompt=False, trace=cfg)
    tr = out.trace
    assert len(tr.latents) == len(tr.x0) == 6 and len(tr.sigmas) == 7  # 3 chunks x 2 steps, and the final 0
    assert tr.windows == [(0, 6), (0, 6), (2, 6), (2, 6), (4, 6), (4, 6)]
    assert (tr.latents[0][:, 6:] == 0).all() and (tr.latents[3][:, 8:] == 0).all()
    torch.testing.assert_close(tr.latents[0][:, :4].float(), out.latents[0, :, :4], atol=1e-2, rtol=0)
    assert sorted(tr.attention) == sorted(tr.inputs) == [0, 5]
    rec = tr.inputs[5]
    assert rec["latents"].shape[2] == 6 and rec["cond"].mask[0].tolist() == [1, 1, 1, 1, 0, 0]
    name = "blocks.1.attn"
    meta = tr.attention_meta[name]
    tok = (2, 1, 1)
    maps = per_head_maps(tr.attention[5][name], meta["kind"], tuple(meta["grid"]), tok)
    qa = query_arithmetic(chunk_pipe.transformer, 1, 0, tok, latents=rec["latents"], sigma=rec["sigma"],
                          **rec["cond"].model_kwargs())
    seen = np.array([maps[0][k] for k in qa.keys])
    np.testing.assert_allclose(seen, qa.weights, atol=2e-3)


def test_the_attention_view_and_streaming_work_on_a_rollout(chunk_pipe, clip, tmp_path):
    """The app's Attention tab on a next-chunk model: its steps run through every chunk, a click inside the
    step's window shows the map (frames outside it greyed), a click outside says which frames that step
    denoised; live previews are whole-video frames."""
    from playground.ui.attention import attention_view
    from playground.ui.session import AppContext, GenSettings, sample, stream, total_steps

    ctx = AppContext(chunk_pipe, str(tmp_path), tmp_path)
    s = GenSettings(prompt="", num_frames=10, steps=2, guidance=1.0, observed=clip.frames[:4], enrich=False)
    assert total_steps(chunk_pipe, s) == 6
    r = sample(ctx, s)
    assert sorted(r.trace.attention) == [0, 3, 5] and len(r.trace.latents) == 6
    main, heads, roll, md, info = attention_view(ctx, r, "blocks.0.attn", "mean", 5, 8, 10.0, 10.0)
    assert info["window_frames"] == [4, 9] and main.ndim == 3 and "softmax" in md
    with pytest.raises(ValueError, match="denoised frames 4..9"):
        attention_view(ctx, r, "blocks.0.attn", "mean", 5, 1, 10.0, 10.0)
    previews = [item for item in stream(ctx, s) if item[0] == "preview"]
    assert previews and all(p[2] == 6 for p in previews)


def test_a_stream_whose_consumer_goes_away_stops_sampling_at_the_next_step(tiny_pipe, tmp_path):
    """A cancelled or disconnected request closes the stream: the worker stops at its next step instead of
    running to the end."""
    import threading
    import time

    from playground.ui.session import AppContext, GenSettings, stream

    ctx = AppContext(tiny_pipe, str(tmp_path), tmp_path)
    steps = []
    s = GenSettings(prompt="", num_frames=8, steps=200, guidance=1.0, enrich=False)
    orig = tiny_pipe.transformer.forward

    def counting(*a, **kw):
        steps.append(1)
        time.sleep(0.01)  # at least 2 s for all 200 steps
        return orig(*a, **kw)

    tiny_pipe.transformer.forward = counting
    gen = stream(ctx, s)
    assert next(gen)[0] == "preview"
    gen.close()
    deadline = time.time() + 5
    while any(t.name == "worldsim-sample" for t in threading.enumerate()) and time.time() < deadline:
        time.sleep(0.02)
    assert not any(t.name == "worldsim-sample" for t in threading.enumerate())
    assert len(steps) < 100


def test_a_call_without_steps_takes_the_models_own(chunk_pipe, tiny_pipe, clip):
    """4 per chunk for a next-chunk model, 20 for a joint one, or what the model folder's defaults say."""
    assert chunk_pipe.default_steps == 4 and tiny_pipe.default_steps == 20
    seen = []
    chunk_pipe("", observed_frames=clip.frames[:4], num_frames=8, guidance_scale=1.0, enrich_prompt=False,
               generator=torch.Generator().manual_seed(0),
               callback_on_step_end=lambda pipe, step, t, kw: seen.append(step) or kw)
    assert seen == list(range(8))  # 2 chunks of 4 steps
    chunk_pipe.defaults["steps"] = 3
    try:
        assert chunk_pipe.default_steps == 3
    finally:
        del chunk_pipe.defaults["steps"]
