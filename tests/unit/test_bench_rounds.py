"""Alternating rounds: every configuration takes every position, spread and the noisy flag."""

from __future__ import annotations

import pytest

from omz_mobilenet.bench.run import BenchOptions, round_options
from omz_mobilenet.bench.session import rotated
from omz_mobilenet.bench.stats import NOISY_SPREAD, round_summary


def test_rotation_puts_every_item_in_every_position():
    items = ["a", "b", "c"]
    orders = [rotated(items, r) for r in range(3)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    for position in range(3):
        assert {order[position] for order in orders} == set(items)


def test_round_budgets_add_up_to_what_was_asked():
    opts = BenchOptions(time_s=9.0, niter=None)
    assert sum(round_options(opts, 3, r).time_s for r in range(3)) == pytest.approx(9.0)
    counted = BenchOptions(time_s=None, niter=20)
    assert [round_options(counted, 3, r).niter for r in range(3)] == [7, 7, 6]


def test_spread_is_range_over_median_of_round_medians():
    summary = round_summary([[1.0, 1.0, 1.0], [1.2, 1.2], [0.9]], [100.0, 90.0, 110.0])
    assert summary.medians_ms == [1.0, 1.2, 0.9]
    assert summary.median_ms == pytest.approx(1.0)
    assert summary.spread == pytest.approx((1.2 - 0.9) / 1.0)
    assert summary.noisy is True and summary.median_fps == pytest.approx(100.0)


def test_steady_rounds_are_not_noisy():
    summary = round_summary([[2.0], [2.05], [1.98]], [500.0, 490.0, 505.0])
    assert summary.spread < NOISY_SPREAD and summary.noisy is False
