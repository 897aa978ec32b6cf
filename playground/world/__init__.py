"""Procedural world simulator: scenes of coloured balls with physics, a moving camera, a ray-cast renderer,
per-frame ground truth and captions - the data the models train on and the truth the probes measure against."""

from .actions import ActionResult, PixelAction, apply_pixel_action, kick_to_pixel, pixel_to_kick
from .camera import camera_path, intrinsics, project, sphere_ellipse
from .captions import CAPTION_VOCABULARY, caption_vocabulary, rich_caption, short_caption
from .clip import Clip, make_clip, sample_clip, sample_frames_batch
from .families import FAMILIES, RANGES, SHARED, SPLITS, describe_ranges, sample_scene
from .groundtruth import GroundTruth
from .physics import Effect, Event, Trajectories, simulate
from .render import RenderOutput, render
from .scene import OCCLUDER_PALETTE, PALETTE, Ball, CameraSpec, Kick, Occluder, Scene, ball_mass

__all__ = [
    "Ball", "CameraSpec", "Kick", "Occluder", "Scene", "PALETTE", "OCCLUDER_PALETTE", "ball_mass",
    "simulate", "Event", "Effect", "Trajectories",
    "PixelAction", "ActionResult", "pixel_to_kick", "kick_to_pixel", "apply_pixel_action",
    "intrinsics", "camera_path", "project", "sphere_ellipse",
    "render", "RenderOutput", "GroundTruth",
    "rich_caption", "short_caption", "caption_vocabulary", "CAPTION_VOCABULARY",
    "FAMILIES", "SPLITS", "RANGES", "SHARED", "describe_ranges", "sample_scene",
    "Clip", "make_clip", "sample_clip", "sample_frames_batch",
]
