"""Assemble the tabs into one Gradio app around one pipeline."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from .inputs import name_input_errors
from .session import AppContext

CSS_PATH = Path(__file__).resolve().parents[2] / "assets" / "app.css"
TITLE = "worldsim-playground"


def build_demo(ctx: AppContext) -> gr.Blocks:
    """The app: one Blocks with a tab per view; every action is also a named API endpoint."""
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
