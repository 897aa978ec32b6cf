"""Pinhole camera: intrinsics K from the field of view, per-frame extrinsics [R|t] for static/orbit/pan paths,
projection of points, and the exact image ellipse of a sphere.

OpenCV convention: camera x right, y down, z forward; [R|t] maps world to camera (x_cam = R x_world + t).
Pixel coordinates: u = column, v = row, the centre of pixel (i, j) is at (j + 0.5, i + 0.5), so the principal
point of a W x H image is (W/2, H/2).
"""

from __future__ import annotations

import numpy as np

from .scene import CameraSpec


def intrinsics(fov_deg: float, height: int, width: int) -> np.ndarray:
    """K (3, 3) with fx = fy set so that `fov_deg` spans the shorter image side."""
    f = 0.5 * min(height, width) / np.tan(np.radians(fov_deg) / 2)
    return np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World-to-camera [R|t] (3, 4) for a camera at `eye` looking at `target`, world y up."""
    fwd = target - eye
    fwd = fwd / np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right = right / np.linalg.norm(right)
    down = np.cross(fwd, right)
    R = np.stack([right, down, fwd])  # rows: camera axes in world coordinates
    return np.concatenate([R, -R @ eye[:, None]], axis=1)


def camera_eye(spec: CameraSpec, yaw: float) -> np.ndarray:
    """Camera centre at a given yaw: `distance` from look_at horizontally, at `height` above the floor."""
    c = np.asarray(spec.look_at, dtype=np.float64)
    return np.array([c[0] + spec.distance * np.sin(yaw), spec.height, c[2] + spec.distance * np.cos(yaw)])


def camera_path(spec: CameraSpec, n_frames: int, dt: float) -> np.ndarray:
    """Per-frame extrinsics Rt (T, 3, 4) for the spec's motion; frame f is at time f * dt."""
    t = np.arange(n_frames) * dt
    target = np.asarray(spec.look_at, dtype=np.float64)
    travel = sway_travel(t, spec.sway_period)  # seconds of motion at the initial speed
    if spec.motion == "orbit":
        return np.stack([look_at(camera_eye(spec, spec.yaw0 + spec.yaw_speed * tk), target) for tk in travel])
    Rt0 = look_at(camera_eye(spec, spec.yaw0), target)
    if spec.motion == "static":
        return np.repeat(Rt0[None], n_frames, axis=0)
    if spec.motion == "look":  # turn in place: camera axes rotated about world y (R = R0 Ry(a)^T)
        eye = camera_eye(spec, spec.yaw0)
        out = []
        for a in spec.yaw_speed * travel:
            c, s = np.cos(a), np.sin(a)
            R = Rt0[:, :3] @ np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
            out.append(np.concatenate([R, -R @ eye[:, None]], axis=1))
        return np.stack(out)
    # pan: translate the centre along the camera's right axis, keep the orientation
    R = Rt0[:, :3]
    eyes = camera_eye(spec, spec.yaw0)[None] + (spec.pan_speed * travel)[:, None] * R[0][None]  # (T, 3)
    Rts = np.repeat(Rt0[None], n_frames, axis=0)
    Rts[:, :, 3] = -np.einsum("ij,tj->ti", R, eyes)
    return Rts


def sway_travel(t: np.ndarray, period: float) -> np.ndarray:
    """How far (in seconds at the initial speed) a camera has moved at times t: t itself for steady motion, and
    P / (2 pi) sin(2 pi t / P) for a camera that sways with period P (same initial speed, back every P)."""
    if period <= 0:
        return t
    return period / (2 * np.pi) * np.sin(2 * np.pi * t / period)


def camera_centers(Rt: np.ndarray) -> np.ndarray:
    """World positions of the camera centres (T, 3) from Rt (T, 3, 4): C = -R^T t."""
    return -np.einsum("tji,tj->ti", Rt[:, :, :3], Rt[:, :, 3])


def project(points: np.ndarray, K: np.ndarray, Rt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (T, N, 2) and camera depth (T, N) of world points (T, N, 3) under per-frame Rt (T, 3, 4)."""
    cam = np.einsum("tij,tnj->tni", Rt[:, :, :3], points) + Rt[:, None, :, 3]  # (T, N, 3)
    uvw = cam @ K.T
    return uvw[..., :2] / uvw[..., 2:3], cam[..., 2]


def sphere_ellipse(centers: np.ndarray, radii: np.ndarray, K: np.ndarray, Rt: np.ndarray):
    """Exact image of spheres: ellipse centre (T, N, 2) px, area (T, N) px^2, bbox half-extent (T, N, 2) px.

    The rays tangent to a sphere (centre c in camera coordinates, radius r) form the cone
    (d.c)^2 = |d|^2 (|c|^2 - r^2); on the normalised image plane d = (x, y, 1) this is the conic
    X^T Q X = 0 with Q = c c^T - (|c|^2 - r^2) I. Its centre is -A^-1 b (A = Q[:2,:2], b = Q[:2,2]); that is the
    centroid of the sphere's silhouette, which lies farther from the principal point than the projected centre.
    NaN where the sphere is not wholly in front of the camera.
    """
    c = np.einsum("tij,tnj->tni", Rt[:, :, :3], centers) + Rt[:, None, :, 3]  # (T, N, 3) camera coords
    s = np.einsum("tnc,tnc->tn", c, c) - radii[None] ** 2  # (T, N)
    Q = c[..., :, None] * c[..., None, :] - s[..., None, None] * np.eye(3)  # (T, N, 3, 3)
    A2, b = Q[..., :2, :2], Q[..., :2, 2]
    det = A2[..., 0, 0] * A2[..., 1, 1] - A2[..., 0, 1] * A2[..., 1, 0]
    ok = (c[..., 2] > radii[None]) & (det > 0) & (A2[..., 0, 0] < 0)
    det = np.where(ok, det, 1.0)
    inv = np.stack([np.stack([A2[..., 1, 1], -A2[..., 0, 1]], -1), np.stack([-A2[..., 1, 0], A2[..., 0, 0]], -1)], -2)
    inv = inv / det[..., None, None]  # (T, N, 2, 2)
    x0 = -np.einsum("tnij,tnj->tni", inv, b)  # (T, N, 2) normalised coords
    k = np.einsum("tni,tnij,tnj->tn", b, inv, b) - Q[..., 2, 2]  # ellipse: e^T A2 e = k, both negative
    area = np.pi * np.abs(k) / np.sqrt(det) * K[0, 0] * K[1, 1]
    half = np.sqrt(np.abs(k[..., None] * np.stack([inv[..., 0, 0], inv[..., 1, 1]], -1))) * K[[0, 1], [0, 1]]
    center = x0 * K[[0, 1], [0, 1]] + K[:2, 2]
    nan = ~ok
    center[nan], area[nan], half[nan] = np.nan, np.nan, np.nan
    return center, area, half
