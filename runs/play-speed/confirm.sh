#!/bin/sh
# The two finalists at twice the trials: guidance 2 (the shipped setting) against guidance 1, 4 steps per chunk.
#   sh runs/play-speed/confirm.sh     (writes runs/play-speed/confirm-4s-g<guidance>-{eval,kick}.json)
set -e
cd "$(dirname "$0")/../.."
OUT=runs/play-speed
for g in 2 1; do
  [ -f "$OUT/confirm-4s-g$g-eval.json" ] || python -m playground.evaluate --trials 48 --seed 1 --steps 4 \
      --guidance "$g" --precision fp32 --json "$OUT/confirm-4s-g$g-eval.json" > "$OUT/confirm-4s-g$g-eval.log" 2>&1
  [ -f "$OUT/confirm-4s-g$g-kick.json" ] || python runs/worldsim-v2/kick_check.py --seeds 8 --steps 4 \
      --guidance "$g" > "$OUT/confirm-4s-g$g-kick.json" 2>/dev/null
  echo "g$g done $(date +%T)"
done
