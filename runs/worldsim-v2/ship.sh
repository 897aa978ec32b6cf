#!/bin/sh
# Ship world model v2 as models/worldsim-s and re-measure everything beside it (run from the repository root,
# after training stopped: `python -m playground train --config worldsim-v2 ... --model-dir runs/worldsim-v2/model`).
# The measurements are not timed, so two of them run at once, one core each.
set -ex
M=models/worldsim-s
rm -rf "$M" && cp -r runs/worldsim-v2/model "$M"
cp runs/worldsim-v2/emergence.jsonl runs/worldsim-v2/emergence.png "$M"/
OMP_NUM_THREADS=1 taskset -c 0 python -m playground.evaluate --trials 24 --json "$M"/eval.json > "$M"/eval.md &
OMP_NUM_THREADS=1 taskset -c 1 python -m playground probe --suite all --trials 8 --quiet --json "$M"/probes.json \
  --markdown "$M"/probes.md > /dev/null &
wait
( OMP_NUM_THREADS=1 taskset -c 0 python runs/worldsim-v2/straight_roll.py "$M" > runs/worldsim-v2/straight-roll.json
  OMP_NUM_THREADS=1 taskset -c 0 python runs/worldsim-v2/kick_check.py "$M" > runs/worldsim-v2/kick-check.json ) &
OMP_NUM_THREADS=1 taskset -c 1 python -m playground.samples > /dev/null &
wait
python -m playground inspect --what probes,ablate --clips 120 --heldout-clips 40 --sigmas 0.2,0.6 \
  --probes inertia,permanence,consistency --trials 6 --steps 4 --json "$M"/inspect.json --md "$M"/inspect.md
python -m playground.model_card "$M" --eval "$M"/eval.json --probes "$M"/probes.json --notes runs/worldsim-v2/notes.md
python -m playground.ui.screenshots
