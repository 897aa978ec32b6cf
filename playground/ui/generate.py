"""Generate tab: prompt (shown enriched), optional observed frames (an upload or a simulated scene), size,
steps, guidance and seed; streams each step's x0 prediction while sampling; ends with an H.264 video and a
frame strip, and keeps the run (with its trace) in the session for the other tabs."""

from __future__ import annotations

import numpy as np
import gradio as gr

from ..pipeline import LIMITS
from ..viz.frames import frame_strip
from ..world import FAMILIES, SPLITS, make_clip, sample_scene
from .inputs import FRAME_PRESETS, RESOLUTION_PRESETS, as_int, load_clip, parse_resolution, user_errors
from .session import MODEL, AppContext, GenSettings, finish, sample, stream

OBSERVED_SOURCES = ("none", "upload", "scene")


def observed_frames(ctx: AppContext, source: str, upload, family: str, split: str, scene_seed, k, num_frames: int,
                    height: int, width: int) -> tuple[np.ndarray | None, str]:
    """The observed frames the settings ask for: none, the first k of an upload, or of a simulated scene."""
    if source == "none" or source is None:
        return None, "none"
    k = as_int("observed frames", k, 1, LIMITS["frames"][1])
    if k > num_frames:
        raise ValueError(f"{k} observed frames do not fit in a {num_frames}-frame video")
    if source == "upload":
        if upload is None:
            raise ValueError("observed frames: 'upload' is chosen but no file is uploaded; upload an mp4, gif or "
                             "npy clip, or choose 'none' or 'scene'")
        frames = load_clip(upload, height, width)
        if frames.shape[0] < k:
            raise ValueError(f"the upload has {frames.shape[0]} frames; {k} observed frames were asked for")
        return frames[:k], "upload"
    if source == "scene":
        if family not in FAMILIES or split not in SPLITS:
            raise ValueError(f"scene family must be one of {', '.join(FAMILIES)} and split one of {', '.join(SPLITS)}")
        seed = as_int("scene seed", scene_seed, 0, 2**31 - 1)
        clip = make_clip(sample_scene(family, split, np.random.default_rng(seed), num_frames), height, width)
        return clip.frames[:k], f"scene {family}/{split} seed {seed}"
    raise ValueError(f"observed frames source must be one of {', '.join(OBSERVED_SOURCES)}, got {source!r}")


def settings_from_ui(ctx, prompt, source, upload, family, split, scene_seed, k, frames, resolution, steps,
                     guidance, seed) -> GenSettings:
    h, w = parse_resolution(resolution, ctx.pipe.spatial_factor)
    n = as_int("frames", frames, *LIMITS["frames"])
    obs, src = observed_frames(ctx, source, upload, family, split, scene_seed, k, n, h, w)
    return GenSettings(prompt, n, h, w, steps, guidance, seed, obs, src).checked(ctx.pipe)


def build(ctx: AppContext, result: gr.State) -> dict:
    d = ctx.pipe.defaults
    with gr.Row():
        with gr.Column(scale=2):
            prompt = gr.Textbox(label="Prompt", placeholder="e.g. a red ball bounces (empty = unconditional)",
                                lines=2, max_length=None, elem_id="gen-prompt")
            enriched = gr.Textbox(label="Enriched prompt (what conditions the model)", interactive=False,
                                  elem_id="gen-enriched")
            with gr.Accordion("Observed frames (image-to-video / continuation)", open=False):
                source = gr.Radio(list(OBSERVED_SOURCES), value="none", label="Observed frames from")
                upload = gr.File(label="Clip (mp4, gif, npy uint8 (T, H, W, 3)); resized nearest to the video size",
                                 file_types=[".mp4", ".gif", ".npy", ".webm", ".avi", ".mov"], type="filepath")
                with gr.Row():
                    family = gr.Dropdown(list(FAMILIES), value="inertia", label="Scene family")
                    split = gr.Dropdown(list(SPLITS), value="train", label="Ranges")
                    scene_seed = gr.Number(value=0, precision=0, label="Scene seed")
                k = gr.Slider(1, 32, value=4, step=1, label="Observed frames (k)")
                observed_img = gr.Image(label="Observed frames", format="png", interactive=False)
                show_obs = gr.Button("Show observed frames", size="sm")
            with gr.Row():
                frames = gr.Slider(1, LIMITS["frames"][1], value=d["frames"], step=1,
                                   label=f"Frames (presets {', '.join(map(str, FRAME_PRESETS))})")
                resolution = gr.Dropdown(list(RESOLUTION_PRESETS), value=f"{d['height']}x{d['width']}",
                                         allow_custom_value=True, label="Resolution (HxW)")
            with gr.Row():
                steps = gr.Slider(1, 100, value=20, step=1, label="Steps")
                guidance = gr.Slider(0.0, LIMITS["guidance"][1], value=2.0, step=0.1, label="Guidance (1 = off)")
                seed = gr.Number(value=0, precision=0, label="Seed")
            go = gr.Button("Generate", variant="primary", elem_id="gen-button")
        with gr.Column(scale=3):
            preview = gr.Image(label="Live: x0 prediction at each step", format="png", interactive=False,
                               elem_id="gen-preview")
            video = gr.Video(label="Result", autoplay=True, loop=True, elem_id="gen-video", interactive=False,
                             height=320)
            strip = gr.Image(label="Frames", format="png", interactive=False, elem_id="gen-strip")
            summary = gr.JSON(label="Run summary")

    @user_errors
    def run(prompt, source, upload, family, split, scene_seed, k, frames, resolution, steps, guidance, seed):
        s = settings_from_ui(ctx, prompt, source, upload, family, split, scene_seed, k, frames, resolution, steps,
                             guidance, seed)
        skip, last = gr.skip(), None
        for item in stream(ctx, s):
            if item[0] == "preview":
                last = item[3]
                yield last, skip, skip, skip, skip, skip
            else:
                r = finish(ctx, item[1])
                yield (last, r.video_path, frame_strip(r.frames), r.enriched.text or "(no text: unconditional)",
                       r.summary(), r)

    inputs = [prompt, source, upload, family, split, scene_seed, k, frames, resolution, steps, guidance, seed]
    go.click(run, inputs, [preview, video, strip, enriched, summary, result], api_name="generate",
             concurrency_id=MODEL, concurrency_limit=ctx.concurrency_limit)
    prompt.submit(run, inputs, [preview, video, strip, enriched, summary, result], api_visibility="private",
                  concurrency_id=MODEL, concurrency_limit=ctx.concurrency_limit)

    @user_errors
    def show_observed(source, upload, family, split, scene_seed, k, frames, resolution):
        h, w = parse_resolution(resolution, ctx.pipe.spatial_factor)
        n = as_int("frames", frames, *LIMITS["frames"])
        obs, _ = observed_frames(ctx, source, upload, family, split, scene_seed, k, n, h, w)
        if obs is None:
            raise gr.Error("choose 'upload' or 'scene' to observe frames")
        return frame_strip(obs)

    show_obs.click(show_observed, [source, upload, family, split, scene_seed, k, frames, resolution], observed_img,
                   api_name="observed_frames")

    @user_errors
    def generate_video(prompt: str = "", num_frames: int = 16, height: int = 32, width: int = 32, steps: int = 20,
                       guidance: float = 2.0, seed: int = 0) -> tuple[str, str, dict]:
        """Sample one video without the UI. Returns (mp4 path on the server, enriched prompt, run summary)."""
        s = GenSettings(prompt, num_frames, height, width, steps, guidance, seed).checked(ctx.pipe)
        r = finish(ctx, sample(ctx, s))
        return r.video_path, r.enriched.text, r.summary()

    gr.api(generate_video, api_name="generate_video", concurrency_id=MODEL, concurrency_limit=ctx.concurrency_limit)
    return {"video": video, "summary": summary}
