"""Physics probes: parse objects from frames, measure how well a video obeys the world's physics (inertia,
gravity, collisions, object permanence, 3-D consistency, long-range coherence, temporal quality), against the
ground truth's parser floor and trivial baselines. Metric definitions: docs/probes.md."""

from .metrics import Video
from .parser import (COLORS, Detection, ParserConfig, Track, build_tracks, classify_pixels, color_track,
                     parse_frame, parse_video)
from .suite import PROBES, ROWS, SuiteResult, format_table, resolve_probes, run_suite, to_markdown

__all__ = [
    "COLORS", "Detection", "ParserConfig", "Track", "build_tracks", "classify_pixels", "color_track",
    "parse_frame", "parse_video", "Video", "PROBES", "ROWS", "SuiteResult", "format_table", "resolve_probes",
    "run_suite", "to_markdown",
]
