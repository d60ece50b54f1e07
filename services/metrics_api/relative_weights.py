"""Johnson's relative weights (2000) of predictors on an outcome, and their bootstrap intervals (numpy only).

Each predictor's raw weight is its share of R² after the predictors are replaced by their closest orthonormal
counterparts: with Rxx = V·diag(λ)·Vᵀ, Λ = V·diag(√λ)·Vᵀ (the predictors' correlations with the orthonormal
variables) and β = Λ⁻¹·rxy, weight_j = Σ_k Λ_jk²·β_k², and the weights add up to R². Nothing here touches the
database: callers hand over the distinct score vectors of the responses that answered everything, with counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]
RESAMPLES = 200
SEED = 20261202
# Resamples of more rows than this are drawn at this size and their spread rescaled by sqrt(size/n) (the
# "m out of n" bootstrap): the interval of a 1 M-response survey then costs what a 10 k one does.
MAX_RESAMPLE_ROWS = 10_000
EIGEN_FLOOR = 1e-12
CHUNK = 20  # resamples computed at once (20 x 10,000 x 9 floats: 14 MB)


@dataclass(frozen=True)
class Scores:
    """Distinct score vectors (rows; the outcome last) and how many responses gave each: a weighted sample."""

    values: Matrix
    counts: Matrix

    @property
    def n(self) -> int:
        """How many responses."""
        return int(self.counts.sum())

    def mean(self) -> Matrix:
        """Each column's mean over the responses."""
        mean: Matrix = self.counts @ self.values / self.counts.sum()
        return mean

    def std(self) -> Matrix:
        """Each column's (population) standard deviation over the responses."""
        spread: Matrix = np.sqrt(self.counts @ (self.values - self.mean()) ** 2 / self.counts.sum())
        return spread

    def corr(self) -> Matrix:
        """The columns' correlation matrix (NaN where a column is constant)."""
        spread = self.std()
        centred = (self.values - self.mean()) / np.where(spread > 0, spread, np.nan)
        corr: Matrix = (centred.T * self.counts) @ centred / self.counts.sum()
        return corr

    def columns(self, indices: list[int]) -> Scores:
        """The same responses, only these columns."""
        return Scores(self.values[:, indices], self.counts)


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


def relative_weights(scores: Scores) -> Weights:
    """The relative weights of the attribute columns on the last one (no column may be constant)."""
    return from_correlations(scores.corr())


def _percent_of_stack(corr: Matrix) -> Matrix:
    """`from_correlations(...).percent` of a stack of correlation matrices at once (B x p x p → B x m)."""
    rxx, rxy = corr[:, :-1, :-1], corr[:, :-1, -1:]
    values, vectors = np.linalg.eigh(rxx)
    root = (vectors * np.sqrt(np.clip(values, 0.0, None))[:, None, :]) @ np.swapaxes(vectors, 1, 2)
    beta = np.linalg.pinv(root, rcond=EIGEN_FLOOR, hermitian=True) @ rxy
    raw = ((root**2) @ (beta**2))[:, :, 0]
    percent: Matrix = 100.0 * raw / raw.sum(axis=1, keepdims=True)
    return percent


def _covariance_to_correlation(covariance: Matrix) -> Matrix:
    """B x p x p covariances → correlations (NaN where a column is constant)."""
    spread = np.sqrt(np.clip(np.diagonal(covariance, axis1=1, axis2=2), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr: Matrix = covariance / (spread[:, :, None] * spread[:, None, :])
    return corr


def _drawn_correlations(values: Matrix, drawn: npt.NDArray[np.integer[Any]]) -> Matrix:
    """The correlations of each resample given as rows drawn from `values` (B x size indices)."""
    samples = values[drawn]
    centred = samples - samples.mean(axis=1, keepdims=True)
    return _covariance_to_correlation(np.swapaxes(centred, 1, 2) @ centred)


def _weighted_correlations(values: Matrix, weights: Matrix) -> Matrix:
    """The correlations of each resample given as counts of the distinct vectors (B x k weights)."""
    total = weights.sum(axis=1)[:, None]
    mean = weights @ values / total
    second = (values.T[None, :, :] * weights[:, None, :]) @ values / total[:, :, None]
    return _covariance_to_correlation(second - mean[:, :, None] * mean[:, None, :])


def bootstrap_percent(scores: Scores, *, resamples: int = RESAMPLES, seed: int = SEED) -> Matrix:
    """`resamples` x m bootstrap replicates of the weights in % (NaN where a resample has a constant column).

    A resample draws `size` responses with replacement (each distinct vector with probability count/n): as
    multinomial counts of the vectors when they are fewer than `size`, else as drawn rows. Resamples are
    computed in stacks of `CHUNK`, all numpy."""
    n = scores.n
    size = min(n, MAX_RESAMPLE_ROWS)
    full = relative_weights(scores).percent
    rng = np.random.default_rng(seed)
    shares = scores.counts / scores.counts.sum()
    # many distinct vectors: one index per response, so a draw is a plain gather
    responses = np.repeat(np.arange(len(shares)), scores.counts.astype(np.int64)) if len(shares) > size else None
    replicates = []
    for start in range(0, resamples, CHUNK):
        stack = min(CHUNK, resamples - start)
        if responses is None:
            corr = _weighted_correlations(scores.values, rng.multinomial(size, shares, size=stack).astype(np.float64))
        else:
            corr = _drawn_correlations(scores.values, responses[rng.integers(0, n, size=(stack, size))])
        degenerate = np.isnan(corr).any(axis=(1, 2))
        corr[degenerate] = np.eye(corr.shape[1])  # computed, then discarded
        percent = _percent_of_stack(corr)
        percent[degenerate] = np.nan
        replicates.append(full + (percent - full) * np.sqrt(size / n))
    stacked: Matrix = np.concatenate(replicates)
    return stacked


def percentile_interval(replicates: Matrix, level: float = 0.95) -> tuple[Matrix, Matrix]:
    """The percentile interval of each column of the replicates (NaN rows ignored)."""
    tail = 100.0 * (1.0 - level) / 2.0
    low = np.nanpercentile(replicates, tail, axis=0)
    high = np.nanpercentile(replicates, 100.0 - tail, axis=0)
    return low, high
