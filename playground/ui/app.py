"""Assemble the tabs into one Gradio app around one pipeline."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from .inputs import name_input_errors
from .session import AppContext

CSS_PATH = Path(__file__).resolve().parents[2] / "assets" / "app.css"
TITLE = "worldsim-playground"


def _atomic_image_cache() -> None:
    """Make gradio's image cache safe for concurrent sessions.

    gradio (6.x) writes an image output to a cache file named by its content hash with `write_bytes`, in place,
    even when the file is there: two sessions showing the same picture (two players on the same scene and seed,
    eight clients asking the same clip) rewrite one file while it is being sent, and the download comes up short
    ("Too little data for declared Content-Length", a flaky failure of the two-player test). Its file cache
    (`save_file_to_cache`) already writes under a temporary name and renames; this gives images the same: the
    same path and bytes, written once, atomically."""
    import os
    import tempfile

    from gradio import processing_utils as pu

    if getattr(pu.save_pil_to_cache, "_atomic", False):
        return

    def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
        data = pu.encode_pil_to_bytes(img, format)
        folder = Path(cache_dir) / pu.hash_bytes(data)
        folder.mkdir(exist_ok=True, parents=True)
        path = (folder / f"{name}.{format}").resolve()
        if not path.exists():
            fd, staging = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(staging, path)
        return str(path)

    save_pil_to_cache._atomic = True
    pu.save_pil_to_cache = save_pil_to_cache


def build_demo(ctx: AppContext) -> gr.Blocks:
    """The app: one Blocks with a tab per view; every action is also a named API endpoint. Built on the app's
    model thread, and every handler runs there (playground.ui.worker: why)."""
    from .worker import MODEL_THREAD, run_handlers_on_model_thread

    demo = MODEL_THREAD.run(_build, ctx)
    run_handlers_on_model_thread(demo)
    return demo


def _build(ctx: AppContext) -> gr.Blocks:
    _atomic_image_cache()
    tabs = _tab_modules()
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"## {TITLE}\nA spacetime-patch video DiT trained on a procedural physics world "
                    f"(model: `{ctx.model_dir}`). Generate a clip, then look inside it.", elem_id="header")
        result = gr.State(None)
        shared: dict = {}
        with gr.Tabs():
            for name, module in tabs:
                with gr.Tab(name, id=name.lower().replace(" ", "-"), elem_id=f"tab-{name.lower().replace(' ', '-')}") as tab:
                    shared[name] = module.build(ctx, result) or {}
                    shared[name]["tab"] = tab
        for name, module in tabs:
            if hasattr(module, "wire"):
                module.wire(ctx, result, shared)
    name_input_errors(demo)
    demo.queue(default_concurrency_limit=4)
    return demo


TABS = (("Play", "play"), ("Generate", "generate"), ("World Sim", "worldsim"), ("Patches", "patches"),
        ("Attention", "attention"), ("Latents", "latents"), ("Probes", "probes"), ("Inside", "inspect"))


def _tab_modules():
    """Every tab's module (playground.ui.<module>); a tab that fails to import fails the app, loudly."""
    import importlib

    return [(name, importlib.import_module(f"playground.ui.{mod}")) for name, mod in TABS]


def launch_kwargs() -> dict:
    """Gradio 6: theme and css go to launch()."""
    return {"theme": gr.themes.Soft(primary_hue="indigo", neutral_hue="slate"),
            "css": CSS_PATH.read_text() if CSS_PATH.is_file() else None}
