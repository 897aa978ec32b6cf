#!/usr/bin/env bash
# Score the world model v2 pilot's two models (see README.md). Run from the repository root, nothing else running.
#   bash runs/pilot-v2/score.sh [STEPS_CHUNK]
set -euo pipefail
S=${1:-4}
out=runs/pilot-v2
for run in pilot-chunk pilot-joint; do
  steps=$([ $run = pilot-chunk ] && echo "$S" || echo 20)
  python -m playground.evaluate --model runs/$run/model --trials 24 --steps "$steps" --json $out/$run.eval.json
  python -m playground probe --model runs/$run/model --suite inertia,permanence --trials 12 --steps "$steps" \
    --json $out/$run.probes.json --markdown $out/$run.probes.md --quiet
done
python -m playground.evaluate --model runs/pilot-chunk/model --trials 24 --steps "$S" --no-actions \
  --json $out/pilot-chunk.eval-no-actions.json
