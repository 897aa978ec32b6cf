"""WorldSimPipeline.compile_transformer: a torch.compile'd DiT for calls without attention capture (tiny random
weights; one compile of the tiny model, a few seconds)."""

import warnings

import numpy as np
import pytest
import torch

from playground.pipeline import TraceConfig


def _run(pipe, frames=3, trace=None):
    return pipe("a red ball", num_frames=frames, num_inference_steps=2, guidance_scale=2.0, trace=trace,
                generator=torch.Generator().manual_seed(0), enrich_prompt=False)


@pytest.fixture()
def compiled_pipe(tiny_pipe):
    torch._dynamo.reset()
    eager = {n: _run(tiny_pipe, n).frames for n in (3, 5)}
    tiny_pipe.compile_transformer()
    yield tiny_pipe, eager
    torch._dynamo.reset()


def test_compiled_sampling_matches_eager_up_to_rounding_and_is_deterministic(compiled_pipe):
    pipe, eager = compiled_pipe
    calls = []
    compiled = pipe._compiled
    pipe._compiled = lambda *a, **kw: calls.append(1) or compiled(*a, **kw)
    a, b = _run(pipe).frames, _run(pipe).frames
    assert calls, "the compiled forward was not used"
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - eager[3].astype(int)).max() <= 8
    # a frozen pipeline runs shapes it has not compiled eagerly: bit for bit the eager video
    pipe.freeze_compiled()
    np.testing.assert_array_equal(_run(pipe, 5).frames, eager[5])
    np.testing.assert_array_equal(_run(pipe).frames, a)  # and keeps using the compiled shape
    # a traced call captures attention through the eager module, not the compiled function
    calls.clear()
    out = _run(pipe, trace=TraceConfig(attention_steps=(0, 1)))
    assert out.trace is not None and not calls


def test_a_compile_that_fails_warns_once_and_samples_eagerly(compiled_pipe):
    pipe, eager = compiled_pipe

    def broken(*a, **kw):
        raise RuntimeError("no C++ compiler")

    pipe._compiled = broken
    with pytest.warns(UserWarning, match="torch.compile failed"):
        out = _run(pipe).frames
    assert not pipe.compiled
    np.testing.assert_array_equal(out, eager[3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _run(pipe)


def test_the_apps_warm_up_compiles_a_play_game_and_freezes(tiny_pipe):
    from playground import play
    from playground.ui.session import warm_compiled
    from playground.world.families import sample_scene

    torch._dynamo.reset()
    try:
        tiny_pipe.compile_transformer()
        assert warm_compiled(tiny_pipe) > 0 and tiny_pipe._compile_frozen
        calls = []
        compiled = tiny_pipe._compiled
        tiny_pipe._compiled = lambda *a, **kw: calls.append(1) or compiled(*a, **kw)
        game = play.start(tiny_pipe, sample_scene("mixed", "train", np.random.default_rng(1), 16), observed=4)
        assert play.step(tiny_pipe, game, 1).num_frames > game.num_frames and calls
    finally:
        torch._dynamo.reset()
