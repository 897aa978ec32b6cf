#!/bin/sh
# Scores both warm-start arms (evaluate, 24 clips per split, 4 steps per chunk), one core each.
set -e
OMP_NUM_THREADS=1 taskset -c 0 python -m playground.evaluate --model runs/pilot-warm/warm/model --trials 24 --steps 4 \
  --json runs/pilot-warm/eval-warm.json > runs/pilot-warm/eval-warm.md &
OMP_NUM_THREADS=1 taskset -c 1 python -m playground.evaluate --model runs/pilot-warm/warm-wide8/model --trials 24 \
  --steps 4 --json runs/pilot-warm/eval-warm-wide8.json > runs/pilot-warm/eval-warm-wide8.md &
wait
