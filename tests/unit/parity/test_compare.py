"""Parity's pairing and explanations, on hand-made trades."""

from __future__ import annotations

from typing import Any

from viper.parity import ParityTrade, Rejection, compare, summarize

TF = 60_000
BTC = "BTC/USDT:USDT"


def trade(entry_bar: int, exit_bar: int | None = 5, **kw: Any) -> ParityTrade:
    values: dict[str, Any] = {
        "symbol": BTC,
        "side": "long",
        "entry_ms": entry_bar * TF,
        "entry_price": 100.0,
        "size": 1.0,
        "exit_ms": None if exit_bar is None else exit_bar * TF,
        "exit_price": None if exit_bar is None else 110.0,
        "exit_reason": "" if exit_bar is None else "signal",
    }
    return ParityTrade(**(values | kw))


def test_identical_trades_are_exact() -> None:
    (pair,) = compare([trade(1)], [trade(1)], tf_ms=TF, slippage=0.0002)

    assert pair.status == "exact" and pair.differences == []


def test_prices_within_slippage_and_other_sizes_still_match() -> None:
    live = trade(1, entry_price=100.01, size=0.9)

    (pair,) = compare([live], [trade(1)], tf_ms=TF, slippage=0.0002)

    assert pair.status == "match"
    assert pair.differences == ["size: -10.0% (equity path)"]


def test_explains_times_reasons_and_prices_that_differ() -> None:
    live = trade(2, 7, exit_reason="stop_loss", exit_price=104.0)

    (pair,) = compare([live], [trade(1)], tf_ms=TF, slippage=0.0002)

    assert pair.status == "differs"
    assert pair.differences == [
        "entry_time: +1 bars",
        "exit_time: +2 bars",
        "exit_reason: stop_loss vs signal",
        "exit_price: -545.5 bps (slippage/fees)",
    ]


def test_an_open_live_trade_pairs_with_the_backtests_end_of_data_exit() -> None:
    (pair,) = compare(
        [trade(1, None)], [trade(1, exit_reason="end_of_data")], tf_ms=TF, slippage=0.0
    )

    assert pair.status == "open"


def test_missing_trades_say_why() -> None:
    refused = [Rejection(ts_ms=10 * TF, symbol=BTC, reason="max_exposure")]
    backtest = [trade(10, 12), trade(20, 22)]
    live = [trade(30, 32), trade(40, 41, exit_reason="manual")]

    pairs = compare(
        live,
        backtest,
        refused=refused,
        backtest_refusals={"daily_loss_limit": 3},
        tf_ms=TF,
        slippage=0.0,
    )

    why = [(p.status, p.explanation) for p in pairs]
    assert why == [
        ("missing_in_live", "rejected by risk (max_exposure)"),
        (
            "missing_in_live",
            "no live entry at that bar (stopped, paused, reduce-only, or a data gap)",
        ),
        (
            "missing_in_backtest",
            "not in backtest (its risk rules refused entries: daily_loss_limit 3)",
        ),
        ("missing_in_backtest", "manual trade"),
    ]
    summary = summarize(pairs)
    assert (summary.missing_in_live, summary.missing_in_backtest, summary.matched) == (2, 2, 0)


def test_a_data_gap_before_the_entry_is_named() -> None:
    (pair,) = compare([], [trade(10, 12)], gaps={BTC: [(8 * TF, 10 * TF)]}, tf_ms=TF, slippage=0.0)

    assert pair.explanation == "data gap: 2 bars missing before the entry"


def test_pairs_the_nearest_entry_within_three_bars() -> None:
    pairs = compare([trade(4, 6), trade(30, 31)], [trade(1, 5)], tf_ms=TF, slippage=0.0)

    assert [p.status for p in pairs] == ["differs", "missing_in_backtest"]
    assert pairs[0].differences[0] == "entry_time: +3 bars"
