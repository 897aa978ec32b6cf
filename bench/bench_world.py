"""World-simulator throughput: clips/s (sample + simulate + render, 16 frames) for the `mixed` family (kicks in
some scenes, painting floors in its interaction scenes) and the `interaction` family (every scene kicked, the
paint effect on, half the cameras swaying), one process, via the training cache builder's path
(sample_frames_batch) and with full ground truth (sample_clip).

    python bench/bench_world.py [TRAINING_CLIPS_PER_S]

With TRAINING_CLIPS_PER_S (what a training run consumes: batch size / seconds per step) every line also prints
the simulator's rate as a multiple of it.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from playground.world import sample_clip, sample_frames_batch


def clips_per_second(fn, n: int) -> float:
    fn(2)  # warm-up
    t = time.perf_counter()
    fn(n)
    return n / (time.perf_counter() - t)


def main() -> None:
    need = float(sys.argv[1]) if len(sys.argv) > 1 else None
    for family in ("mixed", "interaction"):
        for size, n in ((32, 200), (64, 60)):
            fast = clips_per_second(lambda k: sample_frames_batch(k, seed=0, family=family, height=size, width=size), n)
            full = clips_per_second(lambda k: [sample_clip(family, "train", s, 16, size, size) for s in range(k)], n)
            line = (f"{family:11s} {size}x{size}: {fast:7.1f} clips/s frames+captions, {full:7.1f} clips/s with "
                    f"ground truth")
            if need:
                line += f"  ({fast / need:.1f}x the {need:g} clips/s training consumes)"
            print(line, flush=True)


if __name__ == "__main__":
    main()
