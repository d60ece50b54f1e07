"""The bootstrap of relative weights on both of its paths: few distinct score vectors (multinomial counts) and
more distinct vectors than a resample draws (drawn rows); deterministic for a seed, covering the estimate."""

from __future__ import annotations

import numpy as np
import pytest

from services.metrics_api.relative_weights import Scores, bootstrap_percent, percentile_interval, relative_weights


def sample(n: int, points: int, seed: int) -> Scores:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, points + 1, (n, 5)).astype(float)
    y = np.clip(np.rint(x @ np.array([1.0, 0.6, 0.3, 0.1, 0.0]) / 2 + rng.normal(0, 1, n)), 0, 10)
    values, counts = np.unique(np.column_stack([x, y]), axis=0, return_counts=True)
    return Scores(values, counts.astype(float))


@pytest.mark.parametrize(("n", "points"), [(2_000, 2), (30_000, 7)])  # 64·11 vectors ≤ 2,000; 7⁵ > 10,000
def test_the_interval_covers_the_estimate_and_repeats(n: int, points: int) -> None:
    scores = sample(n, points, seed=1)
    estimate = relative_weights(scores).percent
    replicates = bootstrap_percent(scores)
    low, high = percentile_interval(replicates)
    assert replicates.shape == (200, 5)
    assert np.all(low <= estimate + 1e-9) and np.all(estimate <= high + 1e-9)
    assert np.all(high - low < 40)
    assert np.array_equal(bootstrap_percent(scores), replicates)  # a fixed seed: the same interval every time
    assert np.allclose(np.nanmean(replicates.sum(axis=1)), 100.0)
