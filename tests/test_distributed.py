"""The distributed path: 2 CPU processes (torchrun, gloo; accelerate's MULTI_CPU) train the tiny next-chunk recipe,
only the main process writes, and the weights match one process trained on the same global batch.

On several GPUs the same training loop runs under `accelerate launch --multi_gpu --num_processes N -m playground
train ...` (README, Training), which starts the processes through the same torch launcher; `accelerate launch
--cpu` starts one process only, so this test uses torchrun with ACCELERATE_USE_CPU=1, the README's CPU command."""

import json
import os
import socket
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from playground.train import CONFIGS, make_batch, train

SCRIPT = """
import sys
from dataclasses import replace
from pathlib import Path

import torch

from playground.train import CONFIGS, train

torch.set_num_threads(1)
out, cache = Path(sys.argv[1]), Path(sys.argv[2])
cfg = replace(CONFIGS["tiny"], name="tiny-ddp", objective="next_chunk", context_frames=4, context_noise=True,
              action_channels=3, dit_steps=4, batch=2, log_every=1, snapshot_every_s=1e-6)
train(cfg, out / "run", out / "model", cache, mixed_precision="no")
"""


def _cfg(batch: int):
    return replace(CONFIGS["tiny"], name="tiny-ddp", objective="next_chunk", context_frames=4, context_noise=True,
                   action_channels=3, dit_steps=4, batch=batch, log_every=1, snapshot_every_s=1e-6)


def test_a_process_gets_its_share_of_one_global_batch(tmp_path):
    from playground.train import build_clip_cache

    cfg = _cfg(2)
    buckets = build_clip_cache(cfg, tmp_path)
    for b in buckets.values():
        b["latents"] = torch.randn(len(b["frames"]), 4, cfg.frames, b["frames"].shape[2] // 2, b["frames"].shape[3] // 2,
                                   generator=torch.Generator().manual_seed(0))
        b["text_index"] = np.arange(len(b["frames"]))
    table = torch.randn(max(len(b["frames"]) for b in buckets.values()), 384)
    for step in range(4):
        whole = make_batch(replace(cfg, batch=4), buckets, table, step)
        parts = [make_batch(cfg, buckets, table, step, p, 2) for p in range(2)]
        for name in ("x0", "text", "obs_mask", "sigma", "noise", "cond_latents", "cond_sigma", "actions"):
            torch.testing.assert_close(torch.cat([getattr(p, name) for p in parts]), getattr(whole, name))
    with pytest.raises(ValueError, match="process 2 of 2"):
        make_batch(cfg, buckets, table, 0, 2, 2)


def test_two_cpu_processes_train_like_one_with_the_same_global_batch(tmp_path):
    """Two processes with batch 2 each against one with batch 4: the same samples (make_batch), DDP's mean of
    the two gradients equals the gradient of the mean loss here (every window predicts the same number of frames;
    the joint recipe's per-batch normalisation over a varying number of observed frames would differ slightly),
    so the weights agree to float tolerance. Only the main process writes the log, snapshots and checkpoint."""
    cache = tmp_path / "cache"
    script = tmp_path / "ddp.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "ACCELERATE_USE_CPU": "1"}
    with socket.socket() as sock:  # a free port for the processes' rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port),
           str(script), str(tmp_path / "ddp"), str(cache)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "ddp" / "run"
    lines = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3, 4]  # one writer: each step logged once
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert state["step"] == 4
    snaps = sorted((run / "snapshots").glob("step_*"))
    assert [json.loads((p / "snapshot.json").read_text())["samples_seen"] for p in snaps] == [4, 8, 12, 16]

    train(_cfg(4), tmp_path / "one" / "run", tmp_path / "one" / "model", cache, mixed_precision="no")
    two = load_file(str(run / "checkpoint" / "state.safetensors"))
    one = load_file(str(tmp_path / "one" / "run" / "checkpoint" / "state.safetensors"))
    assert two.keys() == one.keys()
    for k in one:  # weights, EMA and Adam's moments: the same gradients went in
        torch.testing.assert_close(two[k], one[k], atol=2e-5, rtol=1e-3, msg=k)
    moments = [k for k in one if k.endswith("exp_avg")]
    assert moments and max(float(one[k].abs().max()) for k in moments) > 0  # it trained: gradients were not zero
