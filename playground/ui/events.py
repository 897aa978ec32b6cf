"""Wiring one action twice: for the page and for the API.

On the page a bad input must not wipe what is on screen (a raised gr.Error marks every output with an "Error"
badge): the page's listener catches the user-facing error, leaves every output as it was and writes the message
into a status line beside the control that caused it. API clients (gradio_client) want an exception instead: a
hidden twin listener runs the same function under the action's `api_name` and raises. An action function returns
(or yields) its outputs followed by one status note ("" for none), which only the page shows."""

from __future__ import annotations

import functools
import inspect

import gradio as gr

from .inputs import user_errors

ERRORS = (ValueError, FileNotFoundError)


def error_note(e: Exception) -> str:
    return f"**Error:** {e}"


def _page_version(fn, n_out: int, clears: dict):
    """fn's outputs (with its page-only ones: `n_out` in all), then the cleared components' values, then the
    status; on error nothing changes but the status."""
    extra = tuple(clears.values())

    def fail(e):
        return (gr.skip(),) * (n_out + len(extra)) + (error_note(e),)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*a, **kw):
            try:
                for out in fn(*a, **kw):
                    yield (*out[:-1], *extra, out[-1])
            except gr.Error as e:
                yield fail(e.message)
            except ERRORS as e:
                yield fail(e)
        return gen

    @functools.wraps(fn)
    def call(*a, **kw):
        try:
            out = fn(*a, **kw)
        except gr.Error as e:
            return fail(e.message)
        except ERRORS as e:
            return fail(e)
        return (*out[:-1], *extra, out[-1])
    return call


def _api_version(fn, n_api: int):
    """fn's first `n_api` outputs (no page-only outputs, no status note), raising gr.Error on user-facing errors."""
    def keep(out):
        return out[0] if n_api == 1 else tuple(out[:n_api])

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*a, **kw):
            for out in fn(*a, **kw):
                yield keep(out)
        return user_errors(gen)

    @functools.wraps(fn)
    def call(*a, **kw):
        return keep(fn(*a, **kw))
    return user_errors(call)


def action(triggers, fn, inputs: list, outputs: list, status: gr.Markdown, api_name: str,
           page_only: list | None = None, clears: dict | None = None, **kw):
    """Wire `fn` to every page trigger (e.g. [button.click, textbox.submit]) with its errors shown in `status`, and
    as the API endpoint `api_name` (a hidden button's listener) that raises them. `fn` returns `outputs`, then
    `page_only` values (views only the page shows), then the status note. `clears` maps components that a success
    makes stale to the value they get then (None to empty them, a note for a status line); the API twin leaves
    them alone. `kw` (concurrency settings) goes to every listener. Returns the page listeners (for `.then`)."""
    clears, page_only = clears or {}, page_only or []
    page = _page_version(fn, len(outputs) + len(page_only), clears)
    # the page listeners get their own (private) names, so that the twin's `api_name` is never taken
    events = [trig(page, inputs, outputs + page_only + list(clears) + [status], api_name=f"{api_name}_page{i}",
                   api_visibility="private", **kw) for i, trig in enumerate(triggers)]
    twin = gr.Button(visible=False, elem_classes=["api-twin"])
    twin.click(_api_version(fn, len(outputs)), inputs, outputs, api_name=api_name, **kw)
    return events
