"""The model-card evaluation: rows computed the same way, floors at the floor."""

import numpy as np
import pytest

from collections import Counter

from playground.evaluate import _failure_kinds, denoise_error, evaluate, to_markdown


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
