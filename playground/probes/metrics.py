"""The probes' metrics: pure functions of a video (frames and/or parsed detections), the clip's ground truth and
the number of observed frames k. Each returns {metric: float}, NaN where a metric is undefined for that input
(docs/probes.md defines every metric). Frames t < k were observed; frames k .. T-1 are the prediction.

Image-plane conventions: positions in px (x = column, y = row), velocities in px/frame as the difference of
consecutive centroids v(t) = c(t) - c(t-1), accelerations in px/frame^2.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..world import Clip, simulate
from ..world.camera import project, sphere_ellipse
from ..world.groundtruth import HIDDEN
from ..world.render import FLOOR_DARK, FLOOR_LIGHT, MARK, tile_code
from .parser import Detection, Track, ball_mask, color_track

VIS_OK = 0.9  # a ball counts as fully in view (its GT centroid is what the parser should find) above this
VIS_SEEN = 0.5  # ... and as clearly visible above this
VIS_BACK = 0.2  # re-emergence: the first frame after an occlusion with this much of the ball in view (~2 px at 32x32)
MIN_SPEED = 0.3  # px/frame: slower velocity vectors have no reliable direction (reversal test)
NAN = float("nan")


@dataclass
class Video:
    """What a probe sees of one row: frames (T, H, W, 3) uint8, or None for track-level predictors, and the
    parsed detections per frame."""

    frames: np.ndarray | None
    parsed: list[list[Detection]]
    height: int
    width: int

    @property
    def T(self) -> int:
        return len(self.parsed)


# ---------------------------------------------------------------------------- helpers
def ball_tracks(video: Video, clip: Clip) -> list[Track]:
    """The parsed track of every ground-truth ball, matched by colour (a scene never repeats a colour)."""
    return [color_track(video.parsed, b.color) for b in clip.scene.balls]


def _mean(xs) -> float:
    xs = [float(x) for x in xs if np.isfinite(x)]
    return float(np.mean(xs)) if xs else NAN


def _event_times(clip: Clip, ball: int, kinds: tuple[str, ...]) -> np.ndarray:
    return np.array(sorted(e.time for e in clip.gt.events if e.kind in kinds and ball in e.balls))


def _segments(times: np.ndarray, T: int) -> np.ndarray:
    """Segment index per frame: frames between consecutive events share an index (an event at 5.3 splits
    frames <= 5 from frames >= 6)."""
    return np.searchsorted(times, np.arange(T), side="right")


def _ok(tr: Track, clip: Clip, b: int) -> np.ndarray:
    """Frames where the ball is detected and fully in view in the truth (so the GT centroid is comparable)."""
    return tr.present & (clip.gt.visible[: len(tr.present), b] >= VIS_OK)


def _disc_mask(clip: Clip, t: int, H: int, W: int, grow: float = 1.5) -> np.ndarray:
    """Pixels within (radius + grow) of any GT ball centroid in frame t."""
    yy, xx = np.mgrid[0:H, 0:W] + 0.5
    m = np.zeros((H, W), bool)
    for b in range(len(clip.scene.balls)):
        c, r = clip.gt.centroids[t, b], clip.gt.radii_px[t, b]
        if np.all(np.isfinite(c)) and np.isfinite(r):
            m |= (xx - c[0]) ** 2 + (yy - c[1]) ** 2 <= (r + grow) ** 2
    return m


def coverage(tracks: list[Track], clip: Clip, k: int) -> float:
    """Share of (ball, predicted frame) pairs with the ball fully in view in the truth where it is detected."""
    hits = [tr.present[t] for b, tr in enumerate(tracks) for t in range(k, len(tr.present))
            if clip.gt.visible[t, b] >= VIS_OK]
    return float(np.mean(hits)) if hits else NAN


# ---------------------------------------------------------------------------- inertia
def inertia_metrics(video: Video, clip: Clip, k: int) -> dict[str, float]:
    """Velocity error, position error, linear-fit R^2 and direction reversals of rolling balls (no gravity)."""
    T, gt = video.T, clip.gt
    trs = ball_tracks(video, clip)
    verr, vtrue, perr, rev = [], [], [], []
    ss_res = ss_tot = 0.0
    for b, tr in enumerate(trs):
        ok = _ok(tr, clip, b)
        c, g = tr.centroids, gt.centroids[:, b]
        for t in range(k, T):
            if ok[t]:
                perr.append(np.linalg.norm(c[t] - g[t]))
            if ok[t] and ok[t - 1]:
                verr.append(np.linalg.norm((c[t] - c[t - 1]) - (g[t] - g[t - 1])))
                vtrue.append(np.linalg.norm(g[t] - g[t - 1]))
        walls = _event_times(clip, b, ("wall", "collision", "kick"))
        seg = _segments(walls, T)
        for s in np.unique(seg[k:]):
            ts = np.array([t for t in range(k, T) if seg[t] == s and tr.present[t]])
            if len(ts) < 4:
                continue
            pts = c[ts]
            tot = float(((pts - pts.mean(0)) ** 2).sum())
            if tot < 0.25 * len(ts):  # (almost) no motion: R^2 undefined
                continue
            A = np.stack([ts, np.ones_like(ts)], 1).astype(float)
            coef, *_ = np.linalg.lstsq(A, pts, rcond=None)
            ss_res += float(((A @ coef - pts) ** 2).sum())
            ss_tot += tot
        n = 0
        for t in range(k + 1, T):
            if not (tr.present[t] and tr.present[t - 1] and tr.present[t - 2]):
                continue
            v1, v2 = c[t - 1] - c[t - 2], c[t] - c[t - 1]
            if min(np.linalg.norm(v1), np.linalg.norm(v2)) < MIN_SPEED:
                continue
            if np.any((walls > t - 2) & (walls <= t)):
                continue  # a real bounce
            n += float(v1 @ v2 < 0)
        rev.append(n)
    return {
        "vel_err_px": _mean(verr),
        "vel_err_rel": float(np.sum(verr) / np.sum(vtrue)) if verr and np.sum(vtrue) > 0 else NAN,
        "pos_err_px": _mean(perr),
        "linear_r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else NAN,
        "reversals": _mean(rev),
        "coverage": coverage(trs, clip, k),
    }


# ---------------------------------------------------------------------------- gravity
def gravity_metrics(video: Video, clip: Clip, k: int, min_points: int = 5) -> dict[str, float]:
    """Image-plane g from parabola fits to the vertical track between bounces, against the same fit on the true
    centroids; horizontal drift."""
    T, gt = video.T, clip.gt
    trs = ball_tracks(video, clip)
    rel, ratio, g_fit, g_true, drift = [], [], [], [], []
    for b, tr in enumerate(trs):
        ok = _ok(tr, clip, b)
        seg = _segments(_event_times(clip, b, ("floor", "collision")), T)
        for s in np.unique(seg[k - 1:]):
            ts = np.array([t for t in range(k - 1, T) if seg[t] == s and ok[t]])
            if len(ts) < min_points:
                continue
            gp = 2 * np.polyfit(ts, tr.centroids[ts, 1], 2)[0]  # rows grow downward: g > 0 means falling
            gt_ = 2 * np.polyfit(ts, gt.centroids[ts, b, 1], 2)[0]
            if abs(gt_) < 1e-3:
                continue
            g_fit.append(gp), g_true.append(gt_)
            rel.append(abs(gp - gt_) / abs(gt_)), ratio.append(gp / gt_)
        if ok[k - 1]:
            x0, xg0 = tr.centroids[k - 1, 0], gt.centroids[k - 1, b, 0]
            drift += [abs((tr.centroids[t, 0] - x0) - (gt.centroids[t, b, 0] - xg0)) for t in range(k, T) if ok[t]]
    return {
        "g_rel_err": _mean(rel),
        "g_ratio": float(np.median(ratio)) if ratio else NAN,
        "g_fit_px": _mean(g_fit),
        "g_true_px": _mean(g_true),
        "drift_x_px": _mean(drift),
        "coverage": coverage(trs, clip, k),
    }


# ---------------------------------------------------------------------------- collisions
def lift_to_floor(c: np.ndarray, K: np.ndarray, Rt: np.ndarray, height: float) -> np.ndarray:
    """Image points (T, 2) px -> world (x, z) (T, 2) where each pixel's ray (under the true camera of its frame)
    meets the plane y = height (a rolling ball's centre height)."""
    d_cam = np.concatenate([c, np.ones((len(c), 1))], 1) @ np.linalg.inv(K).T  # (T, 3)
    R, t = Rt[: len(c), :, :3], Rt[: len(c), :, 3]
    d = np.einsum("tji,tj->ti", R, d_cam)  # R^T d
    o = -np.einsum("tji,tj->ti", R, t)  # camera centres
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (height - o[:, 1]) / d[:, 1]
    p = o + s[:, None] * d
    return p[:, [0, 2]]


def collision_metrics(video: Video, clip: Clip, k: int, window: int = 3) -> dict[str, float]:
    """Velocities after the first ball-ball impact, and image-plane momentum / energy (mass ~ r^2, r the true
    3-D radius) against the truth's and against the video's own pre-impact values."""
    T, gt = video.T, clip.gt
    hits = [e for e in gt.events if e.kind == "collision"]
    keys = ("post_vel_err_px", "post_vel_rel", "momentum_err", "energy_err", "momentum_conservation",
            "energy_conservation", "coverage")
    if not hits:
        return dict.fromkeys(keys, NAN)
    ev = hits[0]
    tau, balls = ev.time, list(ev.balls)
    trs = ball_tracks(video, clip)
    m = np.array([clip.scene.balls[b].radius ** 2 for b in balls])
    oks = [_ok(trs[b], clip, b) for b in balls]

    def vel(t, src):  # (2 balls, 2)
        return np.stack([src(b)[t] - src(b)[t - 1] for b in balls])

    pred = lambda b: trs[b].centroids  # noqa: E731
    true = lambda b: gt.centroids[:, b]  # noqa: E731
    both = [t for t in range(1, T) if all(o[t] and o[t - 1] for o in oks)]
    post = [t for t in both if t - 1 > tau and t >= k]
    # image-plane momentum is only conserved locally (perspective scales each ball by its depth): compare
    # `window` frames either side of the impact
    pre = [t for t in both if tau - window <= t <= tau]
    post_c = [t for t in post if t - 1 <= tau + window]
    verr, vt = [], []
    for t in post:
        vp, vg = vel(t, pred), vel(t, true)
        verr.extend(np.linalg.norm(vp - vg, axis=1))
        vt.extend(np.linalg.norm(vg, axis=1))

    floor = {b: lift_to_floor(trs[b].centroids, gt.K, gt.Rt, clip.scene.balls[b].radius) for b in balls}
    lifted = lambda b: floor[b]  # noqa: E731

    def p_e(ts, src):
        if not ts:
            return None
        V = np.stack([vel(t, src) for t in ts])  # (n, 2 balls, 2)
        P = (m[None, :, None] * V).sum(1).mean(0)
        scale = (m[None] * np.linalg.norm(V, axis=-1)).sum(1).mean()
        E = (0.5 * m[None] * (V ** 2).sum(-1)).sum(1).mean()
        return P, scale, E

    out = dict.fromkeys(keys, NAN)
    out["coverage"] = coverage(trs, clip, k)
    if post:
        out["post_vel_err_px"] = _mean(verr)
        out["post_vel_rel"] = float(np.sum(verr) / np.sum(vt)) if np.sum(vt) > 0 else NAN
        (Pp, _, Ep), (Pg, sg, Eg) = p_e(post, pred), p_e(post, true)
        out["momentum_err"] = float(np.linalg.norm(Pp - Pg) / sg) if sg > 0 else NAN
        out["energy_err"] = float(abs(Ep - Eg) / Eg) if Eg > 0 else NAN
        before, after = p_e(pre, lifted), p_e(post_c, lifted)
        if before is not None and after is not None and before[1] > 0:
            out["momentum_conservation"] = float(np.linalg.norm(after[0] - before[0]) / before[1])
            out["energy_conservation"] = float(abs(after[2] - before[2]) / before[2]) if before[2] > 0 else NAN
    return out


# ---------------------------------------------------------------------------- object permanence
def occluder_boxes(clip: Clip) -> np.ndarray:
    """Image bounding boxes (T, M, 4) [x0, y0, x1, y1] px of the occluders (their 8 projected corners)."""
    T = clip.gt.Rt.shape[0]
    boxes = np.zeros((T, len(clip.scene.occluders), 4))
    for j, o in enumerate(clip.scene.occluders):
        c, h = np.array(o.center), np.array(o.size) / 2
        corners = np.array([c + h * s for s in np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T])
        uv, _ = project(np.broadcast_to(corners, (T, 8, 3)), clip.gt.K, clip.gt.Rt)
        boxes[:, j] = np.concatenate([uv.min(1), uv.max(1)], -1)
    return boxes


def permanence_metrics(video: Video, clip: Clip, k: int, window: int = 2) -> dict[str, float]:
    """Re-emergence after occlusion (rate, timing, position), colour and size constancy, impossible events."""
    T, gt = video.T, clip.gt
    H, W = video.height, video.width
    trs = ball_tracks(video, clip)
    colours = {b.color for b in clip.scene.balls}
    spurious = np.array([any(d.color not in colours for d in dets) for dets in video.parsed])
    re_ok, timing, pos, kept, size = [], [], [], [], []
    for iv in gt.occlusions:
        b, s, e = iv["ball"], iv["start"], iv["end"]
        after = [t for t in range(e + 1, T) if gt.visible[t, b] >= VIS_BACK]
        if not after or after[0] < k:
            continue  # never back in view, or back before the prediction starts
        t_star, tr = after[0], trs[b]
        pres = tr.present
        gone = [t for t in range(max(k, s - window), t_star + 1) if not pres[t]]
        if gone:
            back = [t for t in range(gone[0] + 1, T) if pres[t]]
            t_hat = back[0] if back else None
            re_ok.append(t_hat is not None and abs(t_hat - t_star) <= window)
            if t_hat is not None:
                timing.append(abs(t_hat - t_star))
        else:  # never hidden in the video: it is there on time (the see-through counts as an impossible event)
            re_ok.append(bool(pres[t_star]))
        ok = _ok(tr, clip, b)
        later = [t for t in range(t_star, T) if ok[t]][:3]
        if later:
            pos.append(np.mean([np.linalg.norm(tr.centroids[t] - gt.centroids[t, b]) for t in later]))
        seen = [t for t in range(t_star, T) if gt.visible[t, b] >= VIS_SEEN]
        kept += [bool(pres[t] and not spurious[t]) for t in seen]
        r0 = [t for t in range(0, s) if ok[t]]
        r1 = [t for t in range(t_star, T) if ok[t]]
        if r0 and r1:
            pr = np.median(tr.radii[r1]) / np.median(tr.radii[r0])
            gr = np.median(gt.radii_px[r1, b]) / np.median(gt.radii_px[r0, b])
            size.append(abs(pr - gr))
    boxes = occluder_boxes(clip)
    see_through = vanish = teleport = 0
    jump = max(4.0, 0.2 * min(H, W))
    for b, tr in enumerate(trs):
        for t in range(k, T):
            vis = gt.visible[t, b]
            if tr.present[t] and vis < HIDDEN:
                x, y = tr.centroids[t]
                bx = boxes[t]
                see_through += int(np.any((x >= bx[:, 0] - 1) & (x <= bx[:, 2] + 1)
                                          & (y >= bx[:, 1] - 1) & (y <= bx[:, 3] + 1)))
            if vis >= VIS_SEEN and not tr.present[t]:
                vanish += 1
            if tr.present[t] and tr.present[t - 1] and np.linalg.norm(tr.centroids[t] - tr.centroids[t - 1]) > jump:
                teleport += 1
    return {
        "reemergence_rate": float(np.mean(re_ok)) if re_ok else NAN,
        "timing_err_frames": _mean(timing),
        "reemerge_pos_err_px": _mean(pos),
        "colour_kept": float(np.mean(kept)) if kept else NAN,
        "size_ratio_err": _mean(size),
        "see_through": float(see_through),
        "vanish_in_open": float(vanish),
        "teleports": float(teleport),
        "impossible_events": float(see_through + vanish + teleport),
    }


# ---------------------------------------------------------------------------- 3-D consistency
def fundamental(K: np.ndarray, Rt1: np.ndarray, Rt2: np.ndarray) -> np.ndarray:
    """F (3, 3) with x2^T F x1 = 0 for pixels x1 in camera 1 and x2 in camera 2 (world-to-camera [R|t] each)."""
    R1, t1, R2, t2 = Rt1[:, :3], Rt1[:, 3], Rt2[:, :3], Rt2[:, 3]
    R = R2 @ R1.T
    t = t2 - R @ t1
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    Ki = np.linalg.inv(K)
    return Ki.T @ tx @ R @ Ki


def sampson_px(F: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """sqrt of the Sampson distance (first-order geometric epipolar error, px) for matches x1, x2 (N, 2)."""
    h1 = np.concatenate([x1, np.ones((len(x1), 1))], 1)
    h2 = np.concatenate([x2, np.ones((len(x2), 1))], 1)
    Fx1, Ftx2 = h1 @ F.T, h2 @ F
    num = np.einsum("ni,ni->n", h2, Fx1) ** 2
    den = Fx1[:, 0] ** 2 + Fx1[:, 1] ** 2 + Ftx2[:, 0] ** 2 + Ftx2[:, 1] ** 2
    return np.sqrt(num / np.maximum(den, 1e-12))


def match_features(f1: np.ndarray, f2: np.ndarray, exclude: np.ndarray | None = None, max_corners: int = 80
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Corner matches (N, 2), (N, 2) px (world pixel convention) from frame f1 to f2 (H, W, 3) uint8.

    Small frames have too few pixels for descriptors (ORB finds nothing at 32 x 32), so both frames are
    upscaled to >= 128 px (bilinear), corners found with goodFeaturesToTrack (Shi-Tomasi), followed with
    pyramidal Lucas-Kanade and kept when tracking back lands within 0.5 original px of the start.
    `exclude` (H, W) bool masks pixels (moving balls) where no corner may start.
    """
    H, W = f1.shape[:2]
    s = max(1, int(np.ceil(128 / min(H, W))))
    g1 = cv2.resize(cv2.cvtColor(f1, cv2.COLOR_RGB2GRAY), (W * s, H * s), interpolation=cv2.INTER_LINEAR)
    g2 = cv2.resize(cv2.cvtColor(f2, cv2.COLOR_RGB2GRAY), (W * s, H * s), interpolation=cv2.INTER_LINEAR)
    mask = None
    if exclude is not None:
        mask = cv2.resize((~exclude).astype(np.uint8) * 255, (W * s, H * s), interpolation=cv2.INTER_NEAREST)
    p1 = cv2.goodFeaturesToTrack(g1, max_corners, 0.02, 2 * s, mask=mask, blockSize=max(3, s + 1 | 1))
    empty = np.zeros((0, 2))
    if p1 is None:
        return empty, empty
    lk = dict(winSize=(4 * s + 1, 4 * s + 1), maxLevel=2,
              criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
    p2, st, _ = cv2.calcOpticalFlowPyrLK(g1, g2, p1, None, **lk)
    p1b, st2, _ = cv2.calcOpticalFlowPyrLK(g2, g1, p2, None, **lk)
    good = (st[:, 0] == 1) & (st2[:, 0] == 1) & (np.linalg.norm(p1b - p1, axis=-1)[:, 0] < 0.5 * s)
    inside = np.all((p2[:, 0] >= 0) & (p2[:, 0] <= np.array([W * s - 1, H * s - 1])), axis=1)
    good &= inside
    to_px = lambda p: (p[good, 0] + 0.5) / s  # noqa: E731  (cv2 index coords of the upscaled image -> world px)
    return to_px(p1), to_px(p2)


def consistency_metrics(video: Video, clip: Clip, k: int, min_matches: int = 6) -> dict[str, float]:
    """Epipolar (Sampson) error of feature matches between the last observed frame and every predicted frame
    under the TRUE cameras; transfer error of known 3-D points (GT depth of the observed frame); reprojection
    error of the ball centres."""
    T, gt = video.T, clip.gt
    H, W = video.height, video.width
    trs = ball_tracks(video, clip)
    reproj = [np.linalg.norm(tr.centroids[t] - gt.centroids[t, b]) for b, tr in enumerate(trs)
              for t in range(k, T) if _ok(tr, clip, b)[t]]
    out = {"sampson_px": NAN, "pairs_ok": NAN, "transfer_px": NAN, "matches": NAN, "ball_reproj_px": _mean(reproj)}
    if video.frames is None:
        return out
    a = k - 1
    excl = ball_mask(video.frames[a:a + 1], dilate=2)[0] | _disc_mask(clip, a, H, W, grow=2.0)
    thr = 0.5 * min(H, W) / 32
    Ki = np.linalg.inv(gt.K)
    R_a, t_a = gt.Rt[a, :, :3], gt.Rt[a, :, 3]
    med, tr_err, n = [], [], []
    for t in range(k, T):
        x1, x2 = match_features(video.frames[a], video.frames[t], excl)
        n.append(len(x1))
        if len(x1) < min_matches:
            continue
        med.append(np.median(sampson_px(fundamental(gt.K, gt.Rt[a], gt.Rt[t]), x1, x2)))
        ij = np.clip(np.floor(x1).astype(int), 0, [W - 1, H - 1])
        z = gt.depth[a, ij[:, 1], ij[:, 0]].astype(float)
        fin = np.isfinite(z)
        if fin.sum() >= min_matches:
            cam = (np.concatenate([x1[fin], np.ones((fin.sum(), 1))], 1) @ Ki.T) * z[fin, None]  # (n, 3) camera a
            world = (cam - t_a) @ R_a  # R^T (x - t)
            uv, _ = project(world[None], gt.K, gt.Rt[t:t + 1])
            tr_err.append(np.median(np.linalg.norm(uv[0] - x2[fin], axis=1)))
    if med:
        out.update(sampson_px=float(np.mean(med)), pairs_ok=float(np.mean(np.array(med) < thr)))
    out["transfer_px"] = _mean(tr_err)
    out["matches"] = float(np.mean(n)) if n else NAN
    return out


# ---------------------------------------------------------------------------- long-range coherence
def long_range_metrics(video: Video, clip: Clip, k: int, tail: int = 4) -> dict[str, float]:
    """Objects kept (count and colour), colour / size / count drift at the end of a long rollout, loop closure."""
    T, gt = video.T, clip.gt
    H, W = video.height, video.width
    trs = ball_tracks(video, clip)
    cols = [b.color for b in clip.scene.balls]
    kept = []
    for t in range(k, T):
        S = {d.color for d in video.parsed[t]}
        E = {c for b, c in enumerate(cols) if gt.visible[t, b] >= VIS_SEEN}
        A = {c for b, c in enumerate(cols) if gt.visible[t, b] >= HIDDEN}
        kept.append(E <= S <= A)
    late = list(range(max(k, T - tail), T))
    count = [abs(len(video.parsed[t]) - sum(gt.visible[t] >= VIS_SEEN)) for t in range(max(k, T - 2 * tail), T)]
    size, colour = [], []
    for b, tr in enumerate(trs):
        ok = _ok(tr, clip, b)
        r0, r1 = [t for t in range(k) if ok[t]], [t for t in late if ok[t]]
        if r0 and r1:
            pr = np.median(tr.radii[r1]) / np.median(tr.radii[r0])
            gr = np.median(gt.radii_px[r1, b]) / np.median(gt.radii_px[r0, b])
            size.append(abs(pr - gr))
        c0, c1 = tr.mean_rgb[[t for t in range(k) if tr.present[t]]], tr.mean_rgb[[t for t in late if tr.present[t]]]
        if len(c0) and len(c1) and np.isfinite(c0).all() and np.isfinite(c1).all():
            u, v = c0.mean(0), c1.mean(0)
            cosang = u @ v / max(np.linalg.norm(u) * np.linalg.norm(v), 1e-9)
            colour.append(np.degrees(np.arccos(np.clip(cosang, -1, 1))))
    loop = NAN
    if video.frames is not None and np.allclose(gt.Rt[0], gt.Rt[T - 1], atol=1e-9):
        f0, f1 = video.frames[0].astype(float), video.frames[T - 1].astype(float)
        bm = ball_mask(video.frames[[0, T - 1]], dilate=1)
        bg = ~(bm[0] | bm[1] | _disc_mask(clip, 0, H, W) | _disc_mask(clip, T - 1, H, W))
        if bg.any():
            loop = float(np.abs(f0 - f1)[bg].mean())
    return {
        "objects_kept": float(np.mean(kept)) if kept else NAN,
        "objects_kept_late": float(np.mean(kept[len(kept) // 2:])) if kept else NAN,
        "count_err": _mean(count),
        "size_drift": _mean(size),
        "colour_drift_deg": _mean(colour),
        "loop_closure": loop,
    }


# ---------------------------------------------------------------------------- temporal quality
def temporal_metrics(video: Video, clip: Clip, k: int) -> dict[str, float]:
    """Flicker of the static background and smoothness (second difference) of the tracks."""
    T, gt = video.T, clip.gt
    H, W = video.height, video.width
    flick = NAN
    if video.frames is not None and np.allclose(gt.Rt, gt.Rt[:1], atol=1e-9):
        bm = ball_mask(video.frames[k - 1:], dilate=1)
        vals = []
        for t in range(k, T):
            bg = ~(bm[t - k] | bm[t - k + 1] | _disc_mask(clip, t - 1, H, W) | _disc_mask(clip, t, H, W))
            if bg.any():
                d = np.abs(video.frames[t].astype(float) - video.frames[t - 1].astype(float))
                vals.append(d[bg].mean())
        flick = _mean(vals)
    acc = []
    for b, tr in enumerate(ball_tracks(video, clip)):
        ev = _event_times(clip, b, ("wall", "floor", "collision", "kick"))
        for t in range(k, T - 1):
            if not (tr.present[t - 1] and tr.present[t] and tr.present[t + 1]):
                continue
            if np.any((ev > t - 1) & (ev < t + 1)):
                continue  # a real impact between the three frames
            c = tr.centroids
            acc.append(np.linalg.norm(c[t + 1] - 2 * c[t] + c[t - 1]))
    return {"flicker": flick, "smoothness_px": _mean(acc)}


# ---------------------------------------------------------------------------- world interaction
KICK_FOLLOWED_DEG = 45.0  # a rollout follows a kick when its ball moves off within this angle of the truth's
MIN_MOVE_PX = 0.5  # a ball displaced less than this has not moved (its direction is undefined)


def predicted_kicks(clip: Clip, k: int) -> list:
    """The kick events whose effect the rollout must show: at frame k - 1 or later (the first predicted
    displacement, k - 1 -> k, is the first that can show a kick), and before the last frame."""
    T = clip.gt.positions.shape[0]
    return [e for e in clip.gt.events if e.kind == "kick" and k - 1 <= e.time <= T - 2]


def unkicked_centroids(clip: Clip, frame: int) -> np.ndarray:
    """Projected ball centroids (T, N, 2) of the counterfactual world without the kicks at `frame` or later: what
    the truth would have shown had those kicks not happened (same camera)."""
    scene = replace(clip.scene, kicks=[kk for kk in clip.scene.kicks if kk.frame < frame])
    radii = np.array([b.radius for b in scene.balls])
    centers, _, _ = sphere_ellipse(simulate(scene).positions, radii, clip.gt.K, clip.gt.Rt)
    return centers


def kick_metrics(video: Video, clip: Clip, k: int, window: int = 3) -> dict[str, float]:
    """How the kicked ball moves in the `window` frames after each predicted kick, against the truth.

    kick_vel_err_px: mean |v_row - v_true| (px/frame) over those frames (a ball the row lost counts as its true
    speed). kick_dir_err_deg: the kick's response is the ball's mean image velocity over the window minus what
    it would have been without the kick (the true simulator without it, same camera, so camera motion and walls
    cancel); the angle between the row's response and the truth's - 180 where the row's ball is lost or responds
    by less than MIN_SPEED / 2, as a rollout that ignores the kick does. kick_followed: share of kicks with a
    direction error under KICK_FOLLOWED_DEG."""
    gt, T = clip.gt, video.T
    verr, derr = [], []
    kicks = predicted_kicks(clip, k)
    for e in kicks:
        f, b = int(e.time), e.balls[0]
        tr = color_track(video.parsed, clip.scene.balls[b].color)
        g, c = gt.centroids[:, b], tr.centroids
        following = [int(x.time) for x in clip.gt.events if x.kind == "kick" and b in x.balls and x.time > f]
        last = min([f + window, T - 1] + following)  # the window ends at the ball's next kick
        errs = []
        for t in range(f + 1, last + 1):
            if not (np.isfinite(g[t]).all() and np.isfinite(g[t - 1]).all()):
                continue
            vt = g[t] - g[t - 1]
            errs.append(np.linalg.norm((c[t] - c[t - 1]) - vt) if tr.present[t] and tr.present[t - 1]
                        else np.linalg.norm(vt))
        if errs:
            verr.append(float(np.mean(errs)))
        if min(gt.visible[f, b], gt.visible[last, b]) < VIS_OK:
            continue  # the truth's response is not readable (the ball not fully in view)
        g0 = unkicked_centroids(clip, f)[:, b]
        v0 = (g0[last] - g0[f]) / (last - f)
        dg = (g[last] - g[f]) / (last - f) - v0
        if not np.isfinite(dg).all() or np.linalg.norm(dg) < MIN_SPEED:
            continue  # the kick barely changes the image velocity (e.g. straight toward the camera)
        seen = tr.present[f] and tr.present[last]
        dc = (c[last] - c[f]) / (last - f) - v0 if seen else np.zeros(2)
        if np.linalg.norm(dc) < MIN_SPEED / 2:
            derr.append(180.0)
            continue
        cosang = float(dc @ dg / (np.linalg.norm(dc) * np.linalg.norm(dg)))
        derr.append(float(np.degrees(np.arccos(np.clip(cosang, -1.0, 1.0)))))
    return {
        "kick_vel_err_px": _mean(verr),
        "kick_dir_err_deg": _mean(derr),
        "kick_followed": float(np.mean(np.array(derr) < KICK_FOLLOWED_DEG)) if derr else NAN,
        "kicks": float(len(kicks)),
    }


def marked_pixels(frames: np.ndarray) -> np.ndarray:
    """(T, H, W) bool: pixels whose colour is nearer the paint mark than both floor greys (a nearest-colour
    rule, so that a slightly blurred model frame is read the way a person would)."""
    x = np.asarray(frames, dtype=np.float32)
    d = [np.linalg.norm(x - np.asarray(ref, dtype=np.float32), axis=-1) for ref in (MARK, FLOOR_DARK, FLOOR_LIGHT)]
    return (d[0] < d[1]) & (d[0] < d[2])


LOOK_BACK_MIN = 0.05  # an effect is out of view while less than this share of its tile is visible
EFFECT_SEEN = 0.5  # ... and in view (so the probe reads it) from this share on
LATE_FRAMES = 8  # persisted_late: pairs at least this many frames after the effect was made
MIN_TILE_PX = 3  # a tile is read only where this many of its pixels are seen clear of balls


def persistence_metrics(video: Video, clip: Clip, k: int) -> dict[str, float]:
    """Do the marks the balls leave on the floor stay, in the right place, and only there?

    A tile is read in a frame from its pixels that show that tile alone in the truth (ground truth tile_map),
    minus ball pixels of the row's frame and of the truth's: it reads as marked when most of them are nearer the
    mark colour than the floor's greys. Over predicted frames, where the tile is in view in the truth:
      persisted          effects made before the prediction started, still marked
      persisted_late     effects at least LATE_FRAMES frames old, still marked
      made               effects made during the prediction, marked once they exist
      after_lookaway     effects marked again at the first frame back in view after the camera looked away
      mark_pos_err_px    centroid of the row's mark pixels near the tile against the truth's (marked pairs)
      spurious_marks     tiles that are not marked in the truth but read as marked
    Track-level rows (no frames) give NaN."""
    nan = {m: NAN for m in ("persisted", "persisted_late", "made", "after_lookaway", "mark_pos_err_px",
                            "spurious_marks")}
    gt = clip.gt
    if video.frames is None or gt.tile_map is None:
        return nan
    T = video.T
    frames = video.frames[:T]
    mark = marked_pixels(frames)
    balls = ball_mask(frames, dilate=1) | ball_mask(clip.frames[:T], dilate=1)
    codes = [int(tile_code(*e.tile)) for e in gt.effects]
    tm = gt.tile_map[:T]
    kept, late, made, back, pos = [], [], [], [], []
    yy, xx = np.mgrid[0:video.height, 0:video.width] + 0.5
    for j, e in enumerate(gt.effects):
        away = False
        for t in range(T):
            v = gt.effect_visible[t, j]
            if v < LOOK_BACK_MIN:
                away = away or t >= e.frame
                continue
            if t < e.frame or v < EFFECT_SEEN:
                continue
            if t < k:  # back in view while still observed: not the rollout's return
                away = False
                continue
            px = (tm[t] == codes[j]) & ~balls[t]
            if px.sum() < MIN_TILE_PX:
                continue
            on = bool(mark[t][px].mean() >= 0.5)
            (kept if e.frame < k else made).append(on)
            if t - e.frame >= LATE_FRAMES:
                late.append(on)
            if away:
                back.append(on)
                away = False
            if on:
                near = cv2.dilate((tm[t] == codes[j]).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
                others = np.isin(tm[t], [c for c in codes if c != codes[j]])
                sel = near & mark[t] & ~others & ~balls[t]
                if sel.any():
                    pos.append(np.hypot(xx[sel].mean() - xx[px].mean(), yy[sel].mean() - yy[px].mean()))
    spur = []
    for t in range(k, T):
        marked_now = {codes[j] for j, e in enumerate(gt.effects) if e.frame <= t}
        for code in np.unique(tm[t]):
            if code < 0 or code in marked_now:
                continue
            px = (tm[t] == code) & ~balls[t]
            if px.sum() >= MIN_TILE_PX:
                spur.append(bool(mark[t][px].mean() >= 0.5))
    rate = lambda xs: float(np.mean(xs)) if xs else NAN  # noqa: E731
    return {"persisted": rate(kept), "persisted_late": rate(late), "made": rate(made), "after_lookaway": rate(back),
            "mark_pos_err_px": _mean(pos), "spurious_marks": rate(spur)}
