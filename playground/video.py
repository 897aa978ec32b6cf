"""H.264 mp4 writing that Chromium plays (imageio-ffmpeg's bundled ffmpeg: libx264, yuv420p, faststart)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .viz.frames import upscale


def upscale_nearest(frames: np.ndarray, upscale_to: int = 256) -> np.ndarray:
    """Repeat pixels (nearest neighbour) so the short side is at least `upscale_to`, then pad to even sizes
    (yuv420p needs even width and height). frames (T, H, W, 3) uint8 -> (T, H', W', 3)."""
    T, H, W, _ = frames.shape
    f = max(1, -(-upscale_to // min(H, W)))
    out = upscale(frames, f)
    ph, pw = out.shape[1] % 2, out.shape[2] % 2
    if ph or pw:
        out = np.pad(out, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
    return np.ascontiguousarray(out)


def write_mp4(frames_uint8: np.ndarray, path: str | Path, fps: int = 8, upscale_to: int = 256) -> Path:
    """Write frames (T, H, W, 3) uint8 to an H.264 mp4 at `path`, nearest-upscaled to >= upscale_to px on the
    short side. Returns the path."""
    import imageio_ffmpeg

    frames = np.asarray(frames_uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or min(frames.shape[:3]) < 1:
        raise ValueError(f"frames must be a non-empty uint8 array (T, H, W, 3), got {frames.dtype} {frames.shape}")
    frames = upscale_nearest(frames, upscale_to)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames.shape[1:3]
    writer = imageio_ffmpeg.write_frames(
        str(path), (w, h), fps=fps, codec="libx264", pix_fmt_in="rgb24", pix_fmt_out="yuv420p", quality=None,
        bitrate=None, macro_block_size=1,  # sizes are already even; no silent resize
        output_params=["-movflags", "+faststart", "-crf", "18", "-preset", "veryfast"],
    )
    writer.send(None)
    for f in frames:
        writer.send(f)
    writer.close()
    return path
