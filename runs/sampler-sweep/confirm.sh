#!/bin/sh
# The sweep's best settings confirmed on other validation clips (seed 2, 48 per split), run serially.
set -e
cd "$(dirname "$0")/../.."
run() { python runs/sampler-sweep/sweep.py "$1" "$2" 2>/dev/null; }
run '{"seed": 2, "trials": 48}' base-s2
run '{"seed": 2, "trials": 48, "context_sigma": 0.05}' cs0.05-s2
run '{"seed": 2, "trials": 48, "guidance_above": 0.9}' ga0.9-s2
run '{"seed": 2, "trials": 48, "context_sigma": 0.05, "guidance_above": 0.9}' cs0.05-ga0.9-s2
run '{"context_sigma": 0.05, "guidance_above": 0.9}' cs0.05-ga0.9
