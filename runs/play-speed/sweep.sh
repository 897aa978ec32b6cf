#!/bin/sh
# Sampling settings for Play, measured on the shipped model: denoising steps per chunk x guidance.
# Each setting: evaluate (24 clips per split), the straight roll and the Play kick check, fp32, one after another.
#   sh runs/play-speed/sweep.sh ["4:2 2:2 4:1 2:1 1:1"]     (writes runs/play-speed/<steps>s-g<guidance>-*.json)
set -e
cd "$(dirname "$0")/../.."
OUT=runs/play-speed
for sg in ${1:-4:2 2:2 4:1 2:1 1:1 3:1}; do
  s=${sg%%:*}; g=${sg##*:}; tag="${s}s-g${g}"
  [ -f "$OUT/$tag-eval.json" ] || python -m playground.evaluate --trials 24 --steps "$s" --guidance "$g" \
      --precision fp32 --json "$OUT/$tag-eval.json" > "$OUT/$tag-eval.log" 2>&1
  [ -f "$OUT/$tag-roll.json" ] || python runs/worldsim-v2/straight_roll.py --steps "$s" --guidance "$g" \
      > "$OUT/$tag-roll.json" 2>/dev/null
  [ -f "$OUT/$tag-kick.json" ] || python runs/worldsim-v2/kick_check.py --steps "$s" --guidance "$g" \
      > "$OUT/$tag-kick.json" 2>/dev/null
  echo "$tag done $(date +%T)"
done
