"""The engine's portfolio rules: risk limits, funding, several symbols on one bar grid."""

from __future__ import annotations

import polars as pl
import pytest

from tests.unit.backtest.helpers import HOUR, LOOSE, T0, flat, frame, run
from viper.backtest import FeeModel
from viper.config import RiskConfig


def test_daily_loss_limit_blocks_entries_until_the_next_utc_day() -> None:
    rows = [(100,) * 4, (100,) * 4, (100, 100, 96, 96), *flat(40, 96.0)]
    script = {
        0: {"entry_long": True},
        2: {"exit_long": True},
        4: {"entry_long": True},  # same day, after a 4% loss: refused
        23: {"entry_long": True},  # decided at 23:00, filled at 00:00 the next day: allowed
    }
    risk = RiskConfig(daily_loss_limit=0.03, max_drawdown=1.0, max_notional_per_symbol=1e12)
    result = run(frame(rows), script, risk=risk, fraction=1.0)

    assert result.rejections == {"daily_loss_limit": 1}
    assert [t.entry_ms for t in result.trades] == [T0 + HOUR, T0 + 24 * HOUR]


def test_daily_loss_counts_unrealized_losses_of_open_positions() -> None:
    rows = [(100,) * 4, (100,) * 4, (100, 100, 96, 96), *flat(5, 96.0)]
    frames = {"A": frame(rows), "B": frame(flat(len(rows)))}
    risk = RiskConfig(daily_loss_limit=0.03, max_drawdown=1.0, max_notional_per_symbol=1e12)
    result = run(
        frames, {0: {"entry_long": True}}, {3: {"entry_long": True}}, risk=risk, fraction=1.0
    )

    assert result.rejections == {"daily_loss_limit": 1}
    assert [t.symbol for t in result.trades] == ["A"]


def test_kill_switch_flattens_at_the_close_and_halts_for_good() -> None:
    rows = [(100,) * 4, (100,) * 4, (100, 100, 88, 89), *flat(30, 89.0)]
    script = {0: {"entry_long": True}, 5: {"entry_long": True}, 28: {"entry_long": True}}
    risk = RiskConfig(max_drawdown=0.10, daily_loss_limit=1.0, max_notional_per_symbol=1e12)
    result = run(frame(rows), script, risk=risk, fraction=1.0)

    (trade,) = result.trades
    assert (trade.exit_reason, trade.exit_price) == ("kill_switch", 89)
    assert trade.exit_ms == T0 + 3 * HOUR  # the close of bar 2
    assert result.rejections == {"kill_switch": 2}


def test_max_open_positions_refuses_the_extra_entry() -> None:
    frames = {"A": frame(flat(4)), "B": frame(flat(4)), "C": frame(flat(4))}
    entry = {0: {"entry_long": True}}
    risk = RiskConfig(max_open_positions=2, max_drawdown=1.0, daily_loss_limit=1.0)
    result = run(frames, entry, entry, entry, risk=risk, fraction=0.2)

    assert sorted(t.symbol for t in result.trades) == ["A", "B"]
    assert result.rejections == {"max_open_positions": 1}


def test_exposure_cap_limits_the_sum_of_notionals() -> None:
    frames = {"A": frame(flat(4)), "B": frame(flat(4))}
    entry = {0: {"entry_long": True}}
    risk = RiskConfig(max_total_exposure=1.5, max_drawdown=1.0, daily_loss_limit=1.0)
    result = run(frames, entry, entry, risk=risk, fraction=1.0, leverage=10.0)

    a, b = sorted(result.trades, key=lambda t: t.symbol)
    assert a.size * 100 == pytest.approx(10_000)
    assert b.size * 100 == pytest.approx(5_000)  # the room left under 1.5 x equity


def test_risk_sizing_loses_risk_per_trade_at_the_stop() -> None:
    rows = [(100,) * 4, (100,) * 4, (100, 100, 95, 95), (95,) * 4]
    risk = RiskConfig(risk_per_trade=0.02, max_drawdown=1.0, daily_loss_limit=1.0)
    result = run(frame(rows), {0: {"entry_long": True, "stop": 4.0}}, sizing="risk", risk=risk)

    assert result.trades[0].net_pnl == pytest.approx(-200)
    assert result.final_capital == pytest.approx(9_800)


def test_risk_sizing_is_capped_by_max_leverage() -> None:
    rows = [(100,) * 4, (100,) * 4, (100,) * 4]
    risk = RiskConfig(risk_per_trade=0.05, max_leverage=3, max_drawdown=1.0, daily_loss_limit=1.0)
    result = run(frame(rows), {0: {"entry_long": True, "stop": 0.1}}, sizing="risk", risk=risk)

    assert result.trades[0].size * 100 == pytest.approx(30_000)


def funding_frame(times: list[int], rates: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"timestamp": times, "rate": rates})


@pytest.mark.parametrize(
    ("side", "rate", "paid"),
    [("entry_long", 0.0001, 0.5), ("entry_short", 0.0001, -0.5), ("entry_long", -0.0002, -1.0)],
)
def test_funding_longs_pay_positive_rates_and_shorts_receive(
    side: str, rate: float, paid: float
) -> None:
    rows = [(100,) * 4, (100,) * 4, (100, 101, 99, 100), (100,) * 4]
    funding = {"BTC/USDT:USDT": funding_frame([T0 + 2 * HOUR + 17], [rate])}  # 17 ms jitter
    result = run(frame(rows), {0: {side: True}}, funding=funding)

    # size 50 at bar 2's open 100: 50 * 100 * rate, charged on the position held into bar 2
    assert result.trades[0].funding == pytest.approx(paid)
    assert result.total_funding == pytest.approx(paid)
    assert result.final_capital == pytest.approx(10_000 - paid)


def test_funding_is_not_charged_to_a_flat_account_or_when_switched_off() -> None:
    rows = flat(6)
    funding = {"BTC/USDT:USDT": funding_frame([T0, T0 + 5 * HOUR], [0.01, 0.01])}
    held = run(frame(rows), {1: {"entry_long": True}, 3: {"exit_long": True}}, funding=funding)
    off = FeeModel(taker_fee=0.0, maker_fee=0.0, slippage_bps=0.0, funding=False)
    busy = {0: {"entry_long": True}}
    assert held.total_funding == 0.0
    assert run(frame(rows), busy, funding=funding, fees=off).total_funding == 0.0


def test_symbols_with_different_bars_act_at_their_own_next_bar() -> None:
    a = frame(flat(6))
    b = frame(flat(3, 50.0), start=T0, step=2 * HOUR)  # bars at 0, 2 and 4 hours
    result = run(
        {"A": a, "B": b}, {}, {0: {"entry_long": True}, 1: {"exit_long": True}}, risk=LOOSE
    )

    (trade,) = result.trades
    assert (trade.symbol, trade.entry_ms, trade.exit_ms) == ("B", T0 + 2 * HOUR, T0 + 4 * HOUR)
    assert result.bars == 6
    assert result.per_symbol["B"].total_trades == 1 and result.per_symbol["A"].total_trades == 0


def test_exposure_is_the_share_of_bars_with_a_position() -> None:
    result = run(frame(flat(10)), {1: {"entry_long": True}, 5: {"exit_long": True}})

    assert result.exposure == pytest.approx(4 / 10)  # held through bars 2..5, exits at 6's open
