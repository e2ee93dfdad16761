"""Strategy decisions: an independent SMA-cross reference, live = batch, and no lookahead."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.backtest.helpers import BTC_1H, BTC_FUNDING, random_walk, real
from viper.backtest import inputs
from viper.domain import Candle
from viper.strategies import get_strategy
from viper.strategies.base import Bars, Decisions, decision_at
from viper.strategies.viper import carry_forward


def bars_of(path: str, n: int | None = None, funding: str | None = None) -> Bars:
    frame = real(path)
    if n is not None:
        frame = frame.head(n)
    cols = inputs.columns("X", frame)
    bars, rates = inputs.funding_bars(
        cols["timestamp"], 3_600_000, real(funding) if funding else None
    )
    return inputs.make_bars(cols, inputs.funding_per_bar(frame.height, bars, rates))


def walk_bars(n: int, seed: int) -> Bars:
    o, h, lo, c = (np.array(col) for col in zip(*random_walk(n, seed), strict=True))
    ts = np.arange(n, dtype=np.int64) * 60_000
    return Bars(ts, o, h, lo, c, np.abs(np.sin(np.arange(n))) + 1.0, np.full(n, np.nan))


def test_sma_cross_marks_the_crosses_of_an_independent_reference() -> None:
    bars = bars_of(BTC_1H)
    fast = np.convolve(bars.close, np.ones(10) / 10, "valid")[40:]
    slow = np.convolve(bars.close, np.ones(50) / 50, "valid")
    side = carry_forward(np.where(fast == slow, np.nan, np.sign(fast - slow)))  # ties: no side
    up = np.flatnonzero((side[1:] > 0) & (side[:-1] < 0)) + 50
    down = np.flatnonzero((side[1:] < 0) & (side[:-1] > 0)) + 50

    out = get_strategy("sma_cross").decide(bars, get_strategy("sma_cross").params())

    assert np.array_equal(np.flatnonzero(out.entry_long), up)
    assert np.array_equal(np.flatnonzero(out.entry_short), down)
    assert np.array_equal(out.exit_long, out.entry_short)
    assert np.isnan(out.stop_distance).all()


def test_sma_cross_stops_are_fractions_of_the_decision_close_and_shorts_can_be_off() -> None:
    bars = bars_of(BTC_1H, 2_000)
    strategy = get_strategy("sma_cross")
    out = strategy.decide(
        bars, strategy.params({"sl_pct": 0.02, "tp_pct": 0.05, "allow_short": False})
    )

    assert not out.entry_short.any() and out.exit_long.any()
    assert np.allclose(out.stop_distance, bars.close * 0.02)
    assert np.allclose(out.take_profit_distance, bars.close * 0.05)


def live_decisions(name: str, params: dict, bars: Bars) -> list:
    strategy = get_strategy(name)
    live = strategy.incremental(strategy.params(params))
    out = []
    for i in range(bars.close.shape[0]):
        candle = Candle(
            ts_ms=int(bars.timestamp[i]),
            open=float(bars.open[i]),
            high=float(bars.high[i]),
            low=float(bars.low[i]),
            close=float(bars.close[i]),
            volume=float(bars.volume[i]),
        )
        out.append(live.update(candle, float(bars.funding[i])))
    return out


def batch_decisions(name: str, params: dict, bars: Bars) -> list:
    strategy = get_strategy(name)
    batch = strategy.decide(bars, strategy.params(params))
    return [decision_at(batch, i, int(bars.timestamp[i])) for i in range(bars.close.shape[0])]


def same(a: list, b: list) -> None:
    """Decision lists equal, NaN equal to NaN."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        for field in x.__struct_fields__:
            u, v = getattr(x, field), getattr(y, field)
            assert u == v or (u != u and v != v), (x, y)


@pytest.mark.parametrize(
    ("name", "params", "n"),
    [
        ("sma_cross", {"sl_pct": 0.01, "tp_pct": 0.03}, 20_000),
        ("viper", {"trailing_atr": 2.0}, 6_000),
        ("viper", {"threshold": 70, "exit_threshold": 40, "allow_short": False}, 6_000),
    ],
)
def test_live_form_gives_the_batch_decisions_bit_for_bit(name: str, params: dict, n: int) -> None:
    bars = bars_of(BTC_1H, n, funding=BTC_FUNDING)

    live, batch = live_decisions(name, params, bars), batch_decisions(name, params, bars)

    same(live, batch)
    assert sum(d.entry_long or d.entry_short for d in batch) > 10


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(["sma_cross", "viper"]),
    seed=st.integers(0, 1_000),
    cut=st.integers(30, 390),
)
def test_decisions_never_look_ahead(name: str, seed: int, cut: int) -> None:
    full = walk_bars(400, seed)
    prefix = Bars(*(a[:cut] for a in full))
    strategy = get_strategy(name)
    params = strategy.params({"fast": 3, "slow": 12} if name == "sma_cross" else {"lookback": 10})

    a, b = strategy.decide(full, params), strategy.decide(prefix, params)

    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x[:cut], y)


def test_viper_enters_in_the_score_direction_with_atr_stops() -> None:
    bars = bars_of(BTC_1H, 5_000)
    strategy = get_strategy("viper")
    params = strategy.params({"threshold": 75, "exit_threshold": 45})
    out: Decisions = strategy.decide(bars, params)

    entries = out.entry_long | out.entry_short
    assert out.entry_long.any() and out.entry_short.any()
    ratio = out.take_profit_distance[entries] / out.stop_distance[entries]
    assert np.allclose(ratio, 3.0 / 1.5)
    assert not (out.entry_long & out.exit_long).any()


def test_carry_forward_fills_gaps_with_the_last_known_value() -> None:
    values = np.array([np.nan, 1.0, np.nan, np.nan, 2.0, np.nan])

    assert np.array_equal(carry_forward(values), [np.nan, 1, 1, 1, 2, 2], equal_nan=True)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 1_000),
    fast=st.integers(2, 12),
    slow=st.integers(13, 40),
    allow_short=st.booleans(),
    sl_pct=st.sampled_from([0.0, 0.01]),
    tp_pct=st.sampled_from([0.0, 0.02]),
)
def test_sma_cross_packed_form_is_decide_packed(
    seed: int, fast: int, slow: int, allow_short: bool, sl_pct: float, tp_pct: float
) -> None:
    strategy = get_strategy("sma_cross")
    params = strategy.params(
        {"fast": fast, "slow": slow, "allow_short": allow_short, "sl_pct": sl_pct, "tp_pct": tp_pct}
    )
    bars = walk_bars(600, seed)
    packed = strategy.packed(bars, params)
    assert packed is not None
    reference = inputs.compact(strategy.decide(bars, params), (np.empty(0), np.empty(0)))
    np.testing.assert_array_equal(packed[0], reference.flags)
    np.testing.assert_array_equal(packed[1], reference.entry_bars)
    np.testing.assert_array_equal(packed[2], reference.distances)
