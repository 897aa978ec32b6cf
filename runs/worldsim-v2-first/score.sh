#!/bin/sh
# Scores the fine-tuned model against the shipped one's committed numbers (run from the repository root after
# training stopped, nothing else running): evaluate (24 clips per split, with its 24 text-only clips) and the
# probe suite (8 trials), one core each, then the text-only clips on validation prompts (seed 1) by guidance.
set -e
M=runs/worldsim-v2-first/model
OUT=runs/worldsim-v2-first
OMP_NUM_THREADS=1 taskset -c 0 python -m playground.evaluate --model $M --trials 24 --json $OUT/eval.json \
  > $OUT/eval.md &
OMP_NUM_THREADS=1 taskset -c 1 python -m playground probe --model $M --suite all --trials 8 --quiet \
  --json $OUT/probes.json --markdown $OUT/probes.md > /dev/null &
wait
python runs/sampler-sweep/text_only.py $M > $OUT/text-only-seed1.txt
