#!/bin/sh
# Scores both arms of the own-context pilot, one core each (run from the repository root, nothing else running).
set -e
for arm in plain own; do
  core=$([ $arm = plain ] && echo 0 || echo 1)
  OMP_NUM_THREADS=1 taskset -c $core python -m playground.evaluate --model runs/pilot-own/$arm/model --trials 24 \
    --steps 4 --json runs/pilot-own/eval-$arm.json > runs/pilot-own/eval-$arm.md &
done
wait
