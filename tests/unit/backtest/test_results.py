"""Backtest results: the figures, their JSON form, ids, and request validation."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.backtest.helpers import BTC_1H, HOUR, frame, random_walk, real, run
from viper.backtest import BacktestResult, run_backtest
from viper.backtest.metrics import curve, growth, iso, return_ratios, trade_stats
from viper.errors import DataError, ValidationError
from viper.risk_rules import MarketSpec

SMA = {"fast": 3, "slow": 8, "sl_pct": 0.01, "tp_pct": 0.02}


def numpy_figures(equity: np.ndarray, initial: float, bar_ms: int) -> tuple[float, ...]:
    """Sharpe, sortino and max drawdown of an equity curve, computed plainly."""
    returns = equity / np.concatenate([[initial], equity[:-1]]) - 1
    scale = math.sqrt(365 * 86_400_000 / bar_ms)
    downside = math.sqrt(np.mean(np.minimum(returns, 0) ** 2))
    peak = np.maximum.accumulate(np.maximum(equity, initial))
    return (
        returns.mean() / returns.std(ddof=1) * scale,
        returns.mean() / downside * scale,
        float((1 - equity / peak).max()),
    )


def test_sharpe_sortino_and_drawdown_are_the_plain_per_bar_figures() -> None:
    result = run_backtest({"X": frame(random_walk(500, 4))}, "sma_cross", SMA, curve_points=0)
    equity = np.array(result.equity_curve.equity)

    sharpe, sortino, max_dd = numpy_figures(equity, 10_000.0, HOUR)

    assert result.sharpe_ratio == pytest.approx(sharpe, rel=1e-9)
    assert result.sortino_ratio == pytest.approx(sortino, rel=1e-9)
    assert result.max_drawdown == pytest.approx(max_dd, rel=1e-12)
    assert max(result.equity_curve.drawdown) == pytest.approx(max_dd, rel=1e-12)


def test_ratios_are_none_when_undefined() -> None:
    assert return_ratios(100, 0.0, 0.0, 0.0, HOUR) == (None, None)
    assert return_ratios(1, 0.01, 0.0, 0.0, HOUR) == (None, None)


def test_cagr_and_calmar() -> None:
    cagr, calmar = growth(121.0, 100.0, 2.0, 0.2)

    assert cagr == pytest.approx(0.1) and calmar == pytest.approx(0.5)
    assert growth(50.0, 100.0, 1.0, 0.0) == (pytest.approx(-0.5), None)


def test_trade_figures_use_net_results() -> None:
    assert trade_stats(np.array([10.0, -5.0, 20.0, -5.0])) == (0.5, 3.0, 5.0)
    assert trade_stats(np.array([1.0]))[1] is None  # no losses: no profit factor
    assert trade_stats(np.array([])) == (0.0, None, 0.0)


def test_curve_thinning_keeps_the_ends_and_the_deepest_drawdown() -> None:
    equity = np.linspace(100, 200, 10_001)
    equity[4_321] = 50.0
    dd = 1 - equity / np.maximum.accumulate(equity)
    thin = curve(np.arange(10_001), equity, dd, 100)

    assert len(thin.timestamps) <= 101
    assert thin.timestamps[0] == 0 and thin.timestamps[-1] == 10_000
    assert 4_321 in thin.timestamps and max(thin.drawdown) == dd.max()


def test_result_round_trips_through_json_and_its_id_is_stable() -> None:
    data = {"BTC/USDT:USDT": real(BTC_1H).head(3_000)}
    a = run_backtest(data, "sma_cross", SMA)
    b = run_backtest(data, "sma_cross", SMA)
    c = run_backtest(data, "sma_cross", {**SMA, "fast": 4})

    decoded = msgspec.json.decode(msgspec.json.encode(a), type=BacktestResult)
    assert decoded == a
    assert a.backtest_id == b.backtest_id != c.backtest_id
    assert a.period.start == "2019-09-08T17:00:00Z" and a.timeframe == "1h"
    assert a.total_trades == len(a.trades) > 20
    assert a.win_rate == pytest.approx(np.mean([t.net_pnl > 0 for t in a.trades]))
    assert a.total_return == pytest.approx(a.final_capital / a.initial_capital - 1)


def test_progress_is_reported_up_to_one() -> None:
    seen: list[float] = []
    run_backtest({"X": frame(random_walk(100, 3))}, "sma_cross", SMA, progress=seen.append)

    assert seen == sorted(seen) and seen[-1] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"strategy": "nope"}, "strategy"),
        ({"params": {"fast": "x"}}, "fast"),
        ({"params": {"fast": 3, "slow": 8}}, "sizing"),  # no stop: risk sizing cannot size
        ({"fraction": 2.0}, "fraction"),
        ({"sizing": "kelly"}, "sizing"),
        ({"timeframe": "7x"}, "timeframe"),
        ({"markets": {"ETH": MarketSpec()}}, "markets"),
        ({"frames": {}}, "frames"),
    ],
)
def test_bad_requests_name_the_field(kwargs: dict, field: str) -> None:
    request = {"frames": {"X": frame(random_walk(60, 1))}, "strategy": "sma_cross", "params": SMA}
    request.update(kwargs)

    with pytest.raises(ValidationError) as caught:
        run_backtest(**request)

    assert caught.value.field == field


def test_unsorted_or_incomplete_candles_are_data_errors() -> None:
    good = frame(random_walk(60, 1))

    with pytest.raises(DataError):
        run_backtest({"X": good.reverse()}, "sma_cross", SMA)
    with pytest.raises(DataError):
        run_backtest({"X": good.drop("low")}, "sma_cross", SMA)


def test_timeframe_is_inferred_from_the_bars() -> None:
    minutes = frame(random_walk(60, 1), step=60_000)

    assert run_backtest({"X": minutes}, "sma_cross", SMA).timeframe == "1m"
    with pytest.raises(ValidationError):
        run_backtest({"X": minutes.head(1)}, "sma_cross", SMA)


def test_scripted_runs_report_rejections_and_exit_reasons() -> None:
    script = {0: {"entry_long": True}, 4: {"entry_short": True, "stop": 1.0}}
    result = run(frame(random_walk(10, 2)), script, sizing="risk")

    assert result.rejections == {"no_stop_distance": 1}
    assert sum(result.exit_reasons.values()) == result.total_trades == 1
    assert isinstance(
        pl.DataFrame([msgspec.structs.asdict(t) for t in result.trades]), pl.DataFrame
    )


@settings(max_examples=50, deadline=None)
@given(
    stamps=st.lists(st.integers(-62_135_596_800_000, 253_402_300_799_999), min_size=0, max_size=300)
)
def test_iso_times_are_numpys_to_the_second(stamps: list[int]) -> None:
    ms = np.array(stamps + stamps[: len(stamps) // 2], dtype=np.int64)  # with repeats
    seconds = ms.astype("datetime64[ms]").astype("datetime64[s]")
    assert iso(ms) == np.datetime_as_string(seconds, timezone="UTC").tolist()
