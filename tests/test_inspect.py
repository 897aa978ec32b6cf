"""Inside the model: linear probes, baselines, hidden-state recording and attention interventions."""

import json

import numpy as np
import pytest
import torch

from playground.inspect import Ablation, ablated_pipeline, ablated_transformer, layer_names, parse_heads, \
    record_hidden_states
from playground.inspect.linear import cv_select, fit_ridge, r2_score
from playground.inspect.study import StudyConfig, baseline_tokens, patch_grid, position_grid, run_study, to_markdown

PT, PX = 2, 4  # temporal patch, pixels per token side of the baseline tests
T, H, W = 16, 32, 32
GRID = (T // PT, H // PX, W // PX)


def _clip_split(n_clips, per_clip, seed=0):
    groups = np.repeat(np.arange(n_clips), per_clip)
    test = np.isin(groups, np.random.default_rng(seed).permutation(n_clips)[: n_clips // 3])
    return groups, test


def _probe_r2(X, y, groups, test):
    alpha, _ = cv_select(X[~test], y[~test], groups[~test], "r2", seed=0)
    return r2_score(y[test], fit_ridge(X[~test], y[~test], alpha).predict(X[test]))


def test_probe_recovers_a_planted_linear_signal_and_not_a_shuffled_one():
    rng = np.random.default_rng(0)
    groups, test = _clip_split(30, 40)
    X = rng.normal(size=(len(groups), 64))
    y = X @ rng.normal(size=64) + 0.3 * rng.normal(size=len(groups))
    assert _probe_r2(X, y, groups, test) > 0.95
    assert _probe_r2(X, rng.permutation(y), groups, test) < 0.05


def _pixel_features(frames):
    """The pixel baseline's per-token features of uint8 clips (n, T, H, W, 3) -> (n, T', h', w', F)."""
    from playground.models.autoencoder import from_uint8

    pos = position_grid(48, GRID)
    return np.stack([baseline_tokens(patch_grid(from_uint8(f[None])[0], PT, PX), pos) for f in frames])


def test_pixel_baseline_reads_depth_that_is_a_function_of_the_row_but_not_depth_that_is_not():
    rng = np.random.default_rng(1)
    n = 24
    frames = rng.integers(60, 120, size=(n, T, H, W, 3), dtype=np.uint8)  # a textured floor, no depth cue in it
    feats = _pixel_features(frames)
    X = feats.reshape(-1, feats.shape[-1])
    groups, test = _clip_split(n, int(np.prod(GRID)))
    rows = np.broadcast_to(np.arange(GRID[1])[None, None, :, None], (n, *GRID)).reshape(-1)
    floor = 1.0 / (0.15 + 0.1 * rows)  # a pitched camera over a floor: depth falls with the image row
    unrelated = rng.uniform(1.0, 7.0, size=floor.shape)  # same range, no relation to position or pixels
    assert _probe_r2(X, floor, groups, test) > 0.95
    assert _probe_r2(X, unrelated, groups, test) < 0.05


def _inputs(pipe, frames=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = pipe.transformer.config.latent_channels
    x = torch.randn(1, c, frames, 8, 8, generator=g)
    return x, torch.tensor([0.5]), pipe.encode_text(["a red ball rolls"])


def test_ablating_nothing_reproduces_the_normal_output_exactly(tiny_pipe):
    x, s, text = _inputs(tiny_pipe)
    same = ablated_transformer(tiny_pipe.transformer, Ablation())
    assert torch.equal(same(x, s, text_embeds=text), tiny_pipe.transformer(x, s, text_embeds=text))
    run = lambda p: p("a red ball", num_frames=8, num_inference_steps=3,  # noqa: E731
                      generator=torch.Generator().manual_seed(3)).frames
    assert np.array_equal(run(ablated_pipeline(tiny_pipe, Ablation())), run(tiny_pipe))


def test_ablating_every_temporal_block_makes_frames_independent_of_the_other_frames(tiny_pipe):
    tr = tiny_pipe.transformer
    x, s, text = _inputs(tiny_pipe)
    later = x.clone()
    later[:, :, 2:] += torch.randn(later[:, :, 2:].shape, generator=torch.Generator().manual_seed(1))
    first = lambda m, inp: m(inp, s, text_embeds=text)[:, :, :2]  # noqa: E731 (the first token group's frames)
    assert not torch.allclose(first(tr, x), first(tr, later), atol=1e-4)  # normally later frames matter
    cut = ablated_transformer(tr, Ablation(time_off=tuple(i for i, k in enumerate(tr.kinds) if k != "spatial")))
    assert torch.equal(first(cut, x), first(cut, later))


def test_a_temporal_window_hides_frames_older_than_the_window(tiny_pipe):
    tr = tiny_pipe.transformer  # one temporal block: a token sees exactly the frame groups the window allows
    x, s, text = _inputs(tiny_pipe)
    early = x.clone()
    early[:, :, :2] += 1.0  # change frame group 0
    windowed = ablated_transformer(tr, Ablation(window=2 * PT))  # each token sees its own group and the one before
    out = lambda m, inp: m(inp, s, text_embeds=text)  # noqa: E731
    assert not torch.allclose(out(windowed, x)[:, :, 2:4], out(windowed, early)[:, :, 2:4], atol=1e-4)
    assert torch.equal(out(windowed, x)[:, :, 4:], out(windowed, early)[:, :, 4:])


def test_head_ablation_changes_the_copy_and_never_the_served_model(tiny_pipe):
    tr = tiny_pipe.transformer
    x, s, text = _inputs(tiny_pipe)
    before = tr(x, s, text_embeds=text)
    headless = ablated_transformer(tr, Ablation(heads=parse_heads("0:1, 1:*")))
    assert not torch.allclose(headless(x, s, text_embeds=text), before, atol=1e-5)
    assert torch.equal(tr(x, s, text_embeds=text), before)


def test_ablations_name_what_does_not_exist(tiny_pipe):
    with pytest.raises(ValueError, match="block 0 is spatial"):
        ablated_transformer(tiny_pipe.transformer, Ablation(time_off=(0,)))
    with pytest.raises(ValueError, match="head 9 does not exist"):
        ablated_transformer(tiny_pipe.transformer, Ablation(heads=((1, 9),)))
    with pytest.raises(ValueError, match="BLOCK:HEAD"):
        parse_heads("3")


def test_recording_keeps_every_layer_and_leaves_the_output_unchanged(tiny_pipe):
    tr = tiny_pipe.transformer
    x, s, text = _inputs(tiny_pipe)
    states, x0 = record_hidden_states(tr, x, 0.5, text)
    assert list(states) == layer_names(tr) == ["embed", "blocks.0", "blocks.1"]
    n = int(np.prod(tr.token_grid(8, 8, 8)))
    assert all(v.shape == (1, n, tr.config.hidden_size) for v in states.values())
    assert torch.equal(x0, tr(x, s, text_embeds=text))
    assert not any(b._forward_hooks or b._forward_pre_hooks for b in tr.blocks)


def test_a_next_chunk_model_is_recorded_window_by_window_as_it_makes_a_clip():
    """clip_states: a next-chunk model's token of frame t is computed from the 4 frames before it and frame t
    itself, never from later frames or ones older than its context, and matches one pass over that window."""
    from playground.inspect.study import clip_states
    from playground.models.dit import SpacetimeDiT_tiny

    from tiny import perturb

    torch.manual_seed(0)
    tr = perturb(SpacetimeDiT_tiny(objective="next_chunk", context_frames=4, context_noise=True, patch_size_t=1))
    names = layer_names(tr)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(2, tr.config.latent_channels, 12, 8, 8, generator=g)
    text = torch.randn(2, 384, generator=g)

    def states(x):
        sample = 0.5 * x + 0.5 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
        return clip_states(tr, {"x0": x, "sample": sample, "text_embeds": text}, 0.5, 4, names)

    base = states(x0)
    per_frame = 64  # tokens of one frame: 8x8 latents, one per token
    assert all(v.shape == (2, 12 * per_frame, tr.config.hidden_size) for v in base.values())
    later, older = x0.clone(), x0.clone()
    later[:, :, 8:] += 1.0  # frames after frame 7
    older[:, :, :3] += 1.0  # frames before frame 7's context (3 .. 6)
    f7 = slice(7 * per_frame, 8 * per_frame)
    for n in names[1:]:
        assert torch.equal(states(later)[n][:, f7], base[n][:, f7])
        assert torch.equal(states(older)[n][:, f7], base[n][:, f7])
        assert not torch.allclose(states(x0 + 0.3)[n][:, f7], base[n][:, f7])
    with pytest.raises(ValueError, match="at most 4 observed"):
        clip_states(tr, {"x0": x0, "sample": x0, "text_embeds": text}, 0.5, 6, names)


def test_study_runs_end_to_end_on_a_tiny_model_and_reports_each_split(tiny_pipe):
    res = run_study(tiny_pipe, StudyConfig(clips=9, heldout_clips=3, sigmas=(0.5,), tasks=("depth", "ball"),
                                           bootstrap=20))
    json.dumps(res)
    depth = res["tasks"]["depth"]["sigmas"]["0.5"]
    assert set(depth["judgement"]) == {"test", "heldout"}
    assert len(depth["curves"]["trained"]["test"]) == len(layer_names(tiny_pipe.transformer))
    assert res["config"]["probe_train_clips"] + res["config"]["probe_test_clips"] == 9
    assert res["readout"]["task"] == "depth"
    assert "| depth |" in to_markdown(res)


def test_inside_tab_draws_curves_a_depth_readout_and_an_ablation(tiny_pipe, tmp_path):
    from playground.ui.inspect import curves_figure, depth_readout, load_study, run_ablation, verdict_markdown
    from playground.ui.session import AppContext

    study = run_study(tiny_pipe, StudyConfig(clips=9, heldout_clips=3, sigmas=(0.5,), tasks=("depth",), bootstrap=10))
    (tmp_path / "inspect.json").write_text(json.dumps({"command": "test", "probes": study}))
    ctx = AppContext(tiny_pipe, str(tmp_path), tmp_path)
    assert load_study(ctx) == json.loads(json.dumps(study))
    fig = curves_figure(study, "depth", "0.5")
    assert len(fig.data[0].y) == len(layer_names(tiny_pipe.transformer))
    assert "depth" in verdict_markdown(study, "depth", "0.5")
    image, info = depth_readout(ctx, study, "camera", "train", 3)
    assert image.ndim == 3 and info["layer"] == study["readout"]["layer"]
    with pytest.raises(ValueError, match="unknown family"):
        depth_readout(ctx, study, "nope", "train", 3)
    video, table, summary = run_ablation(ctx, ["1"], "", 0, ["inertia"], 1, 2, 0)
    assert set(table["metric"]) and summary["ablation"]["time_off"] == [1]
    with pytest.raises(ValueError, match="never attends across time"):
        run_ablation(ctx, ["0"], "", 0, ["inertia"], 1, 2, 0)


def test_inspect_command_writes_json_and_markdown(tiny_pipe, tmp_path):
    from playground.__main__ import main
    from playground.inspect.report import card_markdown

    model = tmp_path / "model"
    tiny_pipe.save_pretrained(model)
    out = tmp_path / "inspect.json"
    assert main(["inspect", "--model", str(model), "--what", "ablate", "--probes", "inertia", "--trials", "2",
                 "--steps", "1", "--window", "4", "--json", str(out), "--md", str(tmp_path / "inspect.md")]) == 0
    data = json.loads(out.read_text())
    assert list(data["interventions"]["ablations"]) == ["custom"]
    assert "temporal attention limited to the last 4 frames" in (tmp_path / "inspect.md").read_text()
    assert "Attention interventions" in card_markdown(data)
    assert main(["inspect", "--model", str(model), "--what", "nothing"]) == 2


def test_masked_attention_reads_the_same_on_the_fast_and_the_readable_path():
    from playground.models.dit import Attention, frame_window_mask

    torch.manual_seed(0)
    attn = Attention(16, 2)
    x = torch.randn(3, 4, 16)
    mask = frame_window_mask("temporal", (4, 2, 2), 2)
    fast, _ = attn(x, attn_mask=mask)
    readable, w = attn(x, return_weights=True, attn_mask=mask)
    assert torch.allclose(fast, readable, atol=1e-5)
    assert torch.all(w[..., ~mask] == 0)
