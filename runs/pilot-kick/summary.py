"""The kick-window pilot's table (markdown) from the files runs/pilot-kick/score.sh writes."""

import json

from playground.paths import REPO_ROOT

here = REPO_ROOT / "runs" / "pilot-kick"
print("| arm | objects kept in-dist / held-out | velocity err in-dist / held-out | kick followed in-dist / held-out "
      "| kicked-ball velocity err (no_action) | kick direction err deg | Play kick: same direction / turned like truth |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for arm in ("plain", "kick"):
    ev = json.loads((here / f"eval-{arm}.json").read_text())["splits"]
    kp = json.loads((here / f"kick-{arm}.json").read_text())["summary"]["kick"]
    kc = json.loads((here / f"kick-check-{arm}.json").read_text())
    m = {s: ev[s]["model"] for s in ("train", "heldout")}
    k = {s: kp[s]["model"] for s in ("train", "heldout")}
    na = {s: kp[s]["no_action"] for s in ("train", "heldout")}
    print(f"| {arm} | {m['train']['objects_kept']:.1%} / {m['heldout']['objects_kept']:.1%} "
          f"| {m['train']['velocity_err_px']:.2f} / {m['heldout']['velocity_err_px']:.2f} "
          f"| {k['train']['kick_followed']:.0%} / {k['heldout']['kick_followed']:.0%} "
          f"| {k['train']['kick_vel_err_px']:.2f} ({na['train']['kick_vel_err_px']:.2f}) / "
          f"{k['heldout']['kick_vel_err_px']:.2f} ({na['heldout']['kick_vel_err_px']:.2f}) "
          f"| {k['train']['kick_dir_err_deg']:.0f} / {k['heldout']['kick_dir_err_deg']:.0f} "
          f"| {kc['same_direction_rate']:.0%} / {kc['turned_like_truth_rate']:.0%} |")
