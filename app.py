"""Serve the worldsim-playground app: `python app.py [--model DIR] [--host 127.0.0.1] [--port 7860]`."""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from playground.paths import DEFAULT_MODEL_DIR  # noqa: E402  (after the environment it reads)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=str(DEFAULT_MODEL_DIR), help="model folder (diffusers layout; default: the "
                    "shipped models/worldsim-s)")
    ap.add_argument("--host", default="127.0.0.1", help="interface to bind (default: local only)")
    ap.add_argument("--port", type=int, default=7860)
    ap.add_argument("--concurrency", type=int, default=2, help="model runs at once (shared by all users)")
    ap.add_argument("--precision", choices=("fp32", "bf16", "auto"), default="auto",
                    help="the model's precision when sampling on the CPU: auto takes bf16 where the CPU has native "
                    "bf16 matmul (AMX or AVX512-BF16), fp32 elsewhere (default: auto)")
    ap.add_argument("--compile", action="store_true",
                    help="torch.compile the DiT (needs a C++ compiler; falls back to eager without one) and warm it "
                    "on a Play game before serving: a one-time wait of seconds to a minute, then Play runs about "
                    "1.25x as fast (bench/bench_app.py --compile both)")
    args = ap.parse_args(argv)

    from playground.ui.app import build_demo, launch_kwargs
    from playground.ui.session import AppContext

    try:
        ctx = AppContext.load(args.model, concurrency_limit=args.concurrency, precision=args.precision,
                              compile=args.compile)
    except FileNotFoundError as e:
        sys.exit(str(e))
    demo = build_demo(ctx)
    demo.launch(server_name=args.host, server_port=args.port, allowed_paths=[str(ctx.out_dir)],
                max_file_size="20mb", show_error=True, **launch_kwargs())


if __name__ == "__main__":
    main()
