"""The ccxt exchange under injected faults: 5xx, 429, timeouts and an answer lost after the
order was accepted never make a second order; the circuit breaker opens after repeated faults
and closes again (through half-open) once the exchange is healthy."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from tests.fakes.bitget_trading import FakeBitgetTrading
from tests.integration.modules.exchange.conftest import (
    BTC,
    Reports,
    connect,
    exchange_config,
)
from viper.clock import TestClock
from viper.errors import ExchangeUnavailableError
from viper.modules.exchange.gateway import Resilience
from viper.modules.exchange.live import CcxtExchange
from viper.resilience import CircuitOpenError

D = Decimal
PLACE = "/api/v2/mix/order/place-order"
DETAIL = "/api/v2/mix/order/detail"
ACCOUNTS = "/api/v2/mix/account/accounts"


async def buy(exchange: CcxtExchange, cid: str, kind: str = "market") -> object:
    return await exchange.create_order(
        client_order_id=cid,
        symbol=BTC,
        side="buy",
        type=kind,  # type: ignore[arg-type]
        amount=D("0.010"),
        price=D("59000") if kind == "limit" else None,
    )


def assert_one_order_per_client_oid(fake: FakeBitgetTrading) -> None:
    oids = [o["clientOid"] for o in fake.orders.values()]
    assert len(oids) == len(set(oids))


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, None), (502, None), (429, None)],
    ids=["500", "502", "429"],
)
async def test_a_refused_send_is_looked_up_then_sent_once_more(
    fake: FakeBitgetTrading, exchange: CcxtExchange, status: int, body: str | None
) -> None:
    fake.fail_next(1, status, body, path=PLACE)

    placed = await buy(exchange, "c1")

    [order] = fake.orders_for("c1")
    assert placed.exchange_order_id == order["orderId"]  # type: ignore[attr-defined]
    paths = [r.path for r in fake.log if r.path in (PLACE, DETAIL)]
    assert paths == [PLACE, DETAIL, PLACE]  # never resent before asking
    assert fake.place_attempts() == ["c1"]
    assert_one_order_per_client_oid(fake)


async def test_an_answer_lost_after_acceptance_is_found_not_resent(
    fake: FakeBitgetTrading, exchange: CcxtExchange
) -> None:
    fake.lose_response_next(1, path=PLACE)

    placed = await buy(exchange, "c1", "limit")

    [order] = fake.orders_for("c1")
    assert fake.place_attempts() == ["c1"]  # accepted once, never sent again
    assert [r.outcome for r in fake.requests(PLACE)] == ["lost"]
    assert placed.exchange_order_id == order["orderId"]  # type: ignore[attr-defined]
    assert placed.status == "open"  # type: ignore[attr-defined]


async def test_a_timeout_then_a_late_acceptance_still_leaves_one_order(
    fake: FakeBitgetTrading, clock: TestClock, reports: Reports
) -> None:
    live = connect(exchange_config(fake.url, timeout_seconds=0.3), clock, reports)
    try:
        await live.markets()
        fake.delay_next(1, 0.8, path=PLACE)  # answered (and accepted) after the client gave up

        placed = await buy(live, "c1", "limit")
        await asyncio.sleep(1.0)  # let the delayed request land
        again = await live.fetch_order("c1", BTC)
    finally:
        await live.close()

    assert len(fake.orders_for("c1")) == 1
    assert_one_order_per_client_oid(fake)
    assert fake.place_attempts() == ["c1", "c1"]  # the late one was refused as a duplicate
    assert again is not None and again.exchange_order_id == placed.exchange_order_id  # type: ignore[attr-defined]


async def test_when_the_lookup_also_fails_the_order_is_not_resent(
    fake: FakeBitgetTrading, clock: TestClock, reports: Reports
) -> None:
    settings = Resilience(attempts=2, base_delay=0.01, failure_threshold=50)
    live = connect(exchange_config(fake.url), clock, reports, settings)
    try:
        await live.markets()
        fake.lose_response_next(1, path=PLACE)
        fake.fail_next(4, 503, path=DETAIL)

        with pytest.raises(ExchangeUnavailableError):
            await buy(live, "c1")
    finally:
        await live.close()

    assert fake.place_attempts() == ["c1"]
    assert len(fake.orders_for("c1")) == 1


async def test_idempotent_reads_retry_through_transient_faults(
    fake: FakeBitgetTrading, exchange: CcxtExchange
) -> None:
    fake.fail_next(2, 503, path=ACCOUNTS)

    balance = await exchange.fetch_balance()

    assert balance.total == D("10000")
    assert [r.outcome for r in fake.requests(ACCOUNTS)] == ["fail", "fail", "ok"]
    assert exchange.gateway.retries == 2


async def test_breaker_opens_after_repeated_faults_and_recovers_through_half_open(
    fake: FakeBitgetTrading, clock: TestClock, reports: Reports
) -> None:
    settings = Resilience(attempts=1, failure_threshold=3, recovery_seconds=5.0, burst=100)
    live = connect(exchange_config(fake.url), clock, reports, settings)
    breaker = live.gateway.breaker
    try:
        fake.fail_next(3, 500, path=ACCOUNTS)
        for _ in range(3):
            with pytest.raises(ExchangeUnavailableError):
                await live.fetch_balance()
        assert breaker.state == "open"

        with pytest.raises(CircuitOpenError):
            await live.fetch_balance()  # refused without a request
        assert len(fake.requests(ACCOUNTS)) == 3

        clock.advance(5.0)
        assert breaker.state == "half_open"
        balance = await live.fetch_balance()  # the trial call succeeds
    finally:
        await live.close()

    assert breaker.state == "closed"
    assert balance.total == D("10000")
    assert breaker.opened_count == 1


async def test_a_failed_trial_opens_the_breaker_again(
    fake: FakeBitgetTrading, clock: TestClock, reports: Reports
) -> None:
    settings = Resilience(attempts=1, failure_threshold=2, recovery_seconds=5.0, burst=100)
    live = connect(exchange_config(fake.url), clock, reports, settings)
    breaker = live.gateway.breaker
    try:
        fake.fail_next(3, 502, path=ACCOUNTS)
        for _ in range(2):
            with pytest.raises(ExchangeUnavailableError):
                await live.fetch_balance()
        clock.advance(5.0)
        with pytest.raises(ExchangeUnavailableError):
            await live.fetch_balance()  # the trial fails
        assert breaker.state == "open"
        clock.advance(5.0)
        await live.fetch_balance()
    finally:
        await live.close()

    assert breaker.state == "closed" and breaker.opened_count == 2


async def test_state_stays_consistent_through_a_storm_of_faults(
    fake: FakeBitgetTrading, exchange: CcxtExchange
) -> None:
    faults = [
        lambda: fake.fail_next(1, 500, path=PLACE),
        lambda: fake.lose_response_next(1, path=PLACE),
        lambda: fake.fail_next(1, 429, path=PLACE),
        lambda: None,
    ]
    for n in range(8):
        faults[n % len(faults)]()
        await buy(exchange, f"c{n}", "limit")
        fake.clear_faults()

    open_orders = await exchange.fetch_open_orders(BTC)

    assert sorted(o.client_order_id for o in open_orders) == sorted(f"c{n}" for n in range(8))
    assert len(fake.orders) == 8
    assert_one_order_per_client_oid(fake)
    assert exchange.gateway.breaker.state == "closed"
