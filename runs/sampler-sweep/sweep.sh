#!/bin/sh
# The sampler sweep of 2026-12-02 (validation seeds; see sweep.py), run serially: nothing else may run beside it.
set -e
cd "$(dirname "$0")/../.."
run() { python runs/sampler-sweep/sweep.py "$1" "$2" 2>/dev/null; }
run '{}' base
run '{"context_sigma": 0.05}' cs0.05
run '{"context_sigma": 0.1}' cs0.1
run '{"context_sigma": 0.2}' cs0.2
run '{"guidance": 1}' g1
run '{"guidance": 3}' g3
run '{"sampler": "ode"}' ode
run '{"steps": 8}' s8
run '{"shift": 3}' shift3
run '{"shift": 0.5}' shift0.5
run '{"guidance_above": 0.6}' ga0.6
run '{"guidance_above": 0.9}' ga0.9
