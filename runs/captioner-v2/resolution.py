"""Is the captioner limited by the 32x32 frames? The same recipe trained and scored on clips rendered at SIZE x
SIZE (the same seeded scenes: only the resolution differs), against the harness's 32x32 rows.

    python runs/captioner-v2/resolution.py 64 '{"steps": 1500, "clips": 6000}' NAME   # appends to pilots.jsonl
"""

import json
import sys

from pilot import score, train  # runs/captioner-v2/pilot.py

from playground.captioner import EvalConfig

size, kw, name = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
kw = dict(kw, size=size)
model, seconds = train(kw)
score(model, name, kw, seconds, EvalConfig(size=size))
