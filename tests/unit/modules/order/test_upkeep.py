"""Timeouts of limit orders (cancel, reprice) and recovery of open orders after a restart."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tests.unit.modules.order.fake_exchange import SYMBOL, FakeExchange
from tests.unit.modules.order.stubs import Recorder, make_manager, request
from viper.clock import TestClock
from viper.config import OrderConfig
from viper.modules.order import queries
from viper.modules.order.ids import reprice_client_order_id
from viper.modules.order.journal import Journal
from viper.modules.order.manager import OrderManager
from viper.modules.order.prices import PriceBook
from viper.modules.order.records import OrderRecord
from viper.modules.order.upkeep import Upkeep


def upkeep_for(manager: OrderManager, prices: PriceBook | None = None) -> Upkeep:
    upkeep = Upkeep(manager, prices or PriceBook())
    upkeep.recovered = True
    return upkeep


async def test_unfilled_limit_order_is_cancelled_after_the_timeout(
    manager: OrderManager, exchange: FakeExchange, clock: TestClock
) -> None:
    await manager.submit(request())
    upkeep = upkeep_for(manager)
    clock.advance(59)
    await upkeep.check_timeouts()
    assert exchange.orders["c1"].status == "open"
    clock.advance(2)
    await upkeep.check_timeouts()
    order = await queries.get_order(manager.journal.db, "c1")
    assert exchange.orders["c1"].status == "canceled"
    assert order is not None and order.state == "cancelled"
    assert "timed out" in order.reason


async def test_market_and_filled_orders_never_time_out(
    manager: OrderManager, exchange: FakeExchange, clock: TestClock
) -> None:
    await manager.submit(request("m1", order_type="market", price=None))
    await manager.submit(request("l1"))
    await manager.apply_execution(exchange.fill("l1", "1", "100"))
    clock.advance(600)
    await upkeep_for(manager).check_timeouts()
    assert exchange.calls.count("cancel_order") == 0


@pytest.fixture
def reprice_config() -> OrderConfig:
    return OrderConfig(limit_timeout_seconds=60.0, on_timeout="reprice", max_reprices=1)


async def test_timed_out_order_is_repriced_then_cancelled_after_max_reprices(
    journal: Journal,
    exchange: FakeExchange,
    clock: TestClock,
    recorder: Recorder,
    reprice_config: OrderConfig,
) -> None:
    manager = make_manager(journal, exchange, clock, recorder, reprice_config)
    prices = PriceBook()
    prices.note(SYMBOL, last=101.0, bid=100.9, ask=101.04)
    upkeep = upkeep_for(manager, prices)
    await manager.submit(request(amount="1", price="100"))
    await manager.apply_execution(exchange.fill("c1", "0.25", "100"))
    clock.advance(61)
    await upkeep.check_timeouts()
    child_id = reprice_client_order_id("c1", 1)
    parent = await queries.get_order(journal.db, "c1")
    child = await queries.get_order(journal.db, child_id)
    assert parent is not None and parent.state == "cancelled"
    assert child is not None and child.state == "open"
    assert child.parent_id == "c1" and child.reprice == 1
    assert child.amount == D("0.75") and child.price == D("101.1")  # ask on the 0.1 grid, up
    assert exchange.orders[child_id].price == D("101.1")
    clock.advance(61)
    await upkeep.check_timeouts()
    final = await queries.get_order(journal.db, child_id)
    assert final is not None and final.state == "cancelled"
    assert len(exchange.orders) == 2


async def test_recovery_accounts_for_every_order_exactly_once(
    journal: Journal, exchange: FakeExchange, clock: TestClock, recorder: Recorder
) -> None:
    config = OrderConfig()
    first = make_manager(journal, exchange, clock, recorder, config)
    # journaled but never sent (crash before sending)
    await first.accept(request("pending-1"))
    # sent and accepted, the answer lost in the crash
    await first.accept(request("submitted-1"))
    await journal.transition("submitted-1", "submitted", clock.now_ms(), "sending")
    await exchange.create_order(
        client_order_id="submitted-1",
        symbol=SYMBOL,
        side="buy",
        type="limit",
        amount=D(1),
        price=D(100),
    )
    # submitted in the journal, never reached the exchange
    await first.accept(request("submitted-2"))
    await journal.transition("submitted-2", "submitted", clock.now_ms(), "sending")
    # open, then filled while the process was down (fill events lost)
    await first.submit(request("open-1", amount="2", price="100"))
    exchange.fill("open-1", "2", "100", fee="0.12")
    # open, cancelled at the exchange while down
    await first.submit(request("open-2"))
    exchange.set_status("open-2", "canceled")
    # open in the journal, unknown to the exchange
    await first.submit(request("open-3"))
    del exchange.orders["open-3"]
    creates_before = list(exchange.create_calls)

    second = make_manager(journal, exchange, clock, Recorder(), config)
    upkeep = Upkeep(second, PriceBook())
    assert await upkeep.recover() == 0

    states = {o.client_order_id: o.state for o in (await queries.page_orders(journal.db)).orders}
    assert states == {
        "pending-1": "open",
        "submitted-1": "open",
        "submitted-2": "open",
        "open-1": "filled",
        "open-2": "cancelled",
        "open-3": "expired",
    }
    resent = exchange.create_calls[len(creates_before) :]
    assert sorted(resent) == ["pending-1", "submitted-2"]
    assert len(exchange.create_calls) == len(set(exchange.create_calls))  # none sent twice
    assert len(exchange.orders) == 5
    position = await queries.position(journal.db, SYMBOL)
    assert position.size == D("2") and position.fees == D("0.12")


async def test_recovery_rejects_orders_too_stale_to_send(
    journal: Journal, exchange: FakeExchange, clock: TestClock, recorder: Recorder
) -> None:
    manager = make_manager(
        journal, exchange, clock, recorder, OrderConfig(limit_timeout_seconds=60)
    )
    await manager.accept(request("old"))
    clock.advance(3600)
    upkeep = Upkeep(manager, PriceBook())
    await upkeep.recover()
    order: OrderRecord | None = await queries.get_order(journal.db, "old")
    assert order is not None and order.state == "rejected" and order.reason.startswith("stale")
    assert exchange.create_calls == []


async def test_poll_settles_orders_that_left_the_open_list(
    manager: OrderManager, exchange: FakeExchange
) -> None:
    await manager.submit(request("a"))
    await manager.submit(request("b"))
    exchange.set_status("a", "expired")
    exchange.fill("b", "0.5", "100")
    upkeep = upkeep_for(manager)
    await upkeep.poll()
    a = await queries.get_order(manager.journal.db, "a")
    b = await queries.get_order(manager.journal.db, "b")
    assert a is not None and a.state == "expired"
    assert b is not None and b.state == "partially_filled" and b.filled == D("0.5")
    assert exchange.calls.count("fetch_open_orders") == 1
    assert exchange.calls.count("fetch_order") == 1


async def test_poll_leaves_an_order_on_its_way_out_alone_then_checks_it(
    manager: OrderManager, exchange: FakeExchange
) -> None:
    record = await manager.accept(request("a"), send=True)  # journaled, not yet placed
    assert record is not None and record.state == "submitted"
    upkeep = upkeep_for(manager)
    await upkeep.poll()
    assert exchange.calls.count("fetch_order") == 0  # in flight: not checked yet
    assert isinstance(manager.clock, TestClock)
    manager.clock.advance(11.0)  # past IN_FLIGHT_MS, still not at the exchange
    await upkeep.poll()
    assert "fetch_order" in exchange.calls  # checked: never reached the exchange, so sent
    assert exchange.create_calls == ["a"]
