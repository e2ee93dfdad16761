"""Properties of the engine: no lookahead, and money that adds up exactly."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.backtest.helpers import (
    BTC_1H,
    BTC_FUNDING,
    ETH_1H,
    ETH_FUNDING,
    HOUR,
    frame,
    random_walk,
    real,
)
from viper.backtest import BacktestResult, FeeModel, run_backtest
from viper.config import RiskConfig

FEES = FeeModel(slippage_bps=3.0)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def money_adds_up(result: BacktestResult) -> None:
    """final = initial + sum(pnl - fees - funding), to 1e-9 relative."""
    total = sum(t.pnl - t.entry_fee - t.exit_fee - t.funding for t in result.trades)
    expected = result.initial_capital + total
    assert result.final_capital == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert result.equity_curve.equity[-1] == result.final_capital


def sma(frames: dict[str, pl.DataFrame], **kw: object) -> BacktestResult:
    params = {"fast": 3, "slow": 8, "sl_pct": 0.01, "tp_pct": 0.02}
    return run_backtest(frames, "sma_cross", params, fees=FEES, curve_points=0, **kw)  # type: ignore[arg-type]


@PROPERTY
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(30, 300),
    cut=st.floats(0.1, 0.9),
    sizing=st.sampled_from(["risk", "fixed_fraction"]),
)
def test_changing_future_bars_never_changes_the_past(
    seed: int, n: int, cut: float, sizing: str
) -> None:
    rows = random_walk(n, seed)
    k = max(1, min(n - 2, int(n * cut)))
    other = rows[:k] + random_walk(n - k, seed + 1, start=rows[k - 1][3] * 1.05)
    a = sma({"X": frame(rows)}, sizing=sizing, leverage=3.0)
    b = sma({"X": frame(other)}, sizing=sizing, leverage=3.0)

    assert a.equity_curve.equity[:k] == b.equity_curve.equity[:k]
    cutoff = a.equity_curve.timestamps[k]
    past_a = [t for t in a.trades if t.exit_ms < cutoff]
    past_b = [t for t in b.trades if t.exit_ms < cutoff]
    assert past_a == past_b


@PROPERTY
@given(
    seed=st.integers(0, 10_000),
    leverage=st.sampled_from([1.0, 5.0, 25.0]),
    sizing=st.sampled_from(["risk", "fixed_fraction"]),
    rate=st.floats(-0.001, 0.001),
)
def test_final_equity_is_initial_plus_trade_results(
    seed: int, leverage: float, sizing: str, rate: float
) -> None:
    rows = random_walk(200, seed)
    frames = {"X": frame(rows), "Y": frame(random_walk(200, seed + 7, start=40.0))}
    times = [int(frames["X"]["timestamp"][i]) for i in range(0, 200, 8)]
    funding = {s: pl.DataFrame({"timestamp": times, "rate": [rate] * len(times)}) for s in frames}
    risk = RiskConfig(max_leverage=25, max_drawdown=0.5)
    result = sma(frames, sizing=sizing, leverage=leverage, funding=funding, risk=risk)

    money_adds_up(result)


def test_money_adds_up_on_real_candles_with_funding_and_every_exit_kind() -> None:
    frames = {"BTC/USDT:USDT": real(BTC_1H), "ETH/USDT:USDT": real(ETH_1H)}
    funding = {"BTC/USDT:USDT": real(BTC_FUNDING), "ETH/USDT:USDT": real(ETH_FUNDING)}
    risk = RiskConfig(max_drawdown=1.0, daily_loss_limit=0.05, max_leverage=20)
    result = run_backtest(
        frames, "viper", {"trailing_atr": 2.5}, funding=funding, risk=risk, leverage=20.0
    )

    assert result.total_trades > 500
    assert {"stop_loss", "take_profit", "trailing_stop", "signal"} <= set(result.exit_reasons)
    assert result.total_funding != 0.0
    money_adds_up(result)
    net = np.array([t.net_pnl for t in result.trades])
    by_symbol = sum(s.net_pnl for s in result.per_symbol.values())
    assert by_symbol == pytest.approx(net.sum(), rel=1e-9)


def test_timestamps_of_the_curve_are_the_bars() -> None:
    rows = random_walk(50, 1)
    result = sma({"X": frame(rows)})

    assert result.equity_curve.timestamps[1] - result.equity_curve.timestamps[0] == HOUR
    assert len(result.equity_curve.equity) == 50
