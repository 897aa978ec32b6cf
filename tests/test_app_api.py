"""The app as an API: every tab's action driven through gradio_client against a tiny random-weight model."""

import json
import os
import re
import threading

import imageio.v3 as iio
import numpy as np
import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from tiny import TINY_CAPTIONS  # noqa: E402


@pytest.fixture()
def client(app_url):
    return Client(app_url, verbose=False)


GEN = dict(prompt="a red ball", source="none", upload=None, family="inertia", split="train", scene_seed=0, k=4,
           frames=8, resolution="32x32", steps=3, guidance=2.0, seed=1, enrich=True)


def generate(client, **kw):
    a = {**GEN, **kw}
    return client.predict(*a.values(), api_name="/generate")


def plotly_array(v) -> np.ndarray:
    """An array of a plot's JSON: a list, or plotly's typed array ({"bdata": base64, "dtype": ...})."""
    if isinstance(v, dict):
        import base64

        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v)


def strip_of(out) -> np.ndarray:
    return iio.imread(out[2])


def test_generate_returns_h264_video_and_the_enriched_prompt(client):
    import imageio_ffmpeg

    preview, video, strip, enriched, summary = generate(client)
    gen = imageio_ffmpeg.read_frames(video)
    meta = next(gen)
    n = sum(1 for _ in gen)
    assert meta["codec"] == "h264" and n == 8
    assert enriched == TINY_CAPTIONS[1]
    assert summary["enriched_prompt"] == enriched and summary["trace"]["attention_steps"] == [0, 1, 2]
    assert iio.imread(preview).ndim == 3 and strip_of((preview, video, strip)).ndim == 3


def test_same_seed_gives_identical_frames_and_another_seed_differs(client):
    a, b, c = generate(client, seed=5), generate(client, seed=5), generate(client, seed=6)
    assert np.array_equal(strip_of(a), strip_of(b))
    assert not np.array_equal(strip_of(a), strip_of(c))


def test_empty_prompt_means_unconditional(client):
    out = generate(client, prompt="")
    assert out[3] == "(no text: unconditional)" and out[4]["enriched_prompt"] == ""


def test_generate_video_rejects_nan_guidance(client):
    with pytest.raises(AppError, match="guidance must be a finite number"):
        client.predict("a ball", 8, 32, 32, 2, "nan", 0, api_name="/generate_video")


def test_generate_video_endpoint_without_ui(client):
    path, enriched, summary = client.predict("two blue balls fall", 8, 32, 48, 2, 1.0, 3, api_name="/generate_video")
    assert os.path.isfile(path) and enriched.lower().startswith("two blue balls fall")
    assert (summary["height"], summary["width"], summary["num_frames"]) == (32, 48, 8)


def test_enrichment_never_adds_a_wall_the_prompt_did_not_ask_for(client):
    enriched, summary = client.predict("a red ball rolls to the left", 8, 32, 32, 2, 1.0, 0,
                                       api_name="/generate_video")[1:]
    assert enriched == TINY_CAPTIONS[1] and "behind" not in enriched
    assert summary["enrichment"] == "nearest training caption"
    assert set(summary["enrichment_added"]) == {"a checkered floor", "a still camera"}


def test_enrichment_never_adds_gravity_to_a_prompt_without_it(client):
    enriched, summary = client.predict("two blue balls", 8, 32, 32, 2, 1.0, 0, api_name="/generate_video")[1:]
    assert enriched == "two blue balls" and summary["enrichment"] == "no agreeing caption"


def test_enrichment_can_be_turned_off(client):
    enriched, summary = client.predict("a red ball", 8, 32, 32, 2, 1.0, 0, False, api_name="/generate_video")[1:]
    assert enriched == "a red ball" and summary["enrich"] is False and summary["enrichment"] == "off"
    assert generate(client, enrich=False)[3] == "a red ball"


@pytest.mark.parametrize("frames, resolution, trained", [(8, "32x32", True), (16, "32x48", True),
                                                         (8, "32x48", False), (8, "48x48", False),
                                                         (4, "32x32", False)])
def test_summary_says_whether_the_size_was_trained(client, frames, resolution, trained):
    assert generate(client, frames=frames, resolution=resolution, steps=1)[4]["trained_setting"] is trained


def test_observed_frames_from_a_scene_come_back_unchanged(client):
    out = generate(client, source="scene", family="gravity", scene_seed=3, k=3)
    obs = iio.imread(client.predict("scene", None, "gravity", "train", 3, 3, 8, "32x32", api_name="/observed_frames"))
    strip = strip_of(out)
    assert out[4]["observed_frames"] == 3
    assert np.array_equal(strip[: obs.shape[0], : obs.shape[1]], obs)  # same layout: the first frames match


@pytest.mark.parametrize("change, message", [
    (dict(prompt="x" * 3000), "prompt is 3000 characters long; at most 2000"),
    (dict(frames=999), "Frames must be a whole number in [1, 64], got 999"),
    (dict(guidance="nan"), "Guidance must be a number in [0, 20], got 'nan'"),
    (dict(guidance=1e9), "Guidance must be a number in [0, 20], got 1000000000.0"),
    (dict(resolution="33x32"), "resolution: height and width must be multiples of 4"),
    (dict(resolution="huge"), "resolution must look like HEIGHTxWIDTH"),
    (dict(steps=0), "Steps must be a whole number in [1, 200], got 0"),
    (dict(steps=2.5), "steps must be a whole number in [1, 200], got 2.5"),
    (dict(source="upload"), "no file is uploaded"),
    (dict(source="i"), "Observed frames from must be one of 'none', 'upload', 'scene', got 'i'"),
    (dict(family="nope", source="scene"), "Scene family must be one of 'inertia'"),
    (dict(k=9, source="scene"), "observed frames: 9 do not fit in a 8-frame video"),
    (dict(seed=-1), "Seed must be a whole number in [0, 2147483647], got -1"),
    (dict(enrich="maybe"), "enrich prompt must be true or false, got 'maybe'"),
])
def test_bad_input_gives_a_clear_error_and_the_server_keeps_serving(client, change, message):
    with pytest.raises(AppError, match=re.escape(message)):
        generate(client, **change)
    assert generate(client, seed=2, steps=1)[4]["seed"] == 2


@pytest.mark.parametrize("name, content, message", [
    ("corrupt.mp4", b"\x00\x01not a video" * 100, "corrupt"),
    ("clip.txt", b"hello", "Clip: Invalid file type"),
    ("pickle.npy", None, "could not decode"),
])
def test_bad_upload_gives_a_clear_error(client, tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:  # an object array: loading it would need pickle, which is refused
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    else:
        path.write_bytes(content)
    with pytest.raises(AppError, match=message):
        generate(client, source="upload", upload=handle_file(str(path)), k=2)
    assert generate(client, seed=2)[4]["seed"] == 2


def test_uploaded_npy_clip_is_resized_and_observed(client, tmp_path):
    clip = np.zeros((5, 16, 16, 3), np.uint8)
    clip[:, 4:8, 4:8] = (230, 40, 40)
    np.save(tmp_path / "clip.npy", clip)
    out = generate(client, source="upload", upload=handle_file(str(tmp_path / "clip.npy")), k=4)
    assert out[4]["observed_frames"] == 4 and out[4]["observed_source"] == "upload"


def test_eight_concurrent_clients_get_what_they_would_get_one_by_one_and_their_own_sessions(app_url,
                                                                                           record_property):
    """Eight clients at once: each video is byte for byte the video of the same request made alone, and each
    session's follow-up (the Latents view of its own run) is its own. The server's peak memory is recorded."""
    import resource

    seeds = list(range(11, 19))
    together = {}

    def work(seed):
        c = Client(app_url, verbose=False)
        frames = strip_of(generate(c, seed=seed))
        latents = iio.imread(c.predict("x0", 1, 2, api_name="/latents")[0])
        together[seed] = (frames, latents)

    threads = [threading.Thread(target=work, args=(s,)) for s in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert sorted(together) == seeds
    alone = Client(app_url, verbose=False)
    for s in seeds:
        frames = strip_of(generate(alone, seed=s))
        latents = iio.imread(alone.predict("x0", 1, 2, api_name="/latents")[0])
        np.testing.assert_array_equal(together[s][0], frames)
        np.testing.assert_array_equal(together[s][1], latents)  # the session held its own run, not another's
    assert len({together[s][0].tobytes() for s in seeds}) == len(seeds)  # eight different videos
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    record_property("server_peak_rss_mb", round(peak_mb, 1))
    print(f"peak resident memory of the test process (server included): {peak_mb:.0f} MB")


def test_attention_endpoint_returns_maps_for_a_clicked_patch(client):
    generate(client, steps=5)  # attention captured at steps 0, 2, 4
    main, heads, roll, arithmetic, info = client.predict("blocks.0.attn", "mean", 2, 3, 10.0, 12.0,
                                                         api_name="/attention")
    assert info["query_token"] == [1, 3, 2] and info["kind"] == "spatial"  # frame 3 -> t'=1; 4-px patches
    assert abs(info["sum_of_row"] - 1) < 1e-2
    assert "softmax" in arithmetic and iio.imread(main).ndim == 3 and iio.imread(roll).ndim == 3
    with pytest.raises(AppError, match="not captured"):
        client.predict("blocks.0.attn", "mean", 1, 3, 10.0, 12.0, api_name="/attention")
    client.predict(1, api_name="/capture_attention")
    info = client.predict("blocks.1.attn", "1", 1, 3, 10.0, 12.0, api_name="/attention")[4]
    assert info["step"] == 1 and info["kind"] == "temporal" and info["head"] == 1


def test_attention_without_a_run_says_what_to_do(client):
    with pytest.raises(AppError, match="Generate a video first"):
        client.predict("blocks.0.attn", "mean", 0, 0, 1.0, 1.0, api_name="/attention")


def test_patches_latents_and_compare_views(client):
    generate(client)
    facts = client.predict(1, 2, 3, api_name="/patches")[1]
    assert facts["token grid (T', h', w')"] == [4, 8, 8] and facts["chosen token index"] == 1 * 64 + 2 * 8 + 3
    traj, at_step, channels, pca, step = client.predict("x0", 2, 3, api_name="/latents")
    grid = iio.imread(traj)[..., :3]
    # rows = the run's 3 steps, columns = its 8 frames (32 px each, 2 px gaps); the chosen step 2 framed in yellow
    assert grid.shape[:2] == (3 * 34 - 2, 8 * 34 - 2) and step["maximum"] == 2
    assert (grid[66:68] == (255, 220, 40)).all() and not (grid[32:34] == (255, 220, 40)).all()
    assert iio.imread(at_step).ndim == 3
    points = json.loads(pca["plot"])["data"][0]  # one point per latent pixel and frame, coloured by its frame
    frames = plotly_array(points["marker"]["color"])
    assert sorted(set(frames.tolist())) == list(range(8)) and len(plotly_array(points["x"])) == len(frames)
    assert (np.bincount(frames) == len(frames) // 8).all()
    video, strip, plot = client.predict("guidance", "1.0", api_name="/compare_runs")
    assert os.path.isfile(video) and iio.imread(strip).ndim == 3


def test_world_sim_simulate_branch_and_extend(client):
    scene = client.predict("inertia", "train", 0, 8, api_name="/random_scene")
    video, plot, report = client.predict(scene, 3, 8, "32x32", 2, 2.0, 0, True, api_name="/simulate")
    assert os.path.isfile(video) and set(report["errors"]) == {b["color"] for b in json.loads(scene)["balls"]}
    assert report["prompt"] == report["caption"]  # the scene's own caption, never swapped by enrichment
    futures, info = client.predict(scene, 3, 8, "32x32", 2, 2.0, 0, True, 2, api_name="/branch")
    assert info["rows"] == ["truth", "seed 0", "seed 1"]
    img = iio.imread(futures)  # three rows of whole 8-frame strips
    assert img.shape[0] < img.shape[1] and img.shape[0] >= 3 * 32
    video, info = client.predict(scene, 3, 8, "32x32", 2, 2.0, 0, True, 4, 4, api_name="/extend")
    assert info["frames"] == 12
    with pytest.raises(AppError, match="not valid JSON"):
        client.predict("{balls:", 3, 8, "32x32", 2, 2.0, 0, True, api_name="/simulate")


def test_probe_run_returns_its_table_and_trials(client):
    table, plot, report, trial = client.predict(["inertia"], ["train"], 1, 4, 2, 2.0, 0, api_name="/run_probes")
    assert table["headers"][:4] == ["probe", "split", "metric", "better"] and "model" in table["headers"]
    assert table["data"] and "# Probe results" in report
    video, info = client.predict("inertia/train/0", "model", api_name="/probe_trial")
    assert os.path.isfile(video) and "model" in info["metrics"]


def test_a_trace_over_its_memory_bound_cuts_itself_down_and_says_so(tiny_pipe):
    from dataclasses import replace

    from playground.pipeline import TraceConfig
    from playground.ui.session import GenSettings, fit_trace

    s = GenSettings("", 8, 32, 32, 5, 1.0, 0)
    shape = (tiny_pipe.vae.config.latent_channels, 8, 32 // tiny_pipe.vae.spatial_compression,
             32 // tiny_pipe.vae.spatial_compression)
    full = TraceConfig(attention_steps=[0, 2, 4])
    need = tiny_pipe.estimate_trace_bytes(full, shape, 5)
    assert fit_trace(tiny_pipe, full, s) == (full, "")
    bound = need // 2
    cfg, note = fit_trace(tiny_pipe, replace(full, max_bytes=bound), s)
    assert tiny_pipe.estimate_trace_bytes(cfg, shape, 5) <= bound
    assert cfg.attention_steps == [4] and "over the" in note and "attention at step 4 only" in note
    out = tiny_pipe("", num_frames=8, height=32, width=32, num_inference_steps=5, guidance_scale=1.0,
                    generator=torch.Generator().manual_seed(0), trace=cfg)
    assert list(out.trace.attention) == [4] and len(out.trace.latents) == 5


def _scene_with(client, edit):
    scene = json.loads(client.predict("inertia", "train", 0, 8, api_name="/random_scene"))
    edit(scene)
    return json.dumps(scene)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["balls"][0].pop("position"), "scene: balls[0] has no 'position'; every ball needs color"),
    (lambda d: d.update(foo=1), "scene: unknown key 'foo'; allowed keys: "),
    (lambda d: d["balls"][0].update(color="pink"), "scene: balls[0].color must be one of red"),
    (lambda d: d["balls"][0].update(velocity=[1, 2]), "scene: balls[0].velocity must be a list of 3 numbers"),
    (lambda d: d["camera"].update(zoom=2), "scene: camera has unknown key 'zoom'; allowed: "),
    (lambda d: d.update(balls=[]), "scene: 'balls' must be a non-empty list"),
])
def test_a_bad_scene_names_the_key_and_what_is_allowed(client, edit, message):
    with pytest.raises(AppError, match=re.escape(message)):
        client.predict(_scene_with(client, edit), 3, 8, "32x32", 2, 2.0, 0, True, api_name="/simulate")


@pytest.mark.parametrize("args, api, message", [
    (("{scene}", 9, 8, "32x32", 2, 2.0, 0, True), "/simulate",
     "observed frames must be a whole number in [1, 7], got 9"),
    (("{scene}", 3, 8, "32x32", 2, 2.0, 0, True, 9), "/branch", "Branches must be a whole number in [1, 6], got 9"),
    (("{scene}", 3, 8, "32x32", 2, 2.0, 0, True, 4, 8), "/extend",
     "context frames (fewer than the 8-frame window) must be a whole number in [1, 7], got 8"),
    (("blocks.0.attn", "i", 0, 0, 1.0, 1.0), "/attention", "Head must be one of 'mean', '0'"),
    (("blocks.0.attn", "mean", 0, 99, 1.0, 1.0), "/attention", "frame (the video has 8) must be a whole number in "
                                                                "[0, 7], got 99"),
    (("x0", 50, 3), "/latents", "step (the run has 2 steps) must be a whole number in [0, 1], got 50"),
    (("x0", 0, 4), "/latents", "PCA dimensions must be one of 2, 3, got 4"),
    ((["inertia"], ["train"], 1, 14, 2, 2.0, 0), "/run_probes", "Observed frames must be a whole number in [1, 13]"),
    ((["nope"], ["train"], 1, 4, 2, 2.0, 0), "/run_probes", "Probes must be one of 'inertia'"),
])
def test_every_tab_names_the_field_of_a_bad_input(client, args, api, message):
    if api in ("/attention", "/latents"):  # these read the session's last run
        generate(client, steps=2)
    if "{scene}" in args:
        scene = client.predict("inertia", "train", 0, 8, api_name="/random_scene")
        args = tuple(scene if a == "{scene}" else a for a in args)
    with pytest.raises(AppError, match=re.escape(message)):
        client.predict(*args, api_name=api)


def test_an_upload_passed_as_a_plain_path_says_how_to_send_it(client, tmp_path):
    np.save(tmp_path / "clip.npy", np.zeros((4, 32, 32, 3), np.uint8))
    with pytest.raises(AppError, match=r"Clip.*handle_file"):
        generate(client, source="upload", upload=str(tmp_path / "clip.npy"), k=2)


def test_an_image_output_already_in_the_cache_is_not_rewritten_while_it_may_be_sent(tmp_path):
    # gradio rewrites a cached image in place each time it is shown; two sessions showing the same picture cut
    # each other's downloads short. The app's cache writes it once, atomically.
    from pathlib import Path

    from gradio import processing_utils as pu
    from PIL import Image

    from playground.ui.app import _atomic_image_cache

    _atomic_image_cache()
    img = Image.fromarray(np.full((8, 8, 3), 200, np.uint8))
    first = pu.save_pil_to_cache(img, str(tmp_path), format="png")
    stamp = os.stat(first).st_mtime_ns
    again = pu.save_pil_to_cache(img, str(tmp_path), format="png")
    assert again == first and os.stat(again).st_mtime_ns == stamp
    assert Path(first).read_bytes() == pu.encode_pil_to_bytes(img, "png")
    assert sorted(p.name for p in Path(first).parent.iterdir()) == ["image.png"]  # no staging file left
