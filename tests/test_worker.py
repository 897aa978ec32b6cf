"""The app's model thread (playground.ui.worker): every handler runs on one thread, as itself."""

import contextvars
import inspect
import threading

import pytest

from playground.ui.worker import MODEL_THREAD, ModelThread

VAR = contextvars.ContextVar("VAR", default="unset")


def test_a_wrapped_handler_runs_on_the_one_thread_with_the_callers_context_and_errors():
    mt = ModelThread()

    def handler(a, b=1):
        return threading.get_ident(), VAR.get(), a + b

    def failing():
        raise ValueError("a clear message")

    wrapped = mt.wrap(handler)
    assert inspect.signature(wrapped) == inspect.signature(handler)  # gradio reads the signature
    VAR.set("the caller's")
    seen = set()
    for _ in range(3):
        t = threading.Thread(target=lambda: seen.add(wrapped(1, b=2)))  # gradio calls from many threads
        t.start()
        t.join()
    ident, var, total = wrapped(1, b=2)
    assert seen == {(ident, "unset", 3)} and var == "the caller's" and total == 3  # one thread; context as called
    assert ident != threading.get_ident()
    with pytest.raises(ValueError, match="a clear message"):
        mt.wrap(failing)()
    assert mt.run(lambda: mt.run(lambda: 7)) == 7  # a call from the thread itself runs at once (no deadlock)


def test_a_wrapped_generator_stays_a_generator_each_step_on_the_thread():
    mt = ModelThread()
    closed = []

    def stream(n):
        try:
            for i in range(n):
                yield i, threading.get_ident()
        finally:
            closed.append(threading.get_ident())

    wrapped = mt.wrap(stream)
    assert inspect.isgeneratorfunction(wrapped)
    out = list(wrapped(3))
    assert [i for i, _ in out] == [0, 1, 2] and len({t for _, t in out}) == 1
    it = wrapped(10)
    next(it)
    it.close()  # gradio closes a cancelled stream: the handler's own generator is closed, on the thread
    assert closed == [out[0][1]] * 2
    assert mt.wrap(wrapped) is wrapped and mt.wrap(None) is None


def test_the_app_builds_and_runs_every_handler_on_the_model_thread(tmp_path, text_encoder):
    from tiny import build_tiny_model_dir

    from playground.ui.app import build_demo
    from playground.ui.session import AppContext

    ctx = AppContext.load(str(build_tiny_model_dir(tmp_path, text_encoder, next_chunk=True)))
    demo = build_demo(ctx)
    fns = [bf.fn for bf in demo.fns.values() if bf.fn is not None]
    feeds = [fn for fn in fns if getattr(fn, "_feeds_model_thread", False)]  # Generate's live previews
    assert fns and feeds and all(getattr(fn, "_on_model_thread", False) or inspect.iscoroutinefunction(fn)
                                 for fn in fns if fn not in feeds)
    assert MODEL_THREAD.run(lambda: MODEL_THREAD.is_current())


def test_a_streamed_generation_samples_on_the_model_thread(tmp_path, text_encoder, monkeypatch):
    """Generate's live previews: the sampling (all its torch work) runs on the model thread, the handler that
    streams them where gradio calls it."""
    from tiny import build_tiny_model_dir

    from playground.ui import session
    from playground.ui.session import AppContext, GenSettings

    ctx = AppContext.load(str(build_tiny_model_dir(tmp_path, text_encoder, next_chunk=True)))
    where = []
    plain = session.sample

    def sample(*a, **k):
        where.append(MODEL_THREAD.is_current())
        return plain(*a, **k)

    monkeypatch.setattr(session, "sample", sample)
    s = GenSettings("a red ball", 6, 32, 32, 2, 1.0, 0, None, "none", False).checked(ctx.pipe)
    items = list(session.stream(ctx, s))
    assert items[-1][0] == "done" and where == [True]
