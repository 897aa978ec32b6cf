"""The model-card evaluation: rows computed the same way, floors at the floor."""

import numpy as np

from playground.evaluate import evaluate, to_markdown


class CopyLastPipe:
    """Stands in for a model: repeats the last observed frame (so its row must equal the copy_last baseline)."""

    defaults = {"frames": 12, "height": 32, "width": 32}

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
        assert rows["const_velocity"]["objects_kept"] is None
    md = to_markdown(res)
    assert "| held-out | const_velocity | n/a |" in md
