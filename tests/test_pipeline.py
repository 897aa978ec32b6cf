"""WorldSimPipeline: shapes, determinism, conditioning, tracing, validation, save/load."""


import numpy as np
import pytest
import torch

from playground.enrich import PromptEnricher, prompt_attributes
from playground.pipeline import TraceConfig, WorldSimPipeline


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("frames,height,width", [(16, 32, 32), (1, 32, 32), (5, 32, 48), (8, 48, 32)])
def test_output_shapes_for_durations_resolutions_and_aspects(tiny_pipe, frames, height, width):
    out = tiny_pipe("a red ball", num_frames=frames, height=height, width=width, num_inference_steps=2, generator=_gen())
    assert out.frames.shape == (1, frames, height, width, 3)
    assert out.frames.dtype == np.uint8


def test_same_seed_same_video_and_other_seed_other_video(tiny_pipe):
    kw = dict(num_frames=4, num_inference_steps=3)
    a = tiny_pipe("two balls collide", generator=_gen(5), **kw).frames
    b = tiny_pipe("two balls collide", generator=_gen(5), **kw).frames
    c = tiny_pipe("two balls collide", generator=_gen(6), **kw).frames
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_stochastic_sampling_takes_its_noise_from_the_generator_only(tiny_pipe):
    from diffusers import FlowMatchEulerDiscreteScheduler

    assert tiny_pipe.scheduler.config.stochastic_sampling  # the project's default sampler
    kw = dict(num_frames=4, num_inference_steps=3)
    torch.manual_seed(1)
    a = tiny_pipe("a red ball", generator=_gen(2), **kw).frames
    torch.manual_seed(2)  # the global RNG must not matter
    b = tiny_pipe("a red ball", generator=_gen(2), **kw).frames
    assert np.array_equal(a, b)
    tiny_pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(tiny_pipe.scheduler.config,
                                                                      stochastic_sampling=False)
    ode = tiny_pipe("a red ball", generator=_gen(2), **kw).frames
    assert not np.array_equal(a, ode)  # the fresh noise changes the path


def test_observed_frames_come_back_unchanged(tiny_pipe):
    obs = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    out = tiny_pipe("", observed_frames=obs, num_frames=6, num_inference_steps=2, generator=_gen())
    assert np.array_equal(out.frames[0, :3], obs)


def test_trace_records_every_step_and_attention_matches_untraced_run(tiny_pipe):
    kw = dict(num_frames=4, num_inference_steps=3)
    plain = tiny_pipe("a blue ball", generator=_gen(1), **kw)
    traced = tiny_pipe("a blue ball", generator=_gen(1), trace=TraceConfig(attention_steps=[0, 2]), **kw)
    # The readable attention path differs from the fused one only by float rounding.
    torch.testing.assert_close(traced.latents, plain.latents, atol=1e-4, rtol=1e-4)
    assert np.abs(plain.frames.astype(int) - traced.frames.astype(int)).max() <= 1
    tr = traced.trace
    assert len(tr.latents) == len(tr.x0) == 3
    assert sorted(tr.attention) == [0, 2]
    for w in tr.attention[2].values():
        torch.testing.assert_close(w.float().sum(-1), torch.ones(w.shape[:-1]), atol=2e-3, rtol=0)
    assert tr.nbytes() == tr.estimated_bytes


def test_trace_over_memory_budget_is_refused(tiny_pipe):
    with pytest.raises(ValueError, match="MiB"):
        tiny_pipe("x", num_frames=16, num_inference_steps=50,
                  trace=TraceConfig(attention_steps=list(range(50)), max_bytes=1000))


@pytest.mark.parametrize("kwargs,match", [
    (dict(num_frames=0), "num_frames"),
    (dict(height=30), "multiples of 4"),
    (dict(width=4096), "width"),
    (dict(guidance_scale=float("nan")), "guidance_scale"),
    (dict(num_inference_steps=0), "num_inference_steps"),
    (dict(prompt="x" * 5000), "characters"),
    (dict(observed_frames=np.zeros((3, 16, 16, 3), np.uint8)), "observed frames are 16x16"),
    (dict(observed_frames=np.zeros((20, 32, 32, 3), np.uint8), num_frames=16), "do not fit"),
    (dict(observed_frames=np.zeros((2, 32, 32, 3), np.float32)), "uint8"),
])
def test_bad_arguments_get_clear_errors(tiny_pipe, kwargs, match):
    kwargs = {"prompt": "a ball", "num_inference_steps": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        tiny_pipe(**kwargs)


def test_save_load_round_trip_gives_identical_video(tiny_pipe, tmp_path, text_encoder):
    tiny_pipe.enricher = PromptEnricher.build(["A red ball rolls to the left.", "Two blue balls fall."], text_encoder)
    tiny_pipe.save_pretrained(tmp_path / "m")
    again = WorldSimPipeline.from_pretrained(tmp_path / "m", text_encoder=text_encoder)
    again.set_progress_bar_config(disable=True)
    kw = dict(num_frames=4, num_inference_steps=2)
    assert np.array_equal(tiny_pipe("red", generator=_gen(), **kw).frames, again("red", generator=_gen(), **kw).frames)
    assert (tmp_path / "m" / "model_index.json").exists()


def test_extend_continues_past_the_window(tiny_pipe):
    start = np.random.default_rng(1).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    video = tiny_pipe.extend(start, extra_frames=9, context_frames=2, window=4, num_inference_steps=1, generator=_gen())
    assert video.shape == (13, 32, 32, 3)
    assert np.array_equal(video[:4], start)


def test_callback_sees_every_step_with_the_diffusers_contract(tiny_pipe):
    seen = []

    def cb(pipe, step, timestep, kwargs):
        seen.append((step, pipe.num_timesteps, sorted(kwargs)))
        return kwargs

    tiny_pipe("", num_frames=2, num_inference_steps=4, generator=_gen(), callback_on_step_end=cb,
              callback_on_step_end_tensor_inputs=["latents", "x0"])
    assert seen == [(i, 4, ["latents", "x0"]) for i in range(4)]


def test_a_step_callback_can_replace_the_latents(tiny_pipe):
    """diffusers' contract: the dict the callback returns replaces the latents the next step starts from."""
    def zero(pipe, step, timestep, kwargs):
        return {"latents": torch.zeros_like(kwargs["latents"])}

    plain = tiny_pipe("", num_frames=2, num_inference_steps=3, generator=_gen(), output_type="latent")
    zeroed = tiny_pipe("", num_frames=2, num_inference_steps=3, generator=_gen(), output_type="latent",
                       callback_on_step_end=zero)
    assert plain.frames is None and float(zeroed.latents.abs().max()) == 0.0 < float(plain.latents.abs().max())
    frames, = tiny_pipe("", num_frames=2, num_inference_steps=1, generator=_gen(), return_dict=False)
    assert frames.shape == (1, 2, 32, 32, 3) and frames.dtype == np.uint8


def test_enrichment_keeps_the_attributes_the_prompt_names(text_encoder):
    caps = ["One ball on a checkered floor: red. The red ball rolls to the left. The camera is still.",
            "Two balls on a checkered floor: blue and green. The blue ball falls and bounces on the floor.",
            "One ball on a checkered floor: blue. The blue ball passes behind the brown wall."]
    enr = PromptEnricher.build(caps, text_encoder)
    e = enr.enrich("a blue ball hidden behind a wall", text_encoder)
    assert e.text == caps[2] and e.source == "nearest training caption"
    assert enr.enrich("   ", text_encoder).text == ""
    assert prompt_attributes("two green balls falling")["count"] == 2
    emb = torch.nn.functional.normalize(text_encoder.encode(["a blue ball hidden behind a wall"] + caps).float(), dim=1)
    sims = (emb[1:] @ emb[0]).tolist()  # the prompt's cosine similarity to each caption
    assert e.similarity == pytest.approx(sims[2], abs=1e-3) and sims[2] == max(sims)


def test_cpu_precision_is_chosen_by_name_and_bf16_samples_near_fp32(tiny_pipe):
    """set_precision: fp32 (the default) or bf16 autocast of the DiT on the CPU, "auto" by the CPU's bf16 support;
    a bf16 video differs from the fp32 one only by rounding, not in what it shows."""
    from playground.precision import fast_bf16

    kw = dict(prompt="a red ball rolls", num_frames=4, num_inference_steps=3, output_type="latent")
    assert not tiny_pipe.cpu_bf16
    ref = tiny_pipe(**kw, generator=torch.Generator().manual_seed(0)).latents
    assert tiny_pipe.set_precision("bf16") == "bf16" and tiny_pipe.cpu_bf16
    low = tiny_pipe(**kw, generator=torch.Generator().manual_seed(0)).latents
    assert not torch.equal(low, ref) and (low - ref).abs().max() < 0.1 * ref.abs().max()
    assert tiny_pipe.set_precision("auto") == ("bf16" if fast_bf16() else "fp32")
    assert tiny_pipe.set_precision("fp32") == "fp32" and not tiny_pipe.cpu_bf16
    with pytest.raises(ValueError, match="precision must be"):
        tiny_pipe.set_precision("fp16")
