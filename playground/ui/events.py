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

from .inputs import error_message, user_errors


def error_note(e: Exception) -> str:
    return f"**Error:** {e}"


STALE = "*New scene or run: the result here was cleared (it belonged to the previous one).*"


def _page_version(fn, n_in: int, n_out: int, stale: list):
    """fn's outputs (with its page-only ones: `n_out` in all), then for each stale group its components and status
    (emptied and marked when the group's probe input held a result, else untouched), then the status; on error
    nothing changes but the status. The last len(stale) inputs are the groups' probes, not fn's."""
    def fail(e):
        return (gr.skip(),) * (n_out + sum(len(c) + 1 for c, _, _ in stale)) + (error_note(e),)

    def cleared(probes):
        out = []
        for (comps, _, _), value in zip(stale, probes):
            had = value not in (None, "", [], {})
            out += [None if had else gr.skip() for _ in comps] + [STALE if had else gr.skip()]
        return tuple(out)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*a, **kw):
            args, probes = a[:n_in], a[n_in:]
            try:
                for out in fn(*args, **kw):
                    yield (*out[:-1], *cleared(probes), out[-1])
            except Exception as e:
                yield fail(error_message(e))
        del gen.__wrapped__  # it takes the stale groups' probes too: gradio must not count fn's parameters
        return gen

    @functools.wraps(fn)
    def call(*a, **kw):
        args, probes = a[:n_in], a[n_in:]
        try:
            out = fn(*args, **kw)
        except Exception as e:
            return fail(error_message(e))
        return (*out[:-1], *cleared(probes), out[-1])
    del call.__wrapped__  # see gen
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
           page_only: list | None = None, stale: list | None = None, **kw):
    """Wire `fn` to every page trigger (e.g. [button.click, textbox.submit]) with its errors shown in `status`, and
    as the API endpoint `api_name` (a hidden button's listener) that raises them. `fn` returns `outputs`, then
    `page_only` values (views only the page shows), then the status note. `stale` lists the results a success
    makes stale, as groups (components, their status line, a probe component that is empty until the group has a
    result): a group that holds a result is emptied and its status says so; the API twin leaves them alone. `kw`
    (concurrency settings) goes to every listener. Returns the page listeners (for `.then`)."""
    stale, page_only = stale or [], page_only or []
    page = _page_version(fn, len(inputs), len(outputs) + len(page_only), stale)
    page_in = inputs + [probe for _, _, probe in stale]
    page_out = outputs + page_only + [c for comps, st, _ in stale for c in (*comps, st)] + [status]
    # the page listeners get their own (private) names, so that the twin's `api_name` is never taken
    events = [trig(page, page_in, page_out, api_name=f"{api_name}_page{i}", api_visibility="private", **kw)
              for i, trig in enumerate(triggers)]
    twin = gr.Button(visible=False, elem_classes=["api-twin"])
    twin.click(_api_version(fn, len(outputs)), inputs, outputs, api_name=api_name, **kw)
    return events


def quiet(fn, n_out: int):
    """`fn` for a private follow-up listener (after a click) with `n_out` outputs, the last its status line: a
    user error becomes the status note and nothing else on the page changes."""
    @functools.wraps(fn)
    def call(*a):
        try:
            return fn(*a)
        except Exception as e:
            return (gr.skip(),) * (n_out - 1) + (error_note(error_message(e)),)
    return call
