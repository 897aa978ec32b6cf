"""Time the app through its API: click -> first live preview, and click -> finished video (Generate); and the
Play tab's live rollout: model frames per second while playing, and click (a kick, then Step) -> first new frame.

    python bench/bench_app.py [--model models/worldsim-s] [--repeats 5] [--steps 4] [--url http://127.0.0.1:7860/]
                              [--play-chunks 16] [--compile off|on|both]

--compile on serves `python app.py --compile` (the DiT torch.compile'd and warmed on a Play game before serving);
both times an eager app, then a compiled one, and prints the ratios of their Play numbers.

Uses the shipped model when it exists, otherwise a tiny random model (numbers then say little). Starts the app as
a user does, `python app.py`, in a process of its own, unless --url points at a running one; the client here only
reads the results (it does not download the pictures, as a browser would, in its own process: downloading them
here, on the same 2 cores, cost more than the model). Run it on an idle machine: timings taken while something
else uses the cores mean nothing.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from playground.paths import DEFAULT_MODEL_DIR  # noqa: E402

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(DEFAULT_MODEL_DIR))
    ap.add_argument("--url", default=None, help="a running app (default: start app.py in a process of its own)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=4,
                    help="denoising steps (per chunk for a next-chunk model; the shipped model samples with 4)")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--play-chunks", type=int, default=16, help="chunks per timed Play (0: skip the Play timing)")
    ap.add_argument("--play-steps", type=int, default=4, help="denoising steps per chunk while playing")
    ap.add_argument("--precision", choices=("fp32", "bf16", "auto"), default="auto",
                    help="the served model's CPU precision, as app.py takes it (default: auto, as app.py)")
    ap.add_argument("--play-guidance", type=float, default=None,
                    help="guidance while playing (default: the Play tab's, playground.play.PLAY_GUIDANCE)")
    ap.add_argument("--compile", choices=("off", "on", "both"), default="off",
                    help="serve app.py --compile (on), or time both apps one after the other (both)")
    args = ap.parse_args()

    model = args.model
    if args.url is None and not (Path(model) / "model_index.json").is_file():
        from tiny import build_tiny_model_dir

        from playground.pipeline import shared_text_encoder

        model = build_tiny_model_dir(Path(tempfile.mkdtemp(prefix="bench-tiny-")), shared_text_encoder())
        print(f"no model at {args.model}: timing a tiny random model instead")
    modes = [False, True] if args.compile == "both" else [args.compile == "on"]
    got = {}
    for compiled in modes:
        with (nullcontext(args.url) if args.url else app_process(model, args.precision, compiled)) as url:
            got[compiled] = run(url, args)
    if len(got) == 2 and got[False] and got[True]:
        e, c = got[False], got[True]
        print("compiled / eager, medians of this run: Play frames per second "
              f"{c['fps'] / e['fps']:.2f}x; Play -> first chunk {c['first'] / e['first']:.2f}x the time; "
              f"kick + one chunk {c['kick'] / e['kick']:.2f}x the time")


@contextmanager
def app_process(model: str, precision: str, compiled: bool = False):
    """`python app.py` on a free port, until the block ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, str(ROOT / "app.py"), "--model", str(model), "--port", str(port), "--precision", precision]
    cmd += ["--compile"] if compiled else []
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 300
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"app.py exited ({proc.returncode}):\n{proc.stdout.read()}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("app.py did not answer within 300 s")
                time.sleep(0.5)
        print(f"model: {model} (app.py --precision {precision}{' --compile' if compiled else ''}, its own process)")
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def run(url: str, args) -> dict:
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False)
    gen = dict(prompt="a red ball rolls to the right", source="none", upload=None, family="inertia", split="train",
               scene_seed=0, k=4, frames=args.frames, resolution="32x32", steps=args.steps, guidance=2.0, seed=0)
    client.predict(*gen.values(), api_name="/generate")  # warm-up: text encoder, first-call costs

    first, total, direct = [], [], []
    for i in range(args.repeats):
        gen["seed"] = i
        t_first, t_total, _ = timed_stream(client, *gen.values(), api_name="/generate")
        first.append(t_first)
        total.append(t_total)
        t0 = time.perf_counter()
        client.predict("a red ball rolls to the right", args.frames, 32, 32, args.steps, 2.0, i,
                       api_name="/generate_video")
        direct.append(time.perf_counter() - t0)

    print(f"{args.frames} frames 32x32, {args.steps} steps, guidance 2.0, {args.repeats} runs (median [min, max]):")
    print(f"  click -> first preview (UI endpoint /generate): {spread(first)} s")
    print(f"  click -> finished video (/generate):            {spread(total)} s")
    print(f"  /generate_video (no previews):                  {spread(direct)} s")
    return play_timing(client, args) if args.play_chunks else {}


def spread(v: list[float], fmt: str = ".3f") -> str:
    """'median [min, max]' of the timings."""
    return f"{statistics.median(v):{fmt}} [{min(v):{fmt}}, {max(v):{fmt}}]"


def timed_stream(client, *args, api_name: str):
    """Submit a streaming endpoint; (seconds to its first streamed output, seconds to the end, the result)."""
    t0 = time.perf_counter()
    job = client.submit(*args, api_name=api_name)
    t_first = None
    while not job.done():
        if t_first is None and job.outputs():  # the first streamed output has arrived
            t_first = time.perf_counter() - t0
        time.sleep(0.002)
    out = job.result()
    total = time.perf_counter() - t0
    return (total if t_first is None else t_first), total, out


def play_timing(client, args) -> dict:
    """Play: a game of the inertia scene (seed 0, 4 observed frames, --play-steps steps per chunk, --play-guidance),
    `--play-chunks` chunks per /play_step, `--repeats` times; then a kick and one chunk after it; then a kick
    given while a Play streams."""
    from playground.play import PLAY_GUIDANCE

    guidance = PLAY_GUIDANCE if args.play_guidance is None else args.play_guidance
    scene = client.predict("inertia", 0, api_name="/play_scene")[0]
    start = (scene, 4, 0, args.play_steps, guidance, False, False, "static")
    client.predict(*start, api_name="/play_start")
    client.predict(1, api_name="/play_step")  # warm-up
    rates, firsts, kicks = [], [], []
    for i in range(args.repeats):
        client.predict(*start, api_name="/play_start")
        t_first, dt, out = timed_stream(client, args.play_chunks, api_name="/play_step")
        rates.append((out[3]["frames"] - 4) / dt)
        firsts.append(t_first)
        t0 = time.perf_counter()
        client.predict(16.0, 16.0, 0.0, 1.0, api_name="/play_kick")  # wherever it lands: kick, or a clear no-op
        client.predict(api_name="/play_step_one")
        kicks.append(time.perf_counter() - t0)
    print(f"Play at 32x32, {args.play_steps} steps per chunk, guidance {guidance}, {args.play_chunks} chunks per Play, "
          f"{args.repeats} runs (median [min, max]):")
    print(f"  model frames per second while playing: {spread(rates, '.1f')}")
    print(f"  Play -> first streamed chunk:         {spread(firsts)} s")
    print(f"  kick + one chunk (click -> new frame): {spread(kicks)} s")
    live = [live_kick(client, args.play_steps, guidance, args.play_chunks) for _ in range(args.repeats)]
    print(f"  kick while playing -> first frame after it: {spread(live)} s")
    return {"fps": statistics.median(rates), "first": statistics.median(firsts), "kick": statistics.median(kicks)}


def live_kick(client, steps: int, guidance: float, chunks: int) -> float:
    """A Play of one ball at rest in the middle of the floor; once two chunks have streamed, the ball is kicked
    (as a click on it in the truth view would); seconds from the kick to the first streamed frame that has it."""
    from playground import play
    from playground.ui.play import scene_json
    from playground.world import Scene
    from playground.world.actions import kick_to_pixel
    from playground.world.scene import Kick

    scene = play.place_ball(Scene(balls=[], gravity=False), 16.0, 22.0, "red", 0.2, 32, 32)
    where = kick_to_pixel(scene, Kick(0, 0, (0.01, 0.0, 0.0)), 32, 32)
    client.predict(scene_json(scene), 4, 0, steps, guidance, False, False, "static", api_name="/play_start")
    job = client.submit(max(chunks, 8), api_name="/play_step")
    while len(job.outputs()) < 2:
        time.sleep(0.002)
    t0 = time.perf_counter()
    kick = client.submit(where.x, where.y, 90.0, 1.0, api_name="/play_kick")
    seen = 0
    while True:
        outs = job.outputs()
        for out in outs[seen:]:
            if out[3].get("kicks"):
                dt = time.perf_counter() - t0
                kick.result()
                job.result()
                return dt
        seen = len(outs)
        if job.done() and len(job.outputs()) == seen:
            raise SystemExit(f"the kick never reached the Play ({kick.result()[3]})")
        time.sleep(0.002)


if __name__ == "__main__":
    main()
