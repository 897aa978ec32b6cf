"""One thread for the app's work: every event handler runs on it, and so does all of the app's torch work.

Why: torch's CPU kernels run on an OpenMP team that belongs to the thread that calls them. gradio calls handlers
from a pool of worker threads, and each thread that runs torch ops gets a team of its own; once there are more
OpenMP threads than cores, GNU OpenMP stops spinning between parallel regions and every one of the DiT's many
small regions waits to be woken. Measured on 2 cores (a Play chunk of the shipped model, 4 steps, median of 16):
76 ms on the thread that loaded the model, 142 ms on a second thread after the first had run torch ops, 72-82 ms
when one thread loads and runs everything. So the app loads its model and builds its tabs on this thread
(`MODEL_THREAD.run`) and `MODEL_THREAD.wrap` moves every handler here (`playground.ui.app.build_demo`).

Handlers run one at a time, in the order they came: on 2 cores two model runs at once only share the cores. A
streaming handler (a Play, a live preview) runs one step per turn, so two players' chunks take turns.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import threading
from concurrent.futures import ThreadPoolExecutor

_DONE = object()


class ModelThread:
    """A single worker thread; `run` calls a function on it (directly when already there), `wrap` makes a
    handler that does."""

    def __init__(self, name: str = "worldsim-model"):
        self._ident: int | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=name, initializer=self._mark)

    def _mark(self) -> None:
        self._ident = threading.get_ident()

    def is_current(self) -> bool:
        return self._ident is not None and threading.get_ident() == self._ident

    def run(self, fn, *args, **kwargs):
        """fn(*args, **kwargs) on this thread, with the caller's context variables (gradio's request, progress);
        its exceptions are raised here."""
        if self.is_current():
            return fn(*args, **kwargs)
        ctx = contextvars.copy_context()
        return self._pool.submit(ctx.run, fn, *args, **kwargs).result()

    def start(self, fn, *args, **kwargs):
        """fn(*args, **kwargs) queued on this thread, with the caller's context variables; returns its Future."""
        return self._pool.submit(contextvars.copy_context().run, fn, *args, **kwargs)

    def wrap(self, fn):
        """`fn` as a handler that runs on this thread: same signature (gradio reads it), a generator stays a
        generator and each of its steps runs here. Coroutines are left as they are (they run on gradio's loop), and
        so are handlers marked `feeds_model_thread` (they hand their torch work to this thread themselves)."""
        if fn is None or getattr(fn, "_on_model_thread", False) or getattr(fn, "_feeds_model_thread", False) \
                or inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
            return fn
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def handler(*args, **kwargs):
                it = self.run(fn, *args, **kwargs)
                try:
                    while True:
                        value = self.run(next, it, _DONE)
                        if value is _DONE:
                            return
                        yield value
                finally:
                    self.run(it.close)
        else:
            @functools.wraps(fn)
            def handler(*args, **kwargs):
                return self.run(fn, *args, **kwargs)
        handler._on_model_thread = True
        return handler


MODEL_THREAD = ModelThread()


def feeds_model_thread(fn):
    """Mark a handler that queues its torch work on MODEL_THREAD itself and waits for it where gradio runs it (a
    stream of live previews: the sampling runs on the model thread while the handler passes on what it reports);
    `wrap` leaves it as it is, since running it on the model thread too would wait on itself."""
    fn._feeds_model_thread = True
    return fn


def run_handlers_on_model_thread(demo) -> None:
    """Move every event handler of a built gr.Blocks onto MODEL_THREAD."""
    for block_fn in demo.fns.values():
        block_fn.fn = MODEL_THREAD.wrap(block_fn.fn)
