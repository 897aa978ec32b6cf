"""Regularised linear probes, in closed form: ridge regression (and ridge classification of 0/1 labels, scored
by ROC AUC), the ridge strength picked by cross-validation over whole clips, and a paired bootstrap over test
clips to tell a difference from noise.

Features are standardised with the training set's mean and deviation; the penalty is lambda = alpha * n_train on
those standardised features (alpha from ALPHAS), so one alpha means the same shrinkage whatever the sample count.
One eigendecomposition of the training Gram matrix (Z^T Z, or Z Z^T when there are more features than
samples) serves every alpha.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
CV_FOLDS = 3


@dataclass
class RidgeProbe:
    """A fitted probe: standardisation, coefficients (p, k) and intercept (k,), the ridge strength alpha."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    alpha: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.mean) / self.scale) @ self.coef + self.intercept

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept.tolist(), "alpha": self.alpha}

    @classmethod
    def from_dict(cls, d: dict) -> "RidgeProbe":
        return cls(np.asarray(d["mean"]), np.asarray(d["scale"]), np.asarray(d["coef"]), np.asarray(d["intercept"]),
                   float(d["alpha"]))


def _ridge_path(X: np.ndarray, Y: np.ndarray, alphas) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """Standardise X (n, p), centre Y (n, k); coefficients for every alpha."""
    mean = X.mean(0)
    scale = X.std(0)
    scale = np.where(scale > 1e-8, scale, 1.0)
    Z = (X - mean) / scale
    y0 = Y.mean(0)
    Yc = Y - y0
    n, p = Z.shape
    if n >= p:  # eigenvectors of Z^T Z: coef = V (E + lambda)^-1 V^T Z^T y
        e, V = np.linalg.eigh(Z.T @ Z)
        VtZtY = V.T @ (Z.T @ Yc)  # (p, k)
        coefs = [V @ (VtZtY / (e + a * n)[:, None]) for a in alphas]
    else:  # the dual, through Z Z^T: coef = Z^T U (E + lambda)^-1 U^T y
        e, U = np.linalg.eigh(Z @ Z.T)
        UtY = U.T @ Yc  # (n, k)
        coefs = [Z.T @ (U @ (UtY / (e + a * n)[:, None])) for a in alphas]
    return mean, scale, coefs, y0


def fit_ridge(X: np.ndarray, Y: np.ndarray, alpha: float) -> RidgeProbe:
    """Ridge regression of Y (n, k) (or (n,)) on X (n, p) at penalty alpha * n on standardised features."""
    Y2 = Y.reshape(len(Y), -1).astype(np.float64)
    mean, scale, coefs, y0 = _ridge_path(X.astype(np.float64), Y2, [alpha])
    return RidgeProbe(mean, scale, coefs[0], y0, float(alpha))


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination pooled over output columns, 1 - sum SSE / sum SST (1 = perfect, 0 = the test
    mean, < 0 worse). Pooling weights each column by its variance, so a nearly constant column (a rolling ball's
    height) cannot dominate the score."""
    y = y.reshape(len(y), -1)
    pred = pred.reshape(len(pred), -1)
    sst = ((y - y.mean(0)) ** 2).sum()
    if sst <= 1e-12:
        return float("nan")
    return float(1 - ((y - pred) ** 2).sum() / sst)


def auc_score(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of scores for 0/1 labels (Mann-Whitney U, ties counted half); NaN with a single class."""
    y = np.asarray(y).reshape(-1) > 0.5
    score = np.asarray(score, dtype=float).reshape(-1)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    _, first, counts = np.unique(score[order], return_index=True, return_counts=True)
    ranks = np.empty(len(score))
    ranks[order] = np.repeat(first + (counts - 1) / 2 + 1, counts)  # 1-based ranks, ties share their mean
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


METRICS = {"r2": r2_score, "auc": auc_score}


def group_folds(groups: np.ndarray, folds: int, seed: int) -> list[np.ndarray]:
    """Split the distinct group ids (clips) into `folds` seeded folds; returns a boolean test mask per fold."""
    ids = np.unique(groups)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(ids)
    return [np.isin(groups, part) for part in np.array_split(perm, folds) if len(part)]


def cv_select(X: np.ndarray, Y: np.ndarray, groups: np.ndarray, metric: str, seed: int,
              alphas=ALPHAS, folds: int = CV_FOLDS) -> tuple[float, float]:
    """(best alpha, its cross-validated score): folds over whole clips, so no clip is in its own fold's fit."""
    fn = METRICS[metric]
    Y2 = Y.reshape(len(Y), -1).astype(np.float64)
    X = X.astype(np.float64)
    masks = group_folds(groups, folds, seed)
    scores = np.full((len(masks), len(alphas)), np.nan)
    for i, test in enumerate(masks):
        if test.all() or not test.any():
            continue
        mean, scale, coefs, y0 = _ridge_path(X[~test], Y2[~test], alphas)
        Zt = (X[test] - mean) / scale
        for j, c in enumerate(coefs):
            scores[i, j] = fn(Y2[test], Zt @ c + y0)
    ok = np.isfinite(scores).any(0)
    if not ok.any():  # e.g. a 0/1 task whose folds each hold one class
        return float(alphas[len(alphas) // 2]), float("nan")
    mean_scores = np.where(ok, np.nanmean(np.where(np.isfinite(scores), scores, np.nan), 0), -np.inf)
    j = int(np.argmax(mean_scores))
    return float(alphas[j]), float(mean_scores[j])


def bootstrap(y: np.ndarray, preds: dict[str, np.ndarray], groups: np.ndarray, metric: str, n: int,
              seed: int) -> dict[str, np.ndarray]:
    """The metric of each prediction set on `n` resamples of the test clips (with replacement), the same
    resamples for every set so that differences are paired. Returns {name: (n,) scores}."""
    fn = METRICS[metric]
    ids, inverse = np.unique(groups, return_inverse=True)
    rows = [np.flatnonzero(inverse == i) for i in range(len(ids))]
    rng = np.random.default_rng(seed)
    out = {k: np.empty(n) for k in preds}
    for b in range(n):
        pick = np.concatenate([rows[i] for i in rng.integers(len(ids), size=len(ids))])
        for k, p in preds.items():
            out[k][b] = fn(y[pick], p[pick])
    return out
