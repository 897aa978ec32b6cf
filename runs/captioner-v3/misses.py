"""Where a captioner's per-ball heading misses are, on caption eval's clips, by the ball's condition (simulator truth).

    python runs/captioner-v3/misses.py [MODEL_DIR] [split]
"""
import collections
import sys

from common import ball_rows, condition, eval_split
from playground.captioner import load_captioner
from playground.enrich import prompt_attributes

cap = load_captioner(sys.argv[1] if len(sys.argv) > 1 else "models/worldsim-s")
split = sys.argv[2] if len(sys.argv) > 2 else "train"
frames, caps, scenes = eval_split(split)
pred = cap.describe(frames)
true = [prompt_attributes(c) for c in caps]
by = collections.defaultdict(lambda: [0, 0])
wrong = collections.defaultdict(set)  # clip -> the conditions of its wrong balls
for r in ball_rows(scenes):
    c, key = r["ball"].color, condition(r)
    ok = pred[r["b"]]["motion"].get(c) == true[r["b"]]["motion"].get(c)
    by[key][0] += ok
    by[key][1] += 1
    if not ok:
        wrong[r["b"]].add(key)
clip_miss = collections.Counter(" & ".join(sorted(w)) for w in wrong.values())
print(split, "per-ball heading by condition (right / balls):")
for k, (a, n) in sorted(by.items(), key=lambda x: -x[1][1]):
    print(f"  {k:32s} {a / n:.3f} of {n:4d}  (misses {n - a})")
print("clips with a wrong heading, by the conditions of their wrong balls:", sum(clip_miss.values()))
for k, n in clip_miss.most_common(12):
    print(f"  {k:40s} {n}")
