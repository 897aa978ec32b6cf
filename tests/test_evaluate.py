"""The model-card evaluation: rows computed the same way, floors at the floor."""

import numpy as np
import pytest

from collections import Counter

from playground.evaluate import (EVAL_SEED_BASE, _failure_kinds, denoise_error, evaluate, text_only,
                                 text_only_markdown, to_markdown)
from playground.world import sample_clip


class CopyLastPipe:
    """Stands in for a model: repeats the last observed frame (so its row must equal the copy_last baseline)."""

    defaults = {"frames": 12, "height": 32, "width": 32}
    default_steps = 20

    def __call__(self, prompt, observed_frames, num_frames, **kw):
        rest = np.repeat(observed_frames[-1:], num_frames - len(observed_frames), 0)

        class Out:
            frames = np.concatenate([observed_frames, rest])[None]

        return Out()


def test_model_row_equals_the_baseline_it_imitates_and_truth_is_the_floor():
    res = evaluate(CopyLastPipe(), trials=3, observed=4, progress=False)
    for split, rows in res["splits"].items():
        assert rows["model"] == rows["copy_last"]
        assert rows["truth"]["objects_kept"] == 1.0
        assert rows["truth"]["velocity_err_px"] < 0.3
        assert rows["truth"]["velocity_err_px"] < rows["copy_last"]["velocity_err_px"]
        assert 0.0 <= rows["const_velocity"]["objects_kept"] <= 1.0  # the probe suite's baseline, from detections
        assert rows["truth"]["failures"] == {"missing": 0.0, "extra": 0.0, "split": 0.0}
    md = to_markdown(res)
    assert "| held-out | const_velocity | " in md and "| held-out | const_velocity | n/a |" not in md


def test_evaluate_and_the_probes_share_one_const_velocity_baseline():
    """One implementation per baseline name: evaluate's const_velocity row is the probe suite's predictor."""
    import playground.evaluate as ev
    import playground.probes.suite as suite

    assert ev.const_velocity is suite.const_velocity and ev.copy_last is suite.copy_last


def test_failure_kinds_name_how_the_parsed_colours_differ():
    truth = Counter({"red": 1, "blue": 1})
    assert _failure_kinds(Counter({"red": 1, "blue": 1}), truth) == {"missing": False, "extra": False, "split": False}
    assert _failure_kinds(Counter({"red": 2, "green": 1}), truth) == {"missing": True, "extra": True, "split": True}


def test_denoise_error_of_an_untrained_anchored_model_is_the_copy_last_error_at_full_noise(tiny_pipe):
    from playground.models.dit import SpacetimeDiT_tiny

    tiny_pipe.transformer = SpacetimeDiT_tiny(anchor="last_observed", precondition="edm", residual_std=0.4).eval()
    tiny_pipe.defaults = {"frames": 8, "height": 16, "width": 16}
    d = denoise_error(tiny_pipe, clips=2, observed=2, sigmas=(1.0, 0.001))
    assert d["model_rmse"][0] == pytest.approx(d["copy_last_rmse"], rel=1e-5)  # F = 0 and c_skip = 0: the anchor
    assert d["model_rmse"][1] < 0.01  # c_skip ~ 1: a nearly clean input passes through


class CaptionPipe:
    """Stands in for a text-to-video model: draws the simulator's clip of a caption it knows, else an empty floor."""

    defaults = {"frames": 8, "height": 32, "width": 32}
    default_steps = 4

    def __init__(self, clips):
        self.by_caption = {c.caption: c.frames for c in clips}
        self.prompts = []

    def __call__(self, prompt, num_frames, **kw):
        self.prompts.append(prompt)
        floor = next(iter(self.by_caption.values()))[:1] * 0
        frames = self.by_caption.get(prompt, np.repeat(floor, num_frames, 0))

        class Out:
            pass

        Out.frames = frames[None]
        return Out()


def test_text_only_scores_a_model_that_draws_the_caption_as_the_truth_and_an_empty_floor_as_nothing():
    n = 6
    clips = [sample_clip("mixed", "train", seed=EVAL_SEED_BASE + 5_000 + i, n_frames=8, height=32, width=32)
             for i in range(n)]
    exact = CaptionPipe(clips)
    res = text_only(exact, clips=n, progress=False)
    assert exact.prompts == [c.caption for c in clips]  # the prompts are the clips' rich captions, given as they are
    assert res["rows"]["model"] == res["rows"]["truth"]
    assert res["rows"]["truth"]["clips_shown"] >= 0.5  # the ceiling: most truth clips show their caption
    assert res["rows"]["other_clip"]["clips_shown"] < res["rows"]["truth"]["clips_shown"]
    blank = CaptionPipe([])
    blank.by_caption = {"": clips[0].frames}  # knows no caption: every video is an empty floor
    res = text_only(blank, clips=n, progress=False)
    assert res["rows"]["model"] == {"clips_shown": 0.0, "frames_shown": 0.0}
    assert "| model | 0.0% | 0.0% |" in text_only_markdown(res)
