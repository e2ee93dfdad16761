"""The paper account's bookkeeping: realized PnL, isolated margin and leverage, Bitget's
liquidation price and the liquidation itself, and funding at 00:00 / 08:00 / 16:00 UTC."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP

import pytest

from tests.unit.modules.exchange.stubs import BTC, ETH, HOUR, MINUTE, T0, D, bar, engine, new, tick
from viper.domain import MarketInfo
from viper.errors import ExchangeRejectedError
from viper.modules.exchange.engine import PaperEngine
from viper.modules.exchange.ledger import liquidation_price
from viper.modules.exchange.markets import DEFAULT_MARKETS
from viper.modules.exchange.state import PaperPosition

MARKET: MarketInfo = DEFAULT_MARKETS[BTC]


@pytest.fixture
def paper() -> PaperEngine:
    paper = engine()
    tick(paper, 60000.0, bid=59999.9, ask=60000.1)
    paper.take_step()
    return paper


def test_closing_a_long_realizes_pnl_net_of_both_fees(paper: PaperEngine) -> None:
    paper.place(new("open", "buy", amount="0.100"))
    tick(paper, 61000.0, bid=60999.9, ask=61000.1, ts=T0 + MINUTE)

    paper.place(new("close", "sell", amount="0.100"))

    # (60999.9 - 60000.1) * 0.1 = 99.98; fees 3.600006 + 3.659994
    assert paper.account.wallet == D("10092.72")
    assert paper.positions() == []
    assert paper.balance().used == 0


def test_selling_through_zero_opens_a_short_at_the_fill_price(paper: PaperEngine) -> None:
    paper.place(new("open", "buy", amount="0.100"))

    paper.place(new("flip", "sell", amount="0.200"))

    [position] = paper.positions()
    assert (position.direction, position.size, position.entry_price) == (
        "short",
        D("0.100"),
        D("59999.9"),
    )
    assert position.margin == D("599.999")


def test_adding_to_a_position_averages_the_entry(paper: PaperEngine) -> None:
    paper.place(new("a", "buy", amount="0.100"))
    tick(paper, 62000.0, ts=T0 + MINUTE)
    paper.place(new("b", "buy", amount="0.100"))

    [position] = paper.positions()

    assert position.entry_price == D("61000.05")
    assert position.margin == D("1220.001")


# --- leverage and margin -------------------------------------------------------------------


def test_leverage_sets_the_isolated_margin_of_new_positions(paper: PaperEngine) -> None:
    paper.set_leverage(BTC, 20)

    paper.place(new("a", "buy", amount="0.100"))

    assert paper.positions()[0].margin == D("300.0005")  # 6000.01 / 20
    assert paper.positions()[0].leverage == 20


def test_changing_leverage_re_margins_an_open_position(paper: PaperEngine) -> None:
    paper.place(new("a", "buy", amount="0.100"))

    paper.set_leverage(BTC, 5)

    assert paper.positions()[0].margin == D("1200.002")
    assert paper.balance().used == D("1200.002")


def test_leverage_beyond_the_market_cap_is_rejected(paper: PaperEngine) -> None:
    with pytest.raises(ExchangeRejectedError) as caught:
        paper.set_leverage(BTC, 126)
    assert caught.value.field == "leverage"


# --- liquidation ---------------------------------------------------------------------------


def bitget_liquidation(entry: D, size: D, margin: D, long: bool) -> D:
    """Bitget's published isolated formula, rounded to the tick toward the entry."""
    rate = MARKET.maintenance_margin_rate + MARKET.taker_fee
    if long:
        raw = (margin - entry * size) / (size * (rate - 1))
        return raw.quantize(D("0.1"), rounding=ROUND_UP)
    raw = (margin + entry * size) / (size * (rate + 1))
    return raw.quantize(D("0.1"), rounding=ROUND_DOWN)


@pytest.mark.parametrize("long", [True, False], ids=["long", "short"])
def test_liquidation_price_is_bitgets_isolated_formula(long: bool) -> None:
    entry, size, margin = D("60000.1"), D("0.100"), D("600.001")
    position = PaperPosition(
        symbol=BTC, size=size if long else -size, entry_price=entry, leverage=10, margin=margin
    )

    price = liquidation_price(position, MARKET)

    assert price == bitget_liquidation(entry, size, margin, long)
    assert price == (D("54249.7") if long else D("65697.8"))


def test_a_fully_margined_long_cannot_be_liquidated() -> None:
    position = PaperPosition(symbol=BTC, size=D(1), entry_price=D(100), leverage=1, margin=D(100))
    assert liquidation_price(position, MARKET) is None


def test_a_bar_through_the_liquidation_price_closes_the_long_and_takes_its_margin(
    paper: PaperEngine,
) -> None:
    paper.place(new("open", "buy", amount="0.100"))
    stop = paper.place(new("sl", "sell", "stop", "0.100", stop="50000", reduce_only=True))
    paper.take_step()
    assert paper.positions()[0].liquidation_price == D("54249.7")

    bar(paper, open=58000, high=58100, low=54000, close=54500)

    assert paper.positions() == []
    assert paper.account.wallet == D("10000") - D("3.600006") - D("600.001")
    reports = paper.take_step().reports
    liquidation, fill = reports[0]
    assert liquidation.client_order_id.startswith("liquidation-")
    assert (liquidation.status, liquidation.side, liquidation.reduce_only) == (
        "closed",
        "sell",
        True,
    )
    assert fill is not None and (fill.price, fill.amount) == (D("54249.7"), D("0.100"))
    assert fill.fee == D("24.961")  # the margin left after the loss, forfeit
    assert stop.status == "canceled"


def test_a_tick_through_a_shorts_liquidation_price_closes_it(paper: PaperEngine) -> None:
    paper.place(new("open", "sell", amount="0.100"))
    price = paper.positions()[0].liquidation_price
    assert price == bitget_liquidation(D("59999.9"), D("0.100"), D("599.999"), long=False)

    tick(paper, 64000.0, ts=T0 + 1000)
    assert paper.positions() != []
    tick(paper, float(price) + 10, ts=T0 + 2000)

    assert paper.positions() == []
    assert paper.account.wallet == D("10000") - D("3.5999940") - D("599.999")


# --- funding -------------------------------------------------------------------------------


def test_longs_pay_positive_funding_at_0800_utc_at_the_mark(paper: PaperEngine) -> None:
    paper.place(new("long", "buy", amount="0.100"))
    wallet = paper.account.wallet
    tick(paper, 60500.0, ts=T0 + 7 * HOUR)
    assert paper.account.wallet == wallet

    tick(paper, 61000.0, ts=T0 + 8 * HOUR + MINUTE)

    [payment] = paper.take_step().funding
    assert (payment.ts_ms, payment.rate, payment.mark_price) == (
        T0 + 8 * HOUR,
        D("0.0001"),
        D("60500"),
    )
    assert payment.amount == D("0.605")  # 0.1 * 60500 * 0.01 %
    assert paper.account.wallet == wallet - D("0.605")


def test_shorts_receive_positive_funding(paper: PaperEngine) -> None:
    tick(paper, 3000.0, symbol=ETH)
    paper.place(new("short", "sell", amount="1.00", symbol=ETH))
    wallet = paper.account.wallet

    tick(paper, 3000.0, ts=T0 + 8 * HOUR, symbol=ETH)

    assert paper.account.wallet == wallet + D("0.3")


def test_a_negative_rate_pays_longs(paper: PaperEngine) -> None:
    paper.place(new("long", "buy", amount="0.100"))
    paper.set_funding_rate(BTC, D("-0.0002"))
    wallet = paper.account.wallet

    tick(paper, 60000.0, ts=T0 + 8 * HOUR)

    assert paper.account.wallet == wallet + D("1.2")


def test_a_jump_in_time_settles_every_funding_time_passed(paper: PaperEngine) -> None:
    paper.place(new("long", "buy", amount="0.100"))
    paper.take_step()

    tick(paper, 60000.0, ts=T0 + 24 * HOUR + 1)

    times = [p.ts_ms for p in paper.take_step().funding]
    assert times == [T0 + 8 * HOUR, T0 + 16 * HOUR, T0 + 24 * HOUR]


def test_no_funding_without_a_position() -> None:
    paper = engine()
    tick(paper, 60000.0)

    tick(paper, 60000.0, ts=T0 + 24 * HOUR)

    assert paper.take_step().funding == []
    assert paper.account.wallet == D(10_000)
