"""Alternating rounds (every configuration takes every position, spread, the noisy flag) and the one
bench-configuration type that bench, `bench --tune` and the sweep spec share."""

from __future__ import annotations

import pytest

from omz_mobilenet.bench.options import BenchConfig, BenchOptions, round_options
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


def test_sweep_spec_items_are_bench_configs_with_the_keys_of_older_databases():
    """The spec's `bench:` items are the bench type itself; fields left unset stay out of the key, so
    the cells of a database written before the type was shared are still found."""
    from omz_mobilenet.sweep.spec import SweepSpec

    spec = SweepSpec.model_validate({"bench": [{}, {"hint": "throughput", "batch": 4, "tune": True}]})
    plain, tuned = spec.bench
    assert type(plain) is BenchConfig and type(tuned) is BenchConfig
    assert plain.key() == '{"batch":1,"hint":"latency","infer_precision":"f32","tune":false}'
    assert tuned.key() == '{"batch":4,"hint":"throughput","infer_precision":"f32","tune":true}'


def test_options_are_a_config_plus_how_to_measure_it():
    config = BenchConfig(hint="throughput", batch=2, infer_precision="default", nstreams=2, max_latency_ms=5.0)
    opts = BenchOptions.of(config, device="CPU", time_s=4.0, rounds=2)
    assert opts.config == config and (opts.hint, opts.batch, opts.nstreams, opts.rounds) == ("throughput", 2, 2, 2)
    assert opts.infer_hint is None and opts.infer_precision_label == "device default"
    tuned = opts.with_config(BenchConfig(infer_precision="bf16", hint="none", nireq=4))
    assert (tuned.hint, tuned.nireq, tuned.infer_hint, tuned.batch, tuned.time_s) == ("none", 4, "bf16", 1, 4.0)


def test_tune_searches_bench_configs():
    from omz_mobilenet.bench.tune import search_space

    space = search_space(["f32", "bf16"], cores=2)
    assert all(type(c) is BenchConfig for c in space) and len(set(space)) == len(space) == 12
    assert {c.infer_precision for c in space} == {"f32", "bf16"}


@pytest.mark.parametrize(
    "values, message",
    [
        ({"batch": 0}, "argument --batch: must be at least 1 (got '0')"),
        ({"time_s": 0}, "argument --time: must be more than 0 (got '0')"),
        ({"rounds": 0}, "argument --rounds: must be at least 1 (got '0')"),
        ({"hint": "fast"}, "argument --hint: must be one of latency, throughput, none (got 'fast')"),
        ({"max_latency_ms": -1}, "argument --max-latency: must be more than 0 (got '-1')"),
    ],
)
def test_a_refused_value_reads_as_its_flag_would(values, message):
    """Options built in code get the words argparse gives the same value (the shared validators)."""
    from pydantic import ValidationError

    from omz_mobilenet.bench.options import refusal

    with pytest.raises(ValidationError) as caught:
        BenchOptions(**values)
    assert refusal(caught.value).message == message
