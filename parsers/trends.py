"""Trends: is a count of articles well above its trailing baseline? Pure.

For each period (a day or a week) the baseline is the ``window`` periods before it. From their
counts come a mean ``m`` (with one pseudo-article added, so a subject never seen before still gets
a finite answer) and a variance ``v``. The period's count ``x`` is tested one-sided against a
negative binomial with that mean and variance (method of moments), which is a Poisson when the
window shows no over-dispersion (``v <= m``): ``p = P(X >= x)``. News counts are over-dispersed
(quiet weekends, busy summits), and a Poisson test would flag half the busy days; the negative
binomial widens the band by the window's own variance. This is the count baseline of outbreak
detection, simplified to a trailing window without seasonal terms: Farrington, Andrews, Beale and
Catchpole (1996), "A statistical algorithm for the early detection of outbreaks of infectious
disease", J. R. Statist. Soc. A 159, 547-563; and its negative binomial revision, Noufaily et al.
(2013), "An improved algorithm for outbreak detection in multiple surveillance systems",
Statistics in Medicine 32, 1206-1222 (R's ``surveillance::farringtonFlexible``).

A period is flagged rising when ``p < alpha`` and ``x >= min_count`` (Farrington's rule of at
least a few cases: one or two articles are never a trend) and ``x >= min_ratio * m`` (the digest's
"well above"). A period gets a baseline only when at least ``min_history`` of its window's periods
were observed (the warehouse existed then); earlier ones show their counts, unflagged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ALPHA = 0.01
MIN_COUNT = 3
MIN_RATIO = 2.0
# by period: (window, min_history): four weeks of days, a quarter of weeks
WINDOWS = {"day": (28, 7), "week": (12, 4)}
_TAIL_TERMS = 100_000  # summing the upper tail stops here at the latest (far past any real count)


@dataclass(frozen=True)
class TrendTest:
    window: int
    min_history: int
    alpha: float = ALPHA
    min_count: int = MIN_COUNT
    min_ratio: float = MIN_RATIO

    @classmethod
    def for_period(cls, by: str) -> TrendTest:
        window, min_history = WINDOWS[by]
        return cls(window, min_history)

    def describe(self, unit: str) -> str:
        return (f"rising: p < {self.alpha:g} in a one-sided negative binomial test against the previous "
                f"{self.window} {unit}s (their mean and variance), with at least {self.min_count} articles "
                f"and {self.min_ratio:g}× the baseline")  # fmt: skip


@dataclass(frozen=True)
class Assessment:
    baseline: float | None  # mean articles per period over the observed window (None: too little history)
    p_value: float | None
    rising: bool


def _log_pmf(k: int, mean: float, var: float) -> float:
    if var <= mean * (1 + 1e-9):  # no over-dispersion: Poisson
        return k * math.log(mean) - mean - math.lgamma(k + 1)
    p = mean / var
    r = mean * mean / (var - mean)
    return math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1) + r * math.log(p) + k * math.log1p(-p)


def upper_tail(x: int, mean: float, var: float) -> float:
    """P(X >= x) for a negative binomial of this mean and variance (a Poisson when var <= mean)."""
    if x <= 0:
        return 1.0
    if x <= mean:  # the bulk: one minus the few terms below x
        return min(1.0, max(0.0, 1.0 - sum(math.exp(_log_pmf(k, mean, var)) for k in range(x))))
    total = 0.0  # the tail summed from x up, so a tiny p keeps its digits
    for k in range(x, x + _TAIL_TERMS):
        term = math.exp(_log_pmf(k, mean, var))
        total += term
        if term <= total * 1e-12:
            break
    return min(1.0, total)


def assess(counts: list[int | None], test: TrendTest) -> list[Assessment]:
    """For each period of ``counts`` (oldest first; None where the warehouse did not exist yet), its
    baseline, p-value and whether it is rising, against the periods before it."""
    out = []
    for i, x in enumerate(counts):
        history = [c for c in counts[max(0, i - test.window) : i] if c is not None]
        if x is None or len(history) < test.min_history:
            out.append(Assessment(None, None, False))
            continue
        n = len(history)
        raw_mean = sum(history) / n
        mean = (sum(history) + 1) / n  # one pseudo-article: a subject never seen before still has a baseline
        var = sum((c - raw_mean) ** 2 for c in history) / (n - 1) if n > 1 else mean
        p = upper_tail(x, mean, var)
        rising = p < test.alpha and x >= test.min_count and x >= test.min_ratio * raw_mean
        out.append(Assessment(round(raw_mean, 3), p, rising))
    return out
