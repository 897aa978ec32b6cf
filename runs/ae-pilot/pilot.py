"""Autoencoder pilot (world model v2, item 1): train one variant on mixed-family training clips and measure
truth -> autoencoder -> object parser: the share of predicted frames (4..15) whose parsed colour multiset equals
the truth's, on 24 mixed + 8 interaction clips per split (eval seeds from 2e9, as evaluate uses).

    python runs/ae-pilot/pilot.py NAME CHANNELS LATENT STEPS BALL_WEIGHT LR     # e.g. wide8_6k 32,64 8 6000 10 2e-3

Trains on 3,000 mixed training clips, sample_frames_batch(3000, seed=12345, family="mixed", n_frames=16), cached
in train.npy beside this script (not committed). Prints one JSON line (results.jsonl holds this session's runs)
and saves the model in a folder NAME beside this script.
AE_THREADS sets torch's thread count (default 1).
"""
import sys, time, json
import numpy as np, torch
from collections import Counter
torch.set_num_threads(int(__import__("os").environ.get("AE_THREADS", "1")))
sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parents[2]))
from playground.world import sample_frames_batch, sample_clip
from playground.models.autoencoder import VideoAutoencoder
from playground.train import ball_mask, ae_loss
from playground.pipeline import from_uint8, to_uint8
from playground.probes.parser import parse_video

name, chans, lat, steps, bw, lr = sys.argv[1], tuple(int(c) for c in sys.argv[2].split(',')), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
HERE = __import__('pathlib').Path(__file__).resolve().parent
if not (HERE / 'train.npy').exists():
    np.save(HERE / 'train.npy', sample_frames_batch(3000, seed=12345, family='mixed', n_frames=16)[0])
data = np.load(HERE / 'train.npy')
torch.manual_seed(0)
vae = VideoAutoencoder(latent_channels=lat, channels=chans)
opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0.0)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
n, t = data.shape[:2]
t0 = time.time()
for step in range(steps):
    rng = np.random.default_rng((0, 1, step))
    idx = rng.integers(0, n, 32); ti = rng.integers(0, t, 32)
    batch = data[idx, ti]
    x = from_uint8(batch[:, None])
    rec = vae(x)
    loss = ae_loss(rec, x, ball_mask(batch), bw)
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); sched.step()
train_s = time.time() - t0
vae.eval()
res = {}
for split in ('train', 'heldout'):
    kept = []
    for fam in ('mixed', 'interaction'):
        for i in range(24 if fam == 'mixed' else 8):
            clip = sample_clip(fam, split, seed=2_000_000_000 + i, n_frames=16)
            with torch.no_grad():
                rec = to_uint8(vae(from_uint8(clip.frames[None])))[0]
            pt, pr = parse_video(clip.frames), parse_video(rec)
            for t_ in range(4, 16):
                kept.append((fam, Counter(d.color for d in pt[t_]) == Counter(d.color for d in pr[t_])))
    res[split] = {f: float(np.mean([k for ff, k in kept if ff == f])) for f in ('mixed', 'interaction')}
params = sum(p.numel() for p in vae.parameters())
print(json.dumps({"name": name, "channels": chans, "latent": lat, "steps": steps, "ball_weight": bw, "lr": lr,
                  "params": params, "train_s": round(train_s, 1), "final_loss": round(loss.item(), 5), **res}), flush=True)
vae.save_pretrained(HERE / name)
