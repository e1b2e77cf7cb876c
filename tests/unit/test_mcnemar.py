"""verify's statistics (omz_mobilenet.verify.stats) on counts small enough to check by hand."""

from __future__ import annotations

import math

import pytest

from omz_mobilenet.verify import stats
from omz_mobilenet.verify.stats import PairedCounts


def test_binomial_tail_small_cases_by_hand():
    assert stats.binomial_upper_tail(8, 8) == 1 / 256  # all eight discordant images against the IR
    assert stats.binomial_upper_tail(4, 5) == 6 / 32  # C(5,4) + C(5,5) = 6 of 2^5
    assert stats.binomial_upper_tail(0, 5) == 1.0
    assert stats.binomial_upper_tail(6, 5) == 0.0
    # C(22,16..22) = 74613 + 26334 + 7315 + 1540 + 231 + 22 + 1 = 110056 of 2^22
    assert stats.binomial_upper_tail(16, 22) == 110056 / 2**22


def test_mcnemar_is_one_sided_and_uses_only_discordant_images():
    assert stats.mcnemar_worse_p(4, 1) == pytest.approx(0.1875)
    assert stats.mcnemar_worse_p(1, 4) == 31 / 32  # the IR is better: no evidence it is worse
    assert stats.mcnemar_worse_p(0, 0) == 1.0  # no discordant image, no evidence
    assert stats.mcnemar_worse_p(7, 0) == 1 / 128 < 0.01 < stats.mcnemar_worse_p(6, 0) == 1 / 64
    # Cavo et al. 2012 (b = 16, c = 6): two-sided exact conditional McNemar p = 0.0525
    assert 2 * stats.mcnemar_worse_p(16, 6) == pytest.approx(0.05248, abs=1e-5)


def test_paired_counts_from_verdicts():
    original = [True, True, True, False, False, True]
    ir = [True, False, True, True, False, False]
    counts = stats.paired_counts(original, ir)
    assert counts == PairedCounts(both_right=2, original_only=2, ir_only=1, both_wrong=1)
    assert (counts.total, counts.original_hits, counts.ir_hits, counts.loss) == (6, 4, 3, 1)
    with pytest.raises(ValueError):
        stats.paired_counts([True], [True, False])


def test_newcombe_interval_matches_the_published_example():
    # Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables (2017), ch. 8, Cavo et al.:
    # table [[59, 6], [16, 80]], difference -0.0621, Newcombe square-and-add 95 % CI -0.1186 to -0.0046.
    counts = PairedCounts(both_right=59, original_only=16, ir_only=6, both_wrong=80)
    low, high = stats.newcombe_paired_interval(counts)
    assert (round(low, 4), round(high, 4)) == (-0.1186, -0.0046)


def test_newcombe_interval_has_width_when_nothing_differs():
    low, high = stats.newcombe_paired_interval(PairedCounts(46, 0, 0, 54))
    assert -0.05 < low < 0 < high < 0.05  # 100 identical answers still leave doubt
    assert stats.newcombe_paired_interval(PairedCounts(0, 0, 0, 0)) == (-1.0, 1.0)


def test_min_count_survives_float_rounding():
    assert 0.07 * 100 > 7  # why min_count guards: a naive ceil would demand 8 of 100
    assert stats.min_count(0.07, 100) == 7
    assert stats.min_count(0.97, 100) == 97
    assert stats.min_count(0.8, 40) == 32
    assert stats.min_count(0.85, 7) == math.ceil(5.95)


def test_floor_margin_counts_flips_until_failure():
    assert stats.floor_margin(85, 100, 0.80) == 6  # 85 -> 79 agreeing images takes 6 flips
    assert stats.floor_margin(80, 100, 0.80) == 1
    assert stats.floor_margin(79, 100, 0.80) == 0


def test_fails_paired_needs_both_significance_and_a_material_loss():
    assert not stats.fails_paired(4, 1, 0.01, 2)  # loses 3 > 2 images, but p = 0.19: noise
    assert stats.fails_paired(8, 0, 0.01, 2)  # p = 1/256 and loses 8
    assert not stats.fails_paired(40, 10, 0.01, 40)  # significant (p ~ 1e-5) but within a 40-image margin


def test_paired_margin_searches_the_worst_flips():
    # a = 63, b = 4, c = 1: three new errors on shared hits and one on the IR's own gain give
    # b = 7, c = 0, p = 1/128 < 0.01 and a loss of 7 > 2: four flips; three are never enough
    counts = PairedCounts(both_right=63, original_only=4, ir_only=1, both_wrong=32)
    assert stats.paired_margin(counts, 0.01, 2) == 4
    assert stats.paired_margin(PairedCounts(10, 8, 0, 0), 0.01, 2) == 0  # already failing
    assert stats.paired_margin(PairedCounts(2, 0, 0, 3), 0.01, 2) == 3  # 5 images can never prove a loss
