#!/bin/sh
# Scores both arms of the kick-window pilot, one core each (run from the repository root, nothing else running):
# evaluate (24 clips per split, 4 steps per chunk), the kick probe (24 scenes per split) and the Play kick check.
set -e
for arm in plain kick; do
  core=$([ $arm = plain ] && echo 0 || echo 1)
  ( export OMP_NUM_THREADS=1
    m=runs/pilot-kick/$arm/model
    taskset -c $core python -m playground.evaluate --model $m --trials 24 --steps 4 \
      --json runs/pilot-kick/eval-$arm.json > runs/pilot-kick/eval-$arm.md
    taskset -c $core python -m playground probe --model $m --suite kick --trials 24 --split train,heldout --quiet \
      --json runs/pilot-kick/kick-$arm.json --markdown runs/pilot-kick/kick-$arm.md
    taskset -c $core python runs/worldsim-v2/kick_check.py $m > runs/pilot-kick/kick-check-$arm.json ) &
done
wait
python runs/pilot-kick/summary.py
