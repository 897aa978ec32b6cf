"""Training: a tiny config learns, resumes exactly, and writes a loadable model folder."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from playground.pipeline import WorldSimPipeline
from playground.models.dit import SpacetimeDiT
from playground.train import CONFIGS, learning_rate, train


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def _losses(run_dir):
    return [json.loads(line)["loss"] for line in (run_dir / "log.jsonl").read_text().splitlines()]


def test_tiny_config_loss_falls_and_model_folder_loads(tmp_path, cache_dir, text_encoder):
    cfg = CONFIGS["tiny"]
    info = train(cfg, tmp_path / "run", tmp_path / "model", cache_dir)
    assert info["step"] == cfg.dit_steps
    losses = _losses(tmp_path / "run")
    assert np.mean(losses[-2:]) < 0.7 * np.mean(losses[:2])
    pipe = WorldSimPipeline.from_pretrained(tmp_path / "model", text_encoder=text_encoder)
    pipe.set_progress_bar_config(disable=True)
    out = pipe("a red ball", num_frames=cfg.frames, num_inference_steps=2, generator=torch.Generator().manual_seed(0))
    assert out.frames.shape == (1, cfg.frames, cfg.height, cfg.width, 3)
    assert pipe.enricher is not None and pipe.enricher.captions  # the enricher's caption index was shipped
    # and used: a caption that agrees with the prompt, or (with 20 captions) none that does - never "as given"
    assert out.prompts[0].source in ("nearest training caption", "no agreeing caption")


def test_resume_continues_from_the_same_step_with_the_same_weights(tmp_path, cache_dir):
    # the shipped recipe's objective (anchor + EDM preconditioning, measured residual scale) resumes exactly too
    # with a warm restart of the learning rate after the resume point
    cfg = replace(CONFIGS["tiny"], dit_steps=12, log_every=1, anchor="last_observed", precondition="edm",
                  lr_restarts=(9,), restart_warmup=2)
    straight = train(cfg, tmp_path / "a", tmp_path / "ma", cache_dir)
    first = train(cfg, tmp_path / "b", tmp_path / "mb", cache_dir, max_steps=7)
    assert first["step"] == 7
    resumed = train(cfg, tmp_path / "b", tmp_path / "mb", cache_dir)
    assert resumed["step"] == straight["step"] == 12
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "ma" / "transformer" / "diffusion_pytorch_model.safetensors"))
    b = load_file(str(tmp_path / "mb" / "transformer" / "diffusion_pytorch_model.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-6, rtol=1e-5)
    assert _losses(tmp_path / "b") == pytest.approx(_losses(tmp_path / "a"), rel=1e-5)


def test_autoencoder_loss_weights_exactly_the_parsed_ball_pixels():
    from playground.probes.parser import classify_pixels
    from playground.train import ae_loss, ball_mask
    from playground.world import sample_clip

    clip = sample_clip("collision", "train", seed=5)
    frames = clip.frames[:3]  # (3, H, W, 3) uint8
    mask = ball_mask(frames)  # (3, 1, 1, H, W)
    balls = torch.from_numpy(classify_pixels(frames) >= 0)
    assert balls.any()
    assert bool((mask[:, 0, 0][balls] == 1).all())  # every parsed ball pixel is weighted
    assert 0 < mask.mean() < 0.2  # balls and their rims, not the floor
    # the same error costs ball_weight times more on a ball pixel than on the floor
    x = torch.zeros(1, 3, 1, 4, 4)
    m = torch.zeros(1, 1, 1, 4, 4)
    m[..., 0, 0] = 1
    on_ball, on_floor = x.clone(), x.clone()
    on_ball[..., 0, 0] += 0.5
    on_floor[..., 3, 3] += 0.5
    assert ae_loss(on_ball, x, m, 10.0).item() == pytest.approx(10 * ae_loss(on_floor, x, m, 10.0).item())


def test_dit_ball_weight_covers_the_balls_of_each_frame_and_of_its_anchor():
    import torch.nn.functional as F

    from playground.train import ball_mask, make_batch
    from playground.world import sample_clip

    frames = sample_clip("inertia", "train", seed=3, n_frames=8).frames[None]  # (1, 8, 32, 32, 3)
    buckets = {(32, 32): {"frames": frames, "latents": torch.zeros(1, 4, 8, 16, 16), "text_index": np.array([0])}}
    cfg = replace(CONFIGS["tiny"], frames=8, batch=3, aspect_prob=0.0, short_prob=0.0, no_obs_prob=0.0,
                  dit_ball_weight=5.0)
    _, _, obs_mask, _, _, weight, *_ = make_batch(cfg, buckets, torch.zeros(1, 384), step=0)
    balls = F.max_pool2d(ball_mask(frames[0])[:, :, 0], 2)[:, 0] > 0  # (T, 16, 16) on the latent grid
    assert set(weight.unique().tolist()) == {1.0, 5.0}
    for b in range(cfg.batch):
        last = int(obs_mask[b].sum()) - 1  # observed frames are 0..last
        for t in range(cfg.frames):
            want = balls[t] | balls[min(t, last)]
            assert torch.equal(weight[b, 0, t] == 5.0, want)
    assert make_batch(replace(cfg, dit_ball_weight=1.0), buckets, torch.zeros(1, 384), step=0)[5] is None


def test_learning_rate_cosine_cycles_with_warm_restarts():
    cfg = replace(CONFIGS["default"], lr=4e-4, warmup=300, dit_steps=17000, lr_restarts=(8000,), restart_lr=2e-4,
                  restart_warmup=100)
    lr = [learning_rate(cfg, s) for s in range(cfg.dit_steps + 1)]
    assert lr[0] == pytest.approx(4e-4 / 300)
    assert max(lr) == pytest.approx(4e-4, rel=5e-3) and np.argmax(lr) == 299
    assert np.all(np.diff(lr[299:8000]) <= 0) and lr[7999] == pytest.approx(4e-5, rel=1e-3)  # first cycle to 0.1 lr
    assert lr[8000] == pytest.approx(2e-4 / 100)  # the restart warms up again
    assert max(lr[8000:]) == pytest.approx(2e-4, rel=5e-3) and np.argmax(lr[8000:]) == 99
    assert np.all(np.diff(lr[8099:]) <= 0) and lr[-1] == pytest.approx(2e-5)
    # restarts at or past the end are ignored: one cycle over the whole run
    short = replace(cfg, dit_steps=6000)
    plain = replace(short, lr_restarts=())
    steps = range(0, 6001, 500)
    assert [learning_rate(short, s) for s in steps] == [learning_rate(plain, s) for s in steps]


def test_resume_records_which_steps_ran_in_which_precision(tmp_path, cache_dir):
    cfg = replace(CONFIGS["tiny"], dit_steps=6)
    from accelerate.state import AcceleratorState

    train(cfg, tmp_path / "run", tmp_path / "model", cache_dir, max_steps=3, mixed_precision="no")
    AcceleratorState._reset_state(True)  # accelerate's precision is per process; a resumed run is a new process
    try:
        info = train(cfg, tmp_path / "run", tmp_path / "model", cache_dir, mixed_precision="bf16")
    finally:
        AcceleratorState._reset_state(True)  # later tests start in fp32 whatever happened here
    assert info["step"] == 6
    assert info["mixed_precision"] == [[0, "no"], [3, "bf16"]]
    written = json.loads((tmp_path / "model" / "training.json").read_text())
    assert written["mixed_precision"] == [[0, "no"], [3, "bf16"]]


def test_tiny_next_chunk_config_trains_and_rolls_out(tmp_path, cache_dir, text_encoder):
    """objective="next_chunk": windows of context + one chunk with told context noise; the exported pipeline
    rolls the model out chunk by chunk."""
    from playground.world import sample_clip

    cfg = replace(CONFIGS["tiny"], name="tiny-chunk", objective="next_chunk", context_frames=4, context_noise=True,
                  dit_steps=6, action_channels=3, snapshot_every_s=1e-6)
    info = train(cfg, tmp_path / "run", tmp_path / "model", cache_dir)
    assert info["step"] == 6 and all(np.isfinite(_losses(tmp_path / "run")))
    snaps = sorted((tmp_path / "run" / "snapshots").glob("step_*"))
    assert [json.loads((p / "snapshot.json").read_text())["step"] for p in snaps] == [1, 2, 3, 4, 5, 6]
    assert json.loads((snaps[-1] / "snapshot.json").read_text())["samples_seen"] == 6 * cfg.batch
    pipe = WorldSimPipeline.from_pretrained(tmp_path / "model", text_encoder=text_encoder)
    assert pipe.rolls_out and pipe.transformer.config.context_noise and pipe.accepts_actions

    from playground.emergence import score_run

    lines = score_run(tmp_path / "run", tmp_path / "model", trials=1, steps=2)
    assert [r["step"] for r in lines] == [1, 2, 3, 4, 5, 6]
    assert 0 <= lines[0]["evaluate"]["model"]["objects_kept"] <= 1
    assert set(lines[0]["probes"]) == {"inertia", "permanence"} and "copy_last" in lines[0]["probes"]["inertia"]
    assert score_run(tmp_path / "run", tmp_path / "model", trials=1, steps=2) == []  # all scored already
    from playground.emergence import emergence_markdown, emergence_plot, read_log

    log = read_log(tmp_path / "run" / "emergence.jsonl")
    md = emergence_markdown(log)
    assert md.count("\n| ") == 2 + 6 and "emergence.png" in md  # header, rule, one row per snapshot
    img = emergence_plot(log)
    assert img.dtype == np.uint8 and img.shape[2] == 3 and (tmp_path / "run" / "emergence.png").is_file()
    pipe.set_progress_bar_config(disable=True)
    frames = sample_clip("inertia", "train", 0, n_frames=8).frames
    chunks = []
    out = pipe("", observed_frames=frames[:4], num_frames=12, num_inference_steps=2, enrich_prompt=False,
               generator=torch.Generator().manual_seed(0), callback_on_chunk_end=lambda d: chunks.append(d["start"]))
    assert out.frames.shape == (1, 12, 32, 32, 3) and chunks == [4, 6, 8, 10]
    from playground.model_card import render_card

    card = render_card(tmp_path / "model", None, None)  # says what this model predicts and how it was trained
    assert "Objective: next chunk - the DiT predicts the next 2 frames" in card and "action maps" in card
    assert "windows of 4 context frames" in card and "text-to-video and otherwise" not in card


def test_next_chunk_batches_carry_the_clips_kicks_as_action_maps(cache_dir):
    """The clip cache keeps each clip's kicks as pixel actions; a next-chunk batch of an action model carries their
    maps for the window's frames (a bump where the kick lands, on the kick's frame), zeros for clips without."""
    from playground.train import action_maps, build_clip_cache, clip_actions, make_batch

    cfg = replace(CONFIGS["tiny"], objective="next_chunk", context_frames=4, context_noise=True, action_channels=3,
                  short_context_prob=0.0)
    buckets = build_clip_cache(cfg, cache_dir)
    main = buckets[(cfg.height, cfg.width)]
    kicked = [i for i, t in enumerate(main["actions"]) if clip_actions(t)]
    assert kicked and len(kicked) < len(main["actions"])  # the mixed family kicks some of its clips
    a = clip_actions(main["actions"][kicked[0]])[0]
    maps = action_maps(main["actions"][kicked[:1]], cfg.frames, 16, 16, 2)  # (1, 3, T, 16, 16)
    assert maps[0, 0, a.frame].max() > 0.5 and maps[0, 0].sum(dim=(1, 2)).count_nonzero() == 1
    iy, ix = np.unravel_index(int(maps[0, 0, a.frame].argmax()), (16, 16))
    assert abs(ix + 0.5 - a.x / 2) <= 1 and abs(iy + 0.5 - a.y / 2) <= 1
    for b in buckets.values():
        b["latents"] = torch.zeros(len(b["frames"]), 4, cfg.frames, b["frames"].shape[2] // 2, b["frames"].shape[3] // 2)
        b["text_index"] = np.zeros(len(b["frames"]), dtype=int)
    seen = 0
    for step in range(20):
        batch = make_batch(cfg, buckets, torch.zeros(1, 384), step=step)
        acts = batch.actions
        assert acts is not None and acts.shape[:3] == (cfg.batch, 3, batch[0].shape[2])
        seen += int(acts.abs().sum() > 0)
    assert seen > 0
    joint = make_batch(replace(cfg, objective="joint", action_channels=0), buckets, torch.zeros(1, 384), step=0)
    assert joint.actions is None and joint.own_context is None
    # kick_window_prob: every sample a kicked clip whose window ends its context on a kick (the frame the kick
    # changes is the chunk), where the clip has room for that
    focused = replace(cfg, kick_window_prob=1.0)
    for step in range(5):
        batch = make_batch(focused, buckets, torch.zeros(1, 384), step=step)
        on_last = batch.actions[:, 0, focused.context_frames - 1].amax(dim=(1, 2))
        assert (on_last > 0.5).float().mean() >= 0.75, on_last
    assert not torch.equal(make_batch(cfg, buckets, torch.zeros(1, 384), step=0).actions, batch.actions)


def test_a_focused_window_ends_its_context_on_the_focus_frame():
    from playground.diffusion.chunks import next_chunk_window
    from playground.train import kick_focus

    lat = torch.arange(6 * 16, dtype=torch.float32).reshape(6, 1, 16, 1, 1).expand(6, 1, 16, 2, 2)
    focus = np.array([5, 9, -1, 0, 15, 7])
    win = next_chunk_window(lat, np.random.default_rng(0), torch.Generator().manual_seed(0), 4, 1, 0.0, 0.0,
                            focus=focus)
    assert list(win.start[[0, 1, 3, 4, 5]]) == [2, 6, 0, 11, 4]  # clipped to the clip where it cannot be the last
    table = np.full((6, 2, 6), np.nan, dtype=np.float32)
    table[4, 0, 0], table[2, 1, 0] = 7, 9
    idx, foc = kick_focus(table, np.arange(6), np.random.default_rng(0), 1.0)
    assert set(idx) <= {2, 4} and all(f == (7 if i == 4 else 9) for i, f in zip(idx, foc))
    idx, foc = kick_focus(table, np.arange(6), np.random.default_rng(0), 0.0)
    assert list(idx) == list(range(6)) and (foc == -1).all()


def test_own_context_batches_end_their_context_in_the_models_own_chunk(tmp_path, cache_dir):
    """own_context_prob: a batch's window moves one chunk on and its context ends in the chunk the EMA model
    sampled from the true frames before it (noised at the batch's level); the target stays the true chunk."""
    from playground.models.autoencoder import VideoAutoencoder
    from playground.pipeline import build_pipeline
    from playground.train import build_clip_cache, make_batch, own_context_batch

    cfg = replace(CONFIGS["tiny"], objective="next_chunk", context_frames=4, context_noise=True, action_channels=3,
                  own_context_prob=1.0, own_context_steps=2, max_context_sigma=0.0)
    buckets = build_clip_cache(cfg, cache_dir)
    for b in buckets.values():
        g = torch.Generator().manual_seed(0)
        b["latents"] = torch.randn(len(b["frames"]), 4, cfg.frames, b["frames"].shape[2] // 2,
                                   b["frames"].shape[3] // 2, generator=g)
        b["text_index"] = np.zeros(len(b["frames"]), dtype=int)
    batch = make_batch(cfg, buckets, torch.zeros(1, 384), step=0)
    long = batch.own_context
    assert long is not None and long.x0.shape[2] == 4 + 2 * 2 and batch.x0.shape[2] == 4 + 2
    torch.testing.assert_close(batch.x0, long.x0[:, :, 2:])  # the target window is the true frames
    torch.manual_seed(0)
    model = SpacetimeDiT(latent_channels=4, hidden_size=32, depth=2, num_heads=2, objective="next_chunk",
                         context_frames=4, context_noise=True, action_channels=3)
    pipe = build_pipeline(model, VideoAutoencoder(channels=(8, 16), latent_channels=4))
    done = own_context_batch(cfg, batch, pipe, torch.Generator().manual_seed(1))
    again = own_context_batch(cfg, batch, pipe, torch.Generator().manual_seed(1))
    torch.testing.assert_close(done.cond_latents, again.cond_latents)  # seeded: the same batch
    assert done.own_context is None and done.obs_mask[:, :4].all() and not done.obs_mask[:, 4:].any()
    torch.testing.assert_close(done.cond_latents[:, :, :2], long.x0[:, :, 2:4])  # true frames (no noise here)
    made = done.cond_latents[:, :, 2:4]
    assert (made - long.x0[:, :, 4:6]).abs().mean() > 0.1  # the model's chunk, not the truth it stands for
    assert (done.cond_latents[:, :, 4:] == 0).all() and done.actions.shape[2] == 6

    cfg = replace(cfg, name="tiny-own", dit_steps=3, own_context_prob=0.5, max_context_sigma=0.3)
    info = train(cfg, tmp_path / "run", tmp_path / "model", cache_dir)
    assert info["step"] == 3 and all(np.isfinite(_losses(tmp_path / "run")))


def test_a_warm_start_copies_the_joint_model_and_its_added_inputs_start_at_zero(tmp_path):
    """init_weights: a joint model's weights start a next-chunk model with context noise and actions; the added
    input channels are zero, so the warm-started model predicts what the source predicted from the same input."""
    from playground.train import warm_start

    torch.manual_seed(0)
    joint = SpacetimeDiT(latent_channels=4, hidden_size=32, depth=2, num_heads=2)
    for p in joint.parameters():  # zero-initialised layers (adaLN-Zero, the final layer) made non-trivial
        p.data.add_(0.05 * torch.randn_like(p))
    joint.save_pretrained(tmp_path / "src" / "transformer")
    torch.manual_seed(1)
    chunk = SpacetimeDiT(latent_channels=4, hidden_size=32, depth=2, num_heads=2, objective="next_chunk",
                         context_frames=4, context_noise=True, action_channels=3)
    report = warm_start(chunk, tmp_path / "src")
    assert report["extended"] == ["x_embedder.weight"] and report["kept"] == []
    x, cond = torch.randn(2, 4, 6, 8, 8), torch.randn(2, 4, 6, 8, 8)
    mask = torch.tensor([[1.0] * 4 + [0.0] * 2] * 2)
    sigma = torch.tensor([0.7, 0.2])
    text = torch.randn(2, 384)
    want = joint(x, sigma, text_embeds=text, cond_latents=cond, cond_mask=mask)
    got = chunk(x, sigma, text_embeds=text, cond_latents=cond, cond_mask=mask, cond_sigma=mask * 0,
                actions=torch.zeros(2, 3, 6, 8, 8))
    torch.testing.assert_close(got, want)
    other = SpacetimeDiT(latent_channels=8, hidden_size=32, depth=2, num_heads=2)
    assert "x_embedder.weight" in warm_start(other, tmp_path / "src")["kept"]  # other latents: not reused


def test_a_config_names_its_dit_size_and_an_unknown_size_is_refused(tmp_path):
    from dataclasses import replace

    from playground.models.dit import DIT_SIZES
    from playground.train import CONFIGS, train

    assert CONFIGS["default"].dit_size == "S" and DIT_SIZES["S"]["hidden_size"] == 128
    with pytest.raises(ValueError, match="dit_size must be one of"):
        train(replace(CONFIGS["tiny"], dit_size="XXL"), tmp_path / "run", tmp_path / "model", tmp_path / "cache")
    assert not (tmp_path / "run").exists()
