#!/bin/sh
# The long-rollout check of the candidate settings (suite seed 1, 12 scenes per split): two processes, one core each.
set -e
cd "$(dirname "$0")/../.."
run() { OMP_NUM_THREADS=1 taskset -c "$1" python runs/sampler-sweep/long_probe.py "$2" "$3" $4 2>/dev/null; }
( run 0 '{}' old-default; run 0 '{"guidance_above": 0.9}' ga0.9 ) &
( run 1 '{"context_sigma": 0.05}' cs0.05; run 1 '{"context_sigma": 0.05, "guidance_above": 0.9}' cs0.05-ga0.9 ) &
wait
# the two that mattered, again on suite seed 2 with 16 scenes per split
( run 0 '{"seed": 2}' old-default-s2 16 ) &
( run 1 '{"seed": 2, "context_sigma": 0.05}' cs0.05-s2 16 ) &
wait
