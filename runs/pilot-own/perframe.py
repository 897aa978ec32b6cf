import sys, json, numpy as np, torch
from collections import Counter
from playground.pipeline import WorldSimPipeline
from playground.evaluate import EVAL_SEED_BASE, _colour_multiset
from playground.world.clip import sample_clip
from playground.world.actions import kick_to_pixel
from playground.probes.parser import parse_video
torch.set_num_threads(1)
pipe = WorldSimPipeline.from_pretrained(sys.argv[1])
trials = int(sys.argv[2]); configs = json.loads(sys.argv[3])
T, H, W = 16, 32, 32
for cfgd in configs:
    kept = np.zeros((trials, T - 4)); miss = Counter()
    for i in range(trials):
        clip = sample_clip("mixed", "train", seed=EVAL_SEED_BASE + i, n_frames=T, height=H, width=W)
        gen = torch.Generator().manual_seed(i)
        acts = [kick_to_pixel(clip.scene, k, H, W) for k in clip.scene.kicks]
        out = pipe(clip.caption, observed_frames=clip.frames[:4], num_frames=T, height=H, width=W,
                   num_inference_steps=cfgd.get("steps", 4), guidance_scale=cfgd.get("g", 2.0), generator=gen,
                   enrich_prompt=False, actions=acts, context_sigma=cfgd.get("cs", 0.0))
        pv, pt = parse_video(out.frames[0]), parse_video(clip.frames)
        for t in range(4, T):
            kept[i, t - 4] = _colour_multiset(pv[t]) == _colour_multiset(pt[t])
        if cfgd.get("save") and i < 6:
            np.save(f"/tmp/diag/clip{i}_{cfgd['save']}.npy", np.stack([clip.frames, out.frames[0]]))
    print(cfgd, "kept %.3f" % kept.mean(), "per-frame", np.round(kept.mean(0), 2).tolist(), flush=True)
