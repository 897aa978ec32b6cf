"""Uploaded clips: decoded when usable, refused with a clear message - before decoding - when not."""

import imageio.v3 as iio
import numpy as np
import pytest

from playground.ui.inputs import UserError, load_clip


def _gif(path, frames):
    iio.imwrite(path, frames, extension=".gif", loop=0)
    return path


def test_a_gif_is_decoded_and_resized_nearest(tmp_path):
    rng = np.random.default_rng(0)
    frames = (rng.integers(0, 2, (5, 16, 16, 1)) * 255).astype(np.uint8).repeat(3, -1)  # black and white: exact
    out = load_clip(str(_gif(tmp_path / "c.gif", frames)), 32, 32, max_frames=3)
    assert out.shape == (3, 32, 32, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, ::2, ::2], frames[:3])


def test_a_gif_whose_header_claims_huge_frames_is_refused_before_decoding(tmp_path):
    """A small file that would unpack into 12000 x 12000 frames: its logical screen size is in bytes 6-9."""
    path = _gif(tmp_path / "bomb.gif", np.zeros((2, 8, 8, 3), np.uint8))
    data = bytearray(path.read_bytes())
    data[6:10] = (12000).to_bytes(2, "little") * 2
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match="12000x12000 are too large"):
        load_clip(str(path), 32, 32)


def test_a_file_named_gif_that_is_not_one_gets_a_clear_error(tmp_path):
    path = tmp_path / "fake.gif"
    path.write_bytes(b"not a gif at all")
    with pytest.raises(UserError, match="not a GIF file"):
        load_clip(str(path), 32, 32)


def test_booleans_are_not_numbers():
    """`frames=True` through the API was a 1-frame video; now it is a clear error, as are other non-numbers."""
    from playground.ui.inputs import as_float, as_int

    for bad in (True, False, np.bool_(True), "ten", None, float("nan")):
        with pytest.raises(UserError, match="frames must be a whole number"):
            as_int("frames", bad, 1, 64)
    with pytest.raises(UserError, match="guidance must be a number"):
        as_float("guidance", True, 0.0, 20.0)
    assert as_int("frames", "16", 1, 64) == 16 and as_int("frames", 16.0, 1, 64) == 16  # documented coercions


def test_a_scenes_own_frame_count_gives_way_to_the_frames_setting_and_says_so():
    import json

    from playground.ui.worldsim import parse_scene
    from playground.world import sample_scene

    text = json.dumps(sample_scene("inertia", "train", np.random.default_rng(0), 16).to_dict())
    notes = []
    assert parse_scene(text, 24, notes).n_frames == 24
    assert notes == ["The scene's n_frames (16) gave way to the Frames setting (24)."]
    notes = []
    assert parse_scene(text, 16, notes).n_frames == 16 and notes == []


def test_error_messages_echo_at_most_a_short_piece_of_what_was_given():
    from playground.errors import shown

    assert shown("abc") == "'abc'"
    long = shown("x" * 100_000)
    assert len(long) < 100 and long.endswith("(100,002 characters)")
