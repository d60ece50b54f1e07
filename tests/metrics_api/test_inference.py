"""The distribution functions metrics_api implements itself, against tables and an independent integration."""

from __future__ import annotations

import math

import pytest

from services.metrics_api import inference

# Student's t, 97.5 % quantiles (standard tables).
T_TABLE = {1: 12.7062047362, 2: 4.3026527297, 5: 2.5705818356, 9: 2.2621571628, 30: 2.0422724563, 120: 1.9799304050}


def t_density(x: float, df: float) -> float:
    front = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    density: float = front * (1 + x * x / df) ** (-(df + 1) / 2)
    return density


def two_sided_by_simpson(t: float, df: float, steps: int = 20000) -> float:
    """1 - 2∫₀^|t| f: Simpson's rule over the density, nothing shared with the service's continued fraction."""
    h = abs(t) / steps
    total = t_density(0, df) + t_density(abs(t), df)
    total += sum((4 if i % 2 else 2) * t_density(i * h, df) for i in range(1, steps))
    return 1 - 2 * total * h / 3


@pytest.mark.parametrize(("df", "expected"), sorted(T_TABLE.items()))
def test_t_quantile_matches_the_table(df: int, expected: float) -> None:
    assert inference.t_quantile(0.975, df) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("t", "df"), [(2.0, 5), (0.3, 1), (1.7, 22.99), (3.5, 7.4), (-2.2, 40)])
def test_t_two_sided_p_matches_integration(t: float, df: float) -> None:
    assert inference.t_two_sided_p(t, df) == pytest.approx(two_sided_by_simpson(t, df), abs=1e-8)


def test_welch_by_hand() -> None:
    # means 5 and 3, variances 4 and 9, n 10 and 15: t = 2 / sqrt(0.4 + 0.6) = 2,
    # df = (0.4 + 0.6)² / (0.4²/9 + 0.6²/14)
    df = 1 / (0.4**2 / 9 + 0.6**2 / 14)
    p = inference.welch_test((5.0, 4.0, 10), (3.0, 9.0, 15))
    assert p == pytest.approx(two_sided_by_simpson(2.0, df), abs=1e-8)
    assert inference.welch_test((5.0, 0.0, 10), (5.0, 0.0, 12)) is None


def test_proportion_test_of_equal_all_or_nothing_samples() -> None:
    assert inference.proportion_test(10, 10, 7, 7) == 1.0
    assert inference.proportion_test(0, 10, 0, 7) == 1.0
