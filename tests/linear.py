"""Linear time, checked as a ratio within one run: four times the input may take about
four times as long, never sixteen."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_seconds(function: Callable[[str], object], text: str) -> float:
    """The fastest of three runs of `function(text)`."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        function(text)
        best = min(best, time.perf_counter() - started)
    return best


def assert_linear(function: Callable[[str], object], make: Callable[[int], str]) -> None:
    n = 20_000
    small, large = best_seconds(function, make(n)), best_seconds(function, make(4 * n))
    assert large < 8 * small + 0.02, (small, large)
