"""Johnson's relative weights (2000) of predictors on an outcome, and their bootstrap intervals (numpy only).

Each predictor's raw weight is its share of R² after the predictors are replaced by their closest orthonormal
counterparts: with Rxx = V·diag(λ)·Vᵀ, Λ = V·diag(√λ)·Vᵀ (the predictors' correlations with the orthonormal
variables) and β = Λ⁻¹·rxy, weight_j = Σ_k Λ_jk²·β_k², and the weights add up to R². Nothing here touches the
database: callers hand over the score matrix of the responses that answered everything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]
RESAMPLES = 200
SEED = 20261202
# Resamples of more rows than this are drawn at this size and their spread rescaled by sqrt(size/n) (the
# "m out of n" bootstrap): the interval of a 1 M-response survey then costs what a 10 k one does.
MAX_RESAMPLE_ROWS = 10_000
EIGEN_FLOOR = 1e-12


@dataclass(frozen=True)
class Weights:
    """Raw relative weights (adding up to `r2`) and R² of one fit."""

    raw: Matrix
    r2: float

    @property
    def percent(self) -> Matrix:
        """The weights in % of R² (adding up to 100); zeros when R² is 0."""
        if self.r2 <= 0:
            return np.zeros_like(self.raw)
        return 100.0 * self.raw / self.r2


def _root(rxx: Matrix) -> Matrix:
    """Λ = Rxx^½ by eigen-decomposition (tiny negative eigenvalues of a near-singular matrix are clipped)."""
    values, vectors = np.linalg.eigh(rxx)
    root: Matrix = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    return root


def from_correlations(corr: Matrix) -> Weights:
    """The relative weights of a correlation matrix whose last row and column are the outcome's."""
    rxx, rxy = corr[:-1, :-1], corr[:-1, -1]
    root = _root(rxx)
    beta = np.linalg.pinv(root, rcond=EIGEN_FLOOR, hermitian=True) @ rxy
    raw = (root**2) @ (beta**2)
    return Weights(raw=raw, r2=float(raw.sum()))


def relative_weights(scores: Matrix) -> Weights:
    """The relative weights of columns 0..m-1 of `scores` on its last column (no column may be constant)."""
    return from_correlations(np.asarray(np.corrcoef(scores, rowvar=False), dtype=np.float64))


def bootstrap_percent(scores: Matrix, *, resamples: int = RESAMPLES, seed: int = SEED) -> Matrix:
    """`resamples` x m bootstrap replicates of the weights in % (NaN where a resample has a constant column)."""
    n = scores.shape[0]
    size = min(n, MAX_RESAMPLE_ROWS)
    scale = np.sqrt(size / n)
    full = relative_weights(scores).percent
    rng = np.random.default_rng(seed)
    replicates = np.full((resamples, scores.shape[1] - 1), np.nan)
    for b in range(resamples):  # a loop over resamples, each one vectorised over its rows
        sample = scores[rng.integers(0, n, size=size)]
        if np.all(sample.std(axis=0) > 0):
            replicates[b] = full + (relative_weights(sample).percent - full) * scale
    return replicates


def percentile_interval(replicates: Matrix, level: float = 0.95) -> tuple[Matrix, Matrix]:
    """The percentile interval of each column of the replicates (NaN rows ignored)."""
    tail = 100.0 * (1.0 - level) / 2.0
    low = np.nanpercentile(replicates, tail, axis=0)
    high = np.nanpercentile(replicates, 100.0 - tail, axis=0)
    return low, high
