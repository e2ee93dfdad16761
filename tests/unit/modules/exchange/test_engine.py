"""The paper matching engine: each order type, post-only, reduce-only, volume-limited fills,
maker and taker fees to the exact Decimal, idempotent client ids, and what each step reports."""

from __future__ import annotations

import pytest

from tests.unit.modules.exchange.stubs import MINUTE, T0, D, bar, engine, new, tick
from viper.errors import (
    ExchangeRejectedError,
    InsufficientFundsError,
    InvalidOrderError,
    MarketNotFoundError,
    OrderNotFoundError,
    PostOnlyRejectedError,
    ReduceOnlyRejectedError,
)
from viper.modules.exchange.engine import PaperEngine


@pytest.fixture
def paper() -> PaperEngine:
    """An engine that has seen BTC at 60000 (bid 59999.9, ask 60000.1)."""
    paper = engine()
    tick(paper, 60000.0, bid=59999.9, ask=60000.1)
    paper.take_step()
    return paper


# --- market orders -------------------------------------------------------------------------


def test_market_buy_fills_at_the_ask_and_pays_the_taker_fee(paper: PaperEngine) -> None:
    order = paper.place(new("m1", "buy", amount="0.010"))

    assert order.status == "closed"
    assert order.filled == D("0.010")
    assert order.view().average_price == D("60000.1")
    assert order.fee == D("0.3600006")  # 0.010 * 60000.1 * 0.06 %
    balance = paper.balance()
    assert paper.account.wallet == D("9999.6399994")
    assert balance.used == D("60.0001")  # notional / 10x
    assert balance.free == D("9939.6398994")


def test_market_order_filled_on_arrival_is_reported_once_with_its_fill(
    paper: PaperEngine,
) -> None:
    paper.place(new("m1", "sell", amount="0.010"))

    reports = paper.take_step().reports

    assert [(o.status, f is not None) for o, f in reports] == [("closed", True)]
    fill = reports[0][1]
    assert fill is not None
    assert (fill.side, fill.price, fill.liquidity) == ("sell", D("59999.9"), "taker")
    assert fill.fee == D("0.3599994")


def test_market_order_without_any_price_is_rejected() -> None:
    paper = engine()

    with pytest.raises(ExchangeRejectedError, match="no market price"):
        paper.place(new("m1", "buy"))
    assert paper.order("m1") is None


# --- limit orders --------------------------------------------------------------------------


def test_limit_rests_and_fills_as_maker_when_a_bar_trades_through(paper: PaperEngine) -> None:
    order = paper.place(new("l1", "buy", "limit", "0.500", price="59000"))
    assert order.status == "open"

    bar(paper, open=60000, high=60010, low=58900, close=59500)

    assert order.status == "closed"
    assert order.view().average_price == D("59000")
    assert order.fee == D("5.9")  # 0.5 * 59000 * 0.02 %
    fill = paper.take_step().reports[-1][1]
    assert fill is not None and fill.liquidity == "maker"


def test_a_bar_that_only_touches_the_limit_does_not_fill(paper: PaperEngine) -> None:
    order = paper.place(new("l1", "buy", "limit", "0.500", price="59000"))

    bar(paper, open=60000, high=60010, low=59000, close=59500)

    assert order.status == "open" and order.filled == 0


def test_limit_fills_partially_by_share_of_bar_volume(paper: PaperEngine) -> None:
    order = paper.place(new("l1", "buy", "limit", "1.000", price="59000"))
    paper.take_step()

    fills = []
    for n in range(1, 4):  # 10 % of 4 BTC a bar: 0.4, 0.4, then the last 0.2
        bar(paper, open=59500, high=59600, low=58800, close=59100, volume=4.0, ts=T0 + n * MINUTE)
        fills += [f.amount for _, f in paper.take_step().reports if f is not None]
        if n < 3:
            assert order.status == "open"

    assert fills == [D("0.4"), D("0.4"), D("0.2")]
    assert order.status == "closed" and order.filled == D("1.000")
    assert order.fee == D("11.8")


def test_bar_volume_is_shared_best_price_first(paper: PaperEngine) -> None:
    early = paper.place(new("a", "buy", "limit", "0.300", price="59000"))
    better = paper.place(new("b", "buy", "limit", "0.300", price="59100"))

    bar(paper, open=59500, high=59600, low=58000, close=59100, volume=4.0)

    assert better.filled == D("0.300")
    assert early.filled == D("0.100")


def test_a_marketable_limit_takes_at_the_ask(paper: PaperEngine) -> None:
    order = paper.place(new("l1", "buy", "limit", "0.010", price="60100"))

    assert order.status == "closed"
    assert order.view().average_price == D("60000.1")
    assert order.fee == D("0.3600006")


def test_post_only_that_would_take_is_rejected_and_not_kept(paper: PaperEngine) -> None:
    with pytest.raises(PostOnlyRejectedError):
        paper.place(new("p1", "buy", "limit", "0.010", price="60000.1", post_only=True))

    assert paper.order("p1") is None
    assert paper.take_step().reports == []


def test_post_only_that_rests_fills_as_maker(paper: PaperEngine) -> None:
    order = paper.place(new("p1", "buy", "limit", "0.010", price="59990", post_only=True))

    bar(paper, open=60000, high=60010, low=59980, close=59995)

    assert order.status == "closed"
    assert order.fee == D("0.11998")  # 0.010 * 59990 * 0.02 %


# --- stop orders ---------------------------------------------------------------------------


def test_sell_stop_triggers_on_a_tick_and_takes_the_bid(paper: PaperEngine) -> None:
    paper.place(new("long", "buy", amount="0.010"))
    stop = paper.place(new("s1", "sell", "stop", "0.010", stop="59500", reduce_only=True))
    tick(paper, 59600.0, ts=T0 + 1000)
    assert stop.status == "open"

    tick(paper, 59400.0, bid=59399.9, ask=59400.1, ts=T0 + 2000)

    assert stop.status == "closed"
    assert stop.view().average_price == D("59399.9")
    assert paper.positions() == []


@pytest.mark.parametrize(
    ("open_", "low", "price"),
    [(59800.0, 59400.0, D("59500")), (59000.0, 58800.0, D("59000"))],
    ids=["at-the-stop", "gap-at-the-open"],
)
def test_sell_stop_on_a_bar_fills_at_the_stop_or_the_gapped_open(
    paper: PaperEngine, open_: float, low: float, price: D
) -> None:
    stop = paper.place(new("s1", "sell", "stop", "0.010", stop="59500"))

    bar(paper, open=open_, high=59900, low=low, close=59450)

    assert stop.status == "closed"
    assert stop.view().average_price == price
    assert stop.fee == D("0.010") * price * D("0.0006")


def test_buy_stop_triggers_when_price_rises(paper: PaperEngine) -> None:
    stop = paper.place(new("s1", "buy", "stop", "0.010", stop="60500"))
    bar(paper, open=60000, high=60400, low=59900, close=60300)
    assert stop.status == "open"

    bar(paper, open=60300, high=60600, low=60200, close=60550, ts=T0 + 2 * MINUTE)

    assert stop.status == "closed" and stop.view().average_price == D("60500")
    assert paper.positions()[0].direction == "long"


# --- reduce-only ---------------------------------------------------------------------------


def test_reduce_only_that_would_open_or_grow_is_rejected(paper: PaperEngine) -> None:
    with pytest.raises(ReduceOnlyRejectedError):
        paper.place(new("r1", "sell", reduce_only=True))
    paper.place(new("long", "buy"))

    with pytest.raises(ReduceOnlyRejectedError):
        paper.place(new("r2", "buy", reduce_only=True))


def test_reduce_only_never_flips_the_position(paper: PaperEngine) -> None:
    paper.place(new("long", "buy", amount="0.010"))

    order = paper.place(new("r1", "sell", amount="0.020", reduce_only=True))

    assert order.filled == D("0.010")
    assert order.status == "canceled"  # the rest could only have opened a short
    assert paper.positions() == []


# --- checks and idempotency ----------------------------------------------------------------


def test_order_over_the_free_margin_is_refused_and_not_kept(paper: PaperEngine) -> None:
    with pytest.raises(InsufficientFundsError):
        paper.place(new("big", "buy", amount="2.000"))  # 12 000 USDT margin at 10x

    assert paper.order("big") is None
    assert paper.account.wallet == D(10_000)


def test_resting_limits_reserve_margin_until_cancelled(paper: PaperEngine) -> None:
    paper.place(new("a", "buy", "limit", "1.500", price="59000"))
    assert paper.balance().used == D("8903.1")  # 88 500 / 10 + taker fee on it

    with pytest.raises(InsufficientFundsError):
        paper.place(new("b", "buy", "limit", "0.500", price="59000"))
    paper.cancel("a")

    assert paper.balance().used == 0
    assert paper.place(new("b", "buy", "limit", "0.500", price="59000")).status == "open"


def test_same_client_id_twice_makes_one_order(paper: PaperEngine) -> None:
    first = paper.place(new("dup", "buy"))
    second = paper.place(new("dup", "buy"))

    assert second is first
    fills = [f for _, f in paper.take_step().reports if f is not None]
    assert len(fills) == 1
    assert paper.positions()[0].size == D("0.010")


@pytest.mark.parametrize(
    ("order", "field"),
    [
        (new("x", "buy", amount="0.0105"), "amount"),
        (new("x", "buy", "limit", price="59000.05"), "price"),
        (new("x", "buy", "limit"), "price"),
        (new("x", "buy", "stop"), "stop_price"),
        (new("x", "buy", post_only=True), "post_only"),
    ],
)
def test_orders_off_the_market_rules_are_invalid(
    paper: PaperEngine, order: object, field: str
) -> None:
    with pytest.raises(InvalidOrderError) as caught:
        paper.place(order)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_unknown_symbol_and_unknown_order(paper: PaperEngine) -> None:
    with pytest.raises(MarketNotFoundError):
        paper.place(new("x", "buy", symbol="NOPE/USDT:USDT"))
    with pytest.raises(OrderNotFoundError):
        paper.cancel("never-placed")


def test_cancel_is_idempotent_and_reports_once(paper: PaperEngine) -> None:
    paper.place(new("l1", "buy", "limit", "0.010", price="59000"))
    paper.take_step()

    assert paper.cancel("l1").status == "canceled"
    assert paper.cancel("l1").status == "canceled"
    assert [o.status for o, _ in paper.take_step().reports] == ["canceled"]


def test_a_symbol_first_seen_in_market_data_gets_a_market() -> None:
    paper = engine()
    tick(paper, 0.5123, symbol="DOGE/USDT:USDT")

    market = paper.markets()["DOGE/USDT:USDT"]

    assert (market.base, market.settle) == ("DOGE", "USDT")
    assert market.price_step == D("0.000001") and market.amount_step == D(1)
    order = paper.place(new("d1", "buy", amount="20", symbol="DOGE/USDT:USDT"))
    assert order.status == "closed"


def test_bars_of_another_timeframe_are_ignored(paper: PaperEngine) -> None:
    order = paper.place(new("l1", "buy", "limit", "0.500", price="59000"))

    bar(paper, open=60000, high=60010, low=58000, close=59500, timeframe="1h")

    assert order.filled == 0
