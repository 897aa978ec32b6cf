"""Generate tab: prompt (shown enriched), optional observed frames (an upload or a simulated scene), size,
steps, guidance and seed; streams each step's x0 prediction while sampling; ends with an H.264 video and a
frame strip, and keeps the run (with its trace) in the session for the other tabs."""

from __future__ import annotations

import numpy as np
import gradio as gr

import re

from ..captioner import describe_video, load_captioner
from ..enrich import EnrichedPrompt
from ..pipeline import LIMITS
from ..viz.frames import frame_strip
from ..world import FAMILIES, SPLITS, make_clip, sample_scene
from .events import action
from .inputs import RESOLUTION_PRESETS, as_int, load_clip, parse_resolution, user_errors
from .session import MODEL, AppContext, GenResult, GenSettings, finish, sample, stream
from .worker import feeds_model_thread

OBSERVED_SOURCES = ("none", "upload", "scene")
PREVIEW_EVERY = 0.15  # seconds between live previews at most (decoding and sending every step's tripled the run)
ADDED = "added by enrichment"
YOURS = "your words"
NEUTRAL = {"a", "an", "the", "on", "of", "and", "is", "to", "with", "in", "it", "its", "does", "not"}


def enrichment_spans(e: EnrichedPrompt) -> list[tuple[str, str | None]]:
    """The conditioning text cut into words, each labelled as the user's, added by enrichment, or neither (small
    function words): what the page highlights so that what enrichment added stands apart."""
    if not e.text:
        return [("(no text: unconditional)", None)]
    mine = set(re.findall(r"[a-z]+|\d+", e.prompt.lower()))
    spans = []
    for tok in re.findall(r"\S+\s*", e.text):
        w = re.sub(r"[^a-z0-9]", "", tok.lower())
        label = None if not w or w in NEUTRAL else YOURS if w in mine else ADDED
        spans.append((tok, label))
    return spans


def enrichment_note(e: EnrichedPrompt, enrich: bool) -> str:
    """One line: what enrichment did to the prompt."""
    if not e.prompt.strip():
        return "Empty prompt: unconditional text."
    if not enrich:
        return "Enrichment off: the prompt conditions the model as typed."
    if e.source == "nearest training caption":
        return ("Enrichment (the nearest training caption that says what you said) added: "
                f"{', '.join(e.added) or 'nothing'}.")
    if e.source == "worded by the caption grammar":
        return f"Enrichment (your prompt worded by the caption grammar) added: {', '.join(e.added) or 'nothing'}."
    if e.source == "no agreeing caption":
        return ("Enrichment found no training caption that says exactly what you said (and the grammar could not "
                "word it without inventing): the prompt is used as typed.")
    return "The prompt already reads like a training caption: used as typed."


def summary_of(ctx: AppContext, r: GenResult) -> dict:
    """The run summary with whether its size is one the model was trained on."""
    s = r.settings
    return {**r.summary(), "trained_setting": ctx.trained.is_trained(s.num_frames, s.height, s.width)}


def run_note(ctx: AppContext, r: GenResult) -> str:
    """The status line after a run: time, enrichment, whether the size was trained, how the trace was cut."""
    s = r.settings
    lines = [f"Done in {r.seconds:.2f} s. {enrichment_note(r.enriched, s.enrich)}"]
    if not ctx.trained.is_trained(s.num_frames, s.height, s.width):
        lines.append(ctx.trained.note(s.num_frames, s.height, s.width))
    if r.trace_note:
        lines.append(f"Trace: {r.trace_note}.")
    return "  \n".join(lines)


def observed_frames(ctx: AppContext, source: str, upload, family: str, split: str, scene_seed, k, num_frames: int,
                    height: int, width: int) -> tuple[np.ndarray | None, str]:
    """The observed frames the settings ask for: none, the first k of an upload, or of a simulated scene."""
    if source == "none" or source is None:
        return None, "none"
    k = as_int("observed frames", k, 1, LIMITS["frames"][1])
    if k > num_frames:
        raise ValueError(f"observed frames: {k} do not fit in a {num_frames}-frame video; observe fewer frames or "
                         "generate more")
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
                     guidance, seed, enrich=True) -> GenSettings:
    h, w = parse_resolution(resolution, ctx.pipe.spatial_factor)
    n = as_int("frames", frames, *LIMITS["frames"])
    obs, src = observed_frames(ctx, source, upload, family, split, scene_seed, k, n, h, w)
    return GenSettings(prompt, n, h, w, steps, guidance, seed, obs, src, enrich).checked(ctx.pipe)


def size_note(ctx: AppContext, frames, resolution) -> str:
    """The label under the size controls: trained or untrained (or what is wrong with the size)."""
    try:
        h, w = parse_resolution(resolution, ctx.pipe.spatial_factor)
        n = as_int("frames", frames, *LIMITS["frames"])
    except ValueError as e:
        return f"**Error:** {e}"
    return ctx.trained.note(n, h, w)


def build(ctx: AppContext, result: gr.State) -> dict:
    d = ctx.pipe.defaults
    trained = ctx.trained
    res_choices = trained.resolution_choices(RESOLUTION_PRESETS)
    with gr.Row():
        with gr.Column(scale=2):
            prompt = gr.Textbox(label="Prompt (Enter generates)", placeholder="e.g. a red ball rolls to the left "
                                "(empty = unconditional)", lines=1, max_lines=4, max_length=None, elem_id="gen-prompt")
            enrich = gr.Checkbox(value=True, label="Enrich the prompt (fill in what it leaves open - floor, camera, "
                                 "speed - in the training caption style; never adds objects or events)",
                                 elem_id="gen-enrich")
            enriched = gr.Textbox(label="Prompt that conditions the model", interactive=False, elem_id="gen-enriched")
            captioner = load_captioner(ctx.model_dir)  # None when the model folder has no captioner/
            seen = gr.Textbox(label="What the captioner sees in the result (the learned captioner's caption of the "
                              "video)", interactive=False, visible=captioner is not None, elem_id="gen-captioner")
            spans = gr.HighlightedText(label="Your words and what enrichment added", combine_adjacent=True,
                                       show_legend=True, color_map={YOURS: "green", ADDED: "orange"},
                                       elem_id="gen-spans")
            with gr.Accordion("Observed frames (image-to-video / continuation)", open=False):
                source = gr.Radio(list(OBSERVED_SOURCES), value="none", label="Observed frames from")
                upload = gr.File(label="Clip (mp4, gif, npy uint8 (T, H, W, 3)); resized nearest to the video size",
                                 file_types=[".mp4", ".gif", ".npy", ".webm", ".avi", ".mov"], type="filepath")
                with gr.Row():
                    family = gr.Dropdown(list(FAMILIES), value="inertia", label="Scene family")
                    split = gr.Dropdown(list(SPLITS), value="train", label="Ranges")
                    scene_seed = gr.Number(value=0, precision=0, label="Scene seed", minimum=0, maximum=2**31 - 1)
                k = gr.Slider(1, LIMITS["frames"][1], value=4, step=1, label="Observed frames (k)")
                observed_img = gr.Image(label="Observed frames", format="png", interactive=False)
                show_obs = gr.Button("Show observed frames", size="sm")
                obs_status = gr.Markdown("", elem_id="gen-obs-status")
            with gr.Row():
                frames = gr.Slider(1, LIMITS["frames"][1], value=d["frames"], step=1, elem_id="gen-frames",
                                   label=f"Frames (trained: {', '.join(map(str, trained.durations()))})")
                resolution = gr.Dropdown(res_choices, value=f"{d['height']}x{d['width']}", allow_custom_value=True,
                                         label="Resolution (HxW; any multiple of "
                                         f"{ctx.pipe.spatial_factor})", elem_id="gen-resolution")
            size_md = gr.Markdown(size_note(ctx, d["frames"], f"{d['height']}x{d['width']}"), elem_id="gen-size-note")
            with gr.Row():
                steps = gr.Slider(1, LIMITS["steps"][1], value=ctx.pipe.default_steps, step=1, label="Steps")
                guidance = gr.Slider(0.0, LIMITS["guidance"][1], value=2.0, step=0.1, label="Guidance (1 = off)")
            seed = gr.Number(value=0, precision=0, label="Seed", minimum=0, maximum=2**31 - 1)
            go = gr.Button("Generate", variant="primary", elem_id="gen-button")
            status = gr.Markdown("", elem_id="gen-status")
        with gr.Column(scale=3):
            gr.Markdown("**Live**: the x0 prediction (the clean clip the model expects) at each step")
            preview = gr.Image(show_label=False, format="png", interactive=False, elem_id="gen-preview")
            video = gr.Video(label="Result", autoplay=True, loop=True, elem_id="gen-video", interactive=False,
                             height=320)
            gr.Markdown("**Frames** of the result")
            strip = gr.Image(show_label=False, format="png", interactive=False, elem_id="gen-strip")
            summary = gr.JSON(label="Run summary")

    for ctl in (frames, resolution):
        ctl.change(lambda n, r: size_note(ctx, n, r), [frames, resolution], size_md, api_visibility="private",
                   queue=False)

    @feeds_model_thread  # its sampling runs on the model thread while it streams the previews
    def run(prompt, source, upload, family, split, scene_seed, k, frames, resolution, steps, guidance, seed,
            enrich=True):
        s = settings_from_ui(ctx, prompt, source, upload, family, split, scene_seed, k, frames, resolution, steps,
                             guidance, seed, enrich)
        skip, last = gr.skip(), None
        for item in stream(ctx, s, preview_every=PREVIEW_EVERY):
            if item[0] == "preview":
                last = item[3]
                yield last, skip, skip, skip, skip, skip, skip, f"Sampling: step {item[1] + 1} of {item[2]}..."
            else:
                r = finish(ctx, item[1])
                yield (last, r.video_path, frame_strip(r.frames), r.enriched.text or "(no text: unconditional)",
                       summary_of(ctx, r), r, enrichment_spans(r.enriched), run_note(ctx, r))

    inputs = [prompt, source, upload, family, split, scene_seed, k, frames, resolution, steps, guidance, seed, enrich]
    gen_events = action([go.click, prompt.submit], run, inputs, [preview, video, strip, enriched, summary, result],
                        status, "generate", page_only=[spans], concurrency_id=MODEL,
                        concurrency_limit=ctx.concurrency_limit)
    if captioner is not None:
        for ev in gen_events:
            ev.then(lambda r: describe_video(captioner, r.frames)[0] if r is not None else "", [result], seen,
                    api_visibility="private", queue=False)

    def show_observed(source, upload, family, split, scene_seed, k, frames, resolution):
        h, w = parse_resolution(resolution, ctx.pipe.spatial_factor)
        n = as_int("frames", frames, *LIMITS["frames"])
        obs, _ = observed_frames(ctx, source, upload, family, split, scene_seed, k, n, h, w)
        if obs is None:
            raise ValueError("observed frames from: choose 'upload' or 'scene' to observe frames")
        return frame_strip(obs), ""

    action([show_obs.click], show_observed, [source, upload, family, split, scene_seed, k, frames, resolution],
           [observed_img], obs_status, "observed_frames")

    @user_errors
    def generate_video(prompt: str = "", num_frames: int = 16, height: int = 32, width: int = 32,
                       steps: int | None = None, guidance: float = 2.0, seed: int = 0,
                       enrich_prompt: bool = True) -> tuple[str, str, dict]:
        """Sample one video without the UI (steps: default the model's own). Returns (mp4 path on the server,
        enriched prompt, run summary)."""
        steps = ctx.pipe.default_steps if steps is None else steps
        s = GenSettings(prompt, num_frames, height, width, steps, guidance, seed,
                        enrich=enrich_prompt).checked(ctx.pipe)
        r = finish(ctx, sample(ctx, s))
        return r.video_path, r.enriched.text, summary_of(ctx, r)

    gr.api(generate_video, api_name="generate_video", concurrency_id=MODEL, concurrency_limit=ctx.concurrency_limit)
    return {"video": video, "summary": summary}
