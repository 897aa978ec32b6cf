"""Per-ball heading accuracy of a captioner by condition (moving camera, gravity, walls, collisions, kicks, ball
count), its commonest confusions, and the kick and collision errors, on caption eval's 1,000 clips per split.

    python runs/captioner-v2/diag.py [MODEL_DIR]      # default models/worldsim-s
"""
import sys, collections
from pathlib import Path
from playground.captioner import EvalConfig, cached_simulation, load_captioner
from playground.enrich import prompt_attributes
e = EvalConfig()
cap = load_captioner(sys.argv[1] if len(sys.argv) > 1 else "models/worldsim-s")
for split in ("train", "heldout"):
    frames, caps = cached_simulation(Path("cache"), e.clips, e.seed * 1000 + (1 if split == "train" else 2), split=split, families=e.families, n_frames=e.frames, size=e.size)
    true = [prompt_attributes(c) for c in caps]
    pred = cap.describe(frames)
    conf = collections.Counter(); by = collections.defaultdict(lambda: [0, 0])
    for p, t in zip(pred, true):
        if p["colours"] != t["colours"]:
            continue
        for c, h in t["motion"].items():
            ph = p["motion"].get(c)
            ok = ph == h
            conf[(h, ph)] += 1
            for key, val in (("cam", t["camera"]), ("grav", t["gravity"]), ("wall", c in t["walls"]),
                             ("coll", any(c in x for x in t["collisions"])), ("kick", c in t["kicks"]), ("n", t["count"])):
                by[(key, val)][0] += ok; by[(key, val)][1] += 1
            by["all"][0] += ok; by["all"][1] += 1
    print(split, "per-ball heading acc", by["all"][0] / by["all"][1])
    for k in sorted(by, key=str):
        print("  ", k, f"{by[k][0]/by[k][1]:.3f} of {by[k][1]}")
    print("  top confusions:", [(a, b, n) for (a, b), n in conf.most_common(40) if a != b][:12])
    cm = collections.Counter(); 
    for p, t in zip(pred, true):
        if p["camera_motion"] != t["camera_motion"]:
            cm[(t["camera_motion"], p["camera_motion"])] += 1
    print("  camera confusions:", cm.most_common(8))
    for key in ("collision", "kicked"):
        fn = sum(t[key] and not p[key] for p, t in zip(pred, true)); fp = sum(p[key] and not t[key] for p, t in zip(pred, true))
        print(f"  {key}: false neg {fn}, false pos {fp}, positives {sum(t[key] for t in true)}")
