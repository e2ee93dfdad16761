"""The engine on tiny hand-made series: stops, take-profits, gaps, trailing, liquidation, fees."""

from __future__ import annotations

import pytest

from tests.unit.backtest.helpers import HOUR, T0, frame, run
from viper.backtest import FeeModel
from viper.backtest.fees import liquidation_price

# bar 0 decides to go long with a stop 2 and a take-profit 4 below/above the entry;
# bar 1 fills the entry at its open (100) and stays inside (99..101).
ENTER = {0: {"entry_long": True, "stop": 2.0, "tp": 4.0}}
START = [(100, 101, 99, 100), (100, 101, 99, 100)]


def only_trade(result):  # type: ignore[no-untyped-def]
    assert result.total_trades == 1
    return result.trades[0]


def test_stop_loss_hit_inside_the_bar_exits_at_the_stop() -> None:
    result = run(frame([*START, (100, 101, 97, 99), (99, 99, 99, 99)]), ENTER)

    trade = only_trade(result)
    assert (trade.entry_price, trade.exit_price, trade.exit_reason) == (100, 98, "stop_loss")
    assert trade.entry_ms == T0 + HOUR and trade.exit_ms == T0 + 2 * HOUR
    assert trade.size == 50  # 50% of 10,000 at 100
    assert result.final_capital == pytest.approx(10_000 - 50 * 2)


def test_take_profit_hit_inside_the_bar_exits_at_the_target() -> None:
    trade = only_trade(run(frame([*START, (100, 105, 99, 104), (104,) * 4]), ENTER))

    assert (trade.exit_price, trade.exit_reason) == (104, "take_profit")


def test_stop_wins_when_stop_and_target_are_both_touched_in_one_bar() -> None:
    trade = only_trade(run(frame([*START, (100, 105, 97, 100), (100,) * 4]), ENTER))

    assert (trade.exit_price, trade.exit_reason) == (98, "stop_loss")


def test_gap_through_the_stop_fills_at_the_open() -> None:
    trade = only_trade(run(frame([*START, (95, 96, 94, 95), (95,) * 4]), ENTER))

    assert (trade.exit_price, trade.exit_reason) == (95, "stop_loss")
    assert trade.exit_ms == T0 + 2 * HOUR


def test_gap_through_the_target_fills_at_the_better_open() -> None:
    trade = only_trade(run(frame([*START, (106, 107, 105, 106), (106,) * 4]), ENTER))

    assert (trade.exit_price, trade.exit_reason) == (106, "take_profit")


def test_stops_of_a_short_mirror_a_long() -> None:
    enter_short = {0: {"entry_short": True, "stop": 2.0, "tp": 4.0}}
    trade = only_trade(run(frame([*START, (100, 103, 99, 101), (101,) * 4]), enter_short))

    assert (trade.side, trade.exit_price, trade.exit_reason) == ("short", 102, "stop_loss")
    assert trade.pnl == pytest.approx(-50 * 2)


def test_the_entry_bar_itself_can_hit_the_stop() -> None:
    trade = only_trade(run(frame([(100,) * 4, (100, 100, 97, 98), (98,) * 4]), ENTER))

    assert (trade.entry_ms, trade.exit_ms, trade.exit_price) == (T0 + HOUR, T0 + HOUR, 98)


def test_trailing_stop_follows_the_best_price_of_earlier_bars() -> None:
    enter = {0: {"entry_long": True, "trail": 3.0}}
    rows = [(100,) * 4, (100, 105, 101.9, 104), (104, 104.5, 101.5, 102), (102,) * 4]
    trade = only_trade(run(frame(rows), enter))

    # bar 1 cannot use its own high (the order of high and low inside a bar is unknown): its
    # trailing stop is 97; from bar 2 on it trails the high 105 at 102.
    assert (trade.exit_price, trade.exit_reason, trade.exit_ms) == (
        102,
        "trailing_stop",
        T0 + 2 * HOUR,
    )


def test_liquidation_loses_the_margin_before_a_stop_touched_in_the_same_bar() -> None:
    enter = {0: {"entry_long": True, "stop": 5.0}}
    fees = FeeModel(taker_fee=0.0, maker_fee=0.0, slippage_bps=0.0, maintenance_margin_rate=0.004)
    rows = [(100,) * 4, (100, 100, 99, 100), (99, 99, 80, 85), (85,) * 4]
    result = run(frame(rows), enter, leverage=10.0, fees=fees)

    trade = only_trade(result)
    margin = 50 * 100 / 10
    assert trade.exit_reason == "liquidation"
    assert trade.exit_price == pytest.approx(liquidation_price(100.0, 1, 10.0, 0.004, 0.0))
    assert trade.net_pnl == pytest.approx(-margin)
    assert result.final_capital == pytest.approx(10_000 - margin)
    assert result.liquidations == 1


def test_liquidation_price_is_bitgets_isolated_formula() -> None:
    # (margin - size * entry * d) / (size * (mmr + taker - d)), d = +1 long / -1 short
    size, entry, lev, mmr, taker = 2.0, 50_000.0, 20.0, 0.004, 0.0006
    margin = size * entry / lev
    for d in (1, -1):
        expected = (margin - size * entry * d) / (size * (mmr + taker - d))
        assert liquidation_price(entry, d, lev, mmr, taker) == pytest.approx(expected, rel=1e-12)
    assert liquidation_price(entry, 1, lev, mmr, taker) < entry * (1 - 1 / lev) * 1.01


def test_taker_fees_on_market_fills_and_maker_fee_on_take_profit() -> None:
    fees = FeeModel(taker_fee=0.0006, maker_fee=0.0002, slippage_bps=0.0)
    win = run(frame([*START, (100, 105, 99, 104), (104,) * 4]), ENTER, fees=fees)
    loss = run(frame([*START, (100, 101, 97, 99), (99,) * 4]), ENTER, fees=fees)

    size = 5_000 / (100 * 1.0006)  # notional plus entry fee is 50% of equity
    w, lo = win.trades[0], loss.trades[0]
    assert w.size == pytest.approx(size) and lo.size == pytest.approx(size)
    assert w.entry_fee == pytest.approx(size * 100 * 0.0006)
    assert w.exit_fee == pytest.approx(size * 104 * 0.0002)
    assert lo.exit_fee == pytest.approx(size * 98 * 0.0006)


def test_slippage_moves_market_and_stop_fills_against_the_trader_but_not_limits() -> None:
    fees = FeeModel(taker_fee=0.0, maker_fee=0.0, slippage_bps=10.0)
    stop = run(frame([*START, (100, 101, 97, 99), (99,) * 4]), ENTER, fees=fees).trades[0]
    target = run(frame([*START, (100, 106, 99, 105), (105,) * 4]), ENTER, fees=fees).trades[0]

    assert stop.entry_price == pytest.approx(100.1)
    assert stop.exit_price == pytest.approx((100.1 - 2) * 0.999)
    assert target.exit_price == pytest.approx(100.1 + 4)


def test_signal_exit_and_reversal_fill_at_the_next_open_exits_first() -> None:
    rows = [(100,) * 4, (100,) * 4, (101,) * 4, (102, 102, 102, 102), (103,) * 4, (104,) * 4]
    script = {0: {"entry_long": True}, 2: {"entry_short": True}, 3: {"exit_short": True}}
    result = run(frame(rows), script)

    first, second = result.trades
    assert (first.side, first.exit_reason, first.exit_ms) == ("long", "signal", T0 + 3 * HOUR)
    assert (second.side, second.entry_ms, second.entry_price) == ("short", T0 + 3 * HOUR, 102)
    assert (second.exit_ms, second.exit_price) == (T0 + 4 * HOUR, 103)


def test_open_position_is_closed_at_the_last_close_at_the_end() -> None:
    trade = only_trade(
        run(frame([(100,) * 4, (100,) * 4, (100, 110, 100, 107)]), {0: {"entry_long": True}})
    )

    assert (trade.exit_reason, trade.exit_price, trade.exit_ms) == (
        "end_of_data",
        107,
        T0 + 3 * HOUR,
    )


def test_a_decision_on_the_last_bar_is_never_acted_on() -> None:
    result = run(frame([(100,) * 4] * 3), {2: {"entry_long": True}})

    assert result.total_trades == 0 and result.final_capital == 10_000
