"""The sweep's table (markdown): python runs/play-speed/table.py [TAG ...] (default: every setting measured)."""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def row(tag: str) -> str:
    ev = json.loads((HERE / f"{tag}-eval.json").read_text())["splits"]
    roll = json.loads((HERE / f"{tag}-roll.json").read_text())["model"]
    kick = json.loads((HERE / f"{tag}-kick.json").read_text())
    m = {s: ev[s]["model"] for s in ("train", "heldout")}
    steps, g = tag.split("-")
    cells = [steps[:-1], g[1:],
             f"{100 * m['train']['objects_kept']:.1f} / {100 * m['heldout']['objects_kept']:.1f}",
             f"{m['train']['velocity_err_px']:.2f} / {m['heldout']['velocity_err_px']:.2f}",
             f"{m['train']['position_err_px']:.2f} / {m['heldout']['position_err_px']:.2f}",
             f"{roll['mean_px']:.2f}", f"{round(8 * roll['within_2px_at_plus8'])}/8",
             f"{round(12 * kick['same_direction_rate'])}/12", f"{round(12 * kick['turned_like_truth_rate'])}/12"]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    tags = sys.argv[1:] or sorted({p.name.rsplit("-", 1)[0] for p in HERE.glob("*-kick.json")},
                                  key=lambda t: (-int(t.split("s-")[0]), t))
    print("| steps per chunk | guidance | objects kept % (in / held-out) | velocity err px/frame | position err px "
          "| straight roll mean px | roll within 2 px at +8 | kick same direction | kick turned like truth |")
    print("|" + " --- |" * 9)
    for t in tags:
        print(row(t))


if __name__ == "__main__":
    main()
