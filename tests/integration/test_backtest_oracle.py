"""Oracle: `sma_cross` in VIPER and in an independent engine, backtesting.py, on real candles.

Aligned semantics: orders decided at a bar's close fill at the next bar's open
(`trade_on_close=False`), 0.06% commission on every fill, no slippage, no funding, all-in
fixed fraction (99.99% of equity, fee included) at 1x in whole units of 1e-8
(`FractionalBacktest`), stop-loss / take-profit as contingent orders that may fire on the
entry bar, the stop first when both are touched, gaps filled at the open. backtesting.py
closes what is still open at the next bar's open, so its data gets one extra bar holding the
last close, where VIPER closes at the last close. The SMAs and crosses of the oracle are
computed here with pandas, independently of VIPER's kernel.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest

from tests.conftest import SHARED_DATA
from viper.backtest import BacktestResult, FeeModel, run_backtest
from viper.config import RiskConfig
from viper.marketdata.importers import load_file
from viper.risk_rules import MarketSpec

bt = pytest.importorskip("backtesting", reason="the oracle engine backtesting.py is not installed")
pd = pytest.importorskip("pandas")
from backtesting.lib import FractionalBacktest  # noqa: E402

FEE = 0.0006
UNIT = 1e-8
FRACTION = 0.9999
FUTURES = "ohlcv/Roshan7869__algotrading/binance/futures"
CASES = [
    (f"{FUTURES}/BTC_USDT_USDT-1h-futures.feather", {"fast": 10, "slow": 50}),
    (f"{FUTURES}/BTC_USDT_USDT-1h-futures.feather", {"sl_pct": 0.02, "tp_pct": 0.04}),
    (
        f"{FUTURES}/ETH_USDT_USDT-1h-futures.feather",
        {"sl_pct": 0.015, "tp_pct": 0.03, "allow_short": False},
    ),
    (
        "ohlcv/kiduki555__freqtrade_kiduki/binance/BTC_USDT-5m.feather",
        {"fast": 20, "slow": 100, "sl_pct": 0.01, "tp_pct": 0.01},
    ),
]


class OracleCross(bt.Strategy):  # type: ignore[misc,name-defined]
    """The sma_cross rules written against backtesting.py's API."""

    fast_ma: ClassVar[np.ndarray]
    slow_ma: ClassVar[np.ndarray]
    close: ClassVar[np.ndarray]
    opens: ClassVar[np.ndarray]
    bars: ClassVar[int]
    sl = 0.0
    tp = 0.0
    allow_short = True

    def init(self) -> None:
        self.side = 0

    def next(self) -> None:
        i = len(self.data) - 1
        f, s = self.fast_ma[min(i, self.bars - 1)], self.slow_ma[min(i, self.bars - 1)]
        side = 1 if f > s else (-1 if f < s else 0)  # NaN and exact ties: no side
        cross = side if side and self.side and side != self.side else 0
        self.side = side or self.side
        if not cross or i >= self.bars - 1:
            return
        if self.position and self.position.is_long != (cross > 0):
            self.position.close()
        if cross < 0 and not self.allow_short:
            return
        entry, c = self.opens[i + 1], self.close[i]
        orders: dict[str, float] = {}
        if self.sl:
            orders["sl"] = (entry - cross * c * self.sl) * UNIT
        if self.tp:
            orders["tp"] = (entry + cross * c * self.tp) * UNIT
        (self.buy if cross > 0 else self.sell)(size=FRACTION, **orders)


def oracle(frame: pl.DataFrame, params: dict[str, Any]) -> Any:
    cols = {k: frame[k].to_numpy() for k in ("timestamp", "open", "high", "low", "close", "volume")}
    last, step = cols["close"][-1], int(np.diff(cols["timestamp"]).min())
    data = pd.DataFrame(
        {
            name.capitalize(): np.append(cols[name], 0.0 if name == "volume" else last)
            for name in ("open", "high", "low", "close", "volume")
        },
        index=pd.to_datetime(np.append(cols["timestamp"], cols["timestamp"][-1] + step), unit="ms"),
    )
    close = pd.Series(cols["close"])
    OracleCross.fast_ma = close.rolling(params.get("fast", 10)).mean().to_numpy()
    OracleCross.slow_ma = close.rolling(params.get("slow", 50)).mean().to_numpy()
    OracleCross.close, OracleCross.opens, OracleCross.bars = (
        cols["close"],
        cols["open"],
        frame.height,
    )
    engine = FractionalBacktest(
        data,
        OracleCross,
        cash=10_000,
        commission=FEE,
        trade_on_close=False,
        finalize_trades=True,
        fractional_unit=UNIT,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return engine.run(
            sl=params.get("sl_pct", 0.0),
            tp=params.get("tp_pct", 0.0),
            allow_short=params.get("allow_short", True),
        )


def viper(frame: pl.DataFrame, params: dict[str, Any]) -> BacktestResult:
    return run_backtest(
        {"X": frame},
        "sma_cross",
        params,
        sizing="fixed_fraction",
        fraction=FRACTION,
        fees=FeeModel(taker_fee=FEE, maker_fee=FEE, slippage_bps=0.0, funding=False),
        risk=RiskConfig(max_drawdown=1.0, daily_loss_limit=1.0, max_notional_per_symbol=1e15),
        markets={"X": MarketSpec(amount_step=UNIT)},
    )


def ms(times: Any) -> np.ndarray:
    return np.asarray(times.values.astype("datetime64[ms]").astype(np.int64))


@pytest.mark.parametrize(
    ("path", "params"), CASES, ids=["1h", "1h-sl-tp", "eth-long-sl-tp", "5m-sl-tp"]
)
def test_viper_makes_the_same_trades_as_backtesting_py(path: str, params: dict[str, Any]) -> None:
    frame = load_file(SHARED_DATA / path).frame

    theirs, ours = oracle(frame, params), viper(frame, params)

    trades = theirs["_trades"]
    assert ours.total_trades == len(trades) > 300
    np.testing.assert_array_equal([t.entry_ms for t in ours.trades], ms(trades.EntryTime))
    np.testing.assert_array_equal([t.exit_ms for t in ours.trades], ms(trades.ExitTime))
    np.testing.assert_allclose([t.entry_price for t in ours.trades], trades.EntryPrice, rtol=1e-9)
    np.testing.assert_allclose([t.exit_price for t in ours.trades], trades.ExitPrice, rtol=1e-9)
    np.testing.assert_allclose([t.size for t in ours.trades], trades.Size.abs(), rtol=1e-6)
    difference = ours.final_capital / theirs["Equity Final [$]"] - 1
    print(
        f"\n{path} {params}: {ours.total_trades} trades, final equity difference {difference:.2e}"
    )
    assert abs(difference) < 1e-4
    if "sl_pct" in params:
        assert {"stop_loss", "take_profit"} <= set(ours.exit_reasons)
