"""The ccxt exchange against the fake Bitget (real ccxt, real HTTP, signed requests): place,
cancel, look up by client id, open orders, stop (plan) orders, positions, balance, leverage."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.fakes.bitget_trading import FakeBitgetTrading
from tests.integration.modules.exchange.conftest import (
    BTC,
    BTC_ID,
    Reports,
    connect,
    exchange_config,
)
from viper.clock import TestClock
from viper.config import Secret
from viper.errors import (
    ExchangeAuthError,
    InsufficientFundsError,
    MarketNotFoundError,
    OrderNotFoundError,
)
from viper.modules.exchange.live import CcxtExchange
from viper.modules.exchange.tracker import poll

D = Decimal


async def test_market_order_goes_out_signed_with_its_client_oid(
    fake: FakeBitgetTrading, exchange: CcxtExchange
) -> None:
    placed = await exchange.create_order(
        client_order_id="viper-1", symbol=BTC, side="buy", type="market", amount=D("0.010")
    )

    [order] = fake.orders_for("viper-1")
    assert placed.exchange_order_id == order["orderId"]
    assert (order["side"], order["size"], order["marginMode"]) == ("buy", "0.01", "isolated")
    assert order["status"] == "filled"
    found = await exchange.fetch_order("viper-1", BTC)
    assert found is not None
    assert (found.status, found.filled, found.average_price) == ("closed", D("0.01"), D("60000"))
    assert found.fee == D("0.36")  # taker 0.06 % of 600


async def test_limit_order_rests_is_listed_and_cancels(
    fake: FakeBitgetTrading, exchange: CcxtExchange
) -> None:
    await exchange.create_order(
        client_order_id="bid",
        symbol=BTC,
        side="buy",
        type="limit",
        amount=D("0.010"),
        price=D("59000"),
        post_only=True,
    )

    [listed] = await exchange.fetch_open_orders(BTC)
    cancelled = await exchange.cancel_order("bid", BTC)

    assert (listed.client_order_id, listed.status, listed.price) == ("bid", "open", D("59000"))
    assert fake.orders["bid"]["force"] == "post_only"
    assert cancelled.status == "canceled"
    assert fake.orders["bid"]["status"] == "canceled"
    assert await exchange.fetch_open_orders() == []


async def test_an_order_the_exchange_never_saw_is_none(exchange: CcxtExchange) -> None:
    assert await exchange.fetch_order("never-sent", BTC) is None
    with pytest.raises(OrderNotFoundError):
        await exchange.cancel_order("never-sent", BTC)


async def test_positions_and_balance_after_a_fill(
    fake: FakeBitgetTrading, exchange: CcxtExchange
) -> None:
    await exchange.create_order(
        client_order_id="long", symbol=BTC, side="buy", type="market", amount=D("0.010")
    )
    fake.set_price(BTC_ID, "61000")

    [position] = await exchange.fetch_positions()
    balance = await exchange.fetch_balance()

    assert (position.symbol, position.direction, position.size) == (BTC, "long", D("0.01"))
    assert (position.entry_price, position.margin) == (D("60000"), D("60"))
    assert position.unrealized_pnl == D("10")
    assert balance.currency == "USDT"
    assert balance.total == D("10009.64")  # 10 000 - 0.36 fee + 10 unrealized
    assert balance.free == D("9939.64")
    assert balance.unrealized_pnl == D("10")


async def test_set_leverage_reaches_the_exchange(
    fake: FakeBitgetTrading, exchange: CcxtExchange
) -> None:
    await exchange.set_leverage(BTC, 20)

    assert fake.leverage[BTC_ID] == 20
    with pytest.raises(MarketNotFoundError):
        await exchange.set_leverage("NOPE/USDT:USDT", 5)


async def test_stop_order_is_a_plan_order_found_by_client_id(
    fake: FakeBitgetTrading, exchange: CcxtExchange
) -> None:
    await exchange.create_order(
        client_order_id="stop",
        symbol=BTC,
        side="sell",
        type="stop",
        amount=D("0.010"),
        stop_price=D("55000"),
        reduce_only=True,
    )

    [plan] = fake.orders_for("stop")
    found = await exchange.fetch_order("stop", BTC)
    listed = await exchange.fetch_open_orders()
    cancelled = await exchange.cancel_order("stop", BTC)

    assert (plan["planType"], plan["reduceOnly"]) == ("normal_plan", "YES")
    assert D(plan["triggerPrice"]) == D("55000")
    assert found is not None and (found.type, found.stop_price) == ("stop", D("55000"))
    assert [o.client_order_id for o in listed] == ["stop"]
    assert cancelled.status == "canceled" and plan["planStatus"] == "cancelled"


async def test_fills_between_polls_are_reported_once_with_their_price(
    fake: FakeBitgetTrading, exchange: CcxtExchange, reports: Reports
) -> None:
    await exchange.create_order(
        client_order_id="bid",
        symbol=BTC,
        side="buy",
        type="limit",
        amount=D("0.010"),
        price=D("59000"),
    )
    fake.fill("bid", D("0.004"))
    await poll(exchange, exchange.tracker)
    fake.fill("bid", D("0.006"), D("58900"))
    await poll(exchange, exchange.tracker)
    await poll(exchange, exchange.tracker)

    fills = [f for _, f in reports if f is not None]
    assert [(f.amount, f.price) for f in fills] == [
        (D("0.004"), D("59000")),
        (D("0.006"), D("58900")),
    ]
    assert [o.status for o, _ in reports] == ["open", "open", "closed"]


async def test_a_used_client_id_returns_the_existing_order(
    fake: FakeBitgetTrading, exchange: CcxtExchange
) -> None:
    first = await exchange.create_order(
        client_order_id="same",
        symbol=BTC,
        side="buy",
        type="limit",
        amount=D("0.010"),
        price=D("59000"),
    )
    exchange.tracker.orders.clear()  # as after a restart: only the exchange remembers

    second = await exchange.create_order(
        client_order_id="same",
        symbol=BTC,
        side="buy",
        type="limit",
        amount=D("0.010"),
        price=D("59000"),
    )

    assert second.exchange_order_id == first.exchange_order_id
    assert len(fake.orders_for("same")) == 1
    assert fake.place_attempts() == ["same", "same"]  # the second was refused: 40786


async def test_insufficient_balance_is_a_rejection(exchange: CcxtExchange) -> None:
    with pytest.raises(InsufficientFundsError):
        await exchange.create_order(
            client_order_id="big", symbol=BTC, side="buy", type="market", amount=D("5")
        )


async def test_wrong_credentials_are_an_auth_error_and_never_retried(
    fake: FakeBitgetTrading, clock: TestClock
) -> None:
    config = exchange_config(fake.url, api_secret=Secret("not-the-secret"))
    live = connect(config, clock, Reports())
    try:
        with pytest.raises(ExchangeAuthError) as caught:
            await live.fetch_balance()
    finally:
        await live.close()

    assert caught.value.extra["exchange_code"] == "40009"
    assert "not-the-secret" not in str(caught.value.to_dict())
    assert len(fake.requests("/api/v2/mix/account/accounts")) == 1


async def test_demo_mode_sends_bitgets_paptrading_header(
    fake: FakeBitgetTrading, clock: TestClock
) -> None:
    live = connect(exchange_config(fake.url, mode="demo"), clock, Reports())
    try:
        await live.fetch_balance()
    finally:
        await live.close()

    [request] = fake.requests("/api/v2/mix/account/accounts")
    assert request.headers.get("PAPTRADING") == "1"
