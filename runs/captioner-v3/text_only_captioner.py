"""The text-only check of models/worldsim-s/eval.json re-run (its defaults: fp32, guidance 2, seed 0, 24 prompts)
with the captioner now in the folder: the rows must come out as committed (the DiT and the prompts are unchanged);
`captioner_agrees` is the share of the text-only clips whose colours and count the captioner reads as the
prompt's. With --write, eval.json's captioner_agrees becomes this one.

    python runs/captioner-v3/text_only_captioner.py [--write]
"""
import json
import sys
from pathlib import Path

import torch

from playground.captioner import load_captioner
from playground.evaluate import text_only
from playground.pipeline import WorldSimPipeline

REPO = Path(__file__).resolve().parents[2]
model = REPO / "models" / "worldsim-s"
torch.set_num_threads(2)
pipe = WorldSimPipeline.from_pretrained(model)
pipe.set_precision("fp32")
pipe.set_progress_bar_config(disable=True)
ev_path = model / "eval.json"
ev = json.loads(ev_path.read_text())
old = ev["text_only"]
res = text_only(pipe, clips=old["clips"], steps=old["steps"], guidance=old["guidance"], seed=ev.get("seed", 0),
                captioner=load_captioner(model), progress=False)
print(json.dumps(res, indent=1))
same = all(abs(res["rows"][r][k] - old["rows"][r][k]) < 1e-9 for r in old["rows"] for k in old["rows"][r])
print(f"rows as committed: {same}; captioner_agrees {old.get('captioner_agrees')} -> {res['captioner_agrees']}")
if "--write" in sys.argv:
    if not same:
        sys.exit("the rows differ from eval.json's: not writing")
    old["captioner_agrees"] = res["captioner_agrees"]
    ev_path.write_text(json.dumps(ev, indent=1))
    print(f"wrote {ev_path}")
