"""Submitting orders: journal before send, no duplicates through faults, rejections, reports."""

from __future__ import annotations

from decimal import Decimal as D

from tests.unit.modules.order.fake_exchange import SYMBOL, FakeExchange
from tests.unit.modules.order.stubs import Recorder, request
from viper.events import OrderFilled, OrderUpdated, PositionChanged, TradeRejected
from viper.modules.order import queries
from viper.modules.order.ids import derive_client_order_id
from viper.modules.order.manager import OrderManager


async def states(manager: OrderManager, cid: str = "c1") -> list[str]:
    life = await queries.lifecycle(manager.journal.db, cid)
    assert life is not None
    return [e.new for e in life.entries if e.kind == "transition"]


async def test_order_is_journaled_as_submitted_before_the_exchange_sees_it(
    manager: OrderManager, exchange: FakeExchange
) -> None:
    seen: list[str | None] = []

    async def check_journal(cid: str) -> None:
        order = await queries.get_order(manager.journal.db, cid)
        seen.append(order.state if order else None)

    exchange.before_create = check_journal
    order = await manager.submit(request())
    assert seen == ["submitted"]
    assert order is not None and order.state == "open"
    assert order.exchange_order_id == "1"
    assert await states(manager) == ["pending", "submitted", "open"]


async def test_error_after_acceptance_adopts_the_exchange_order_without_resending(
    manager: OrderManager, exchange: FakeExchange
) -> None:
    exchange.fail("create_order", "after")
    order = await manager.submit(request())
    assert exchange.create_calls == ["c1"]
    assert list(exchange.orders) == ["c1"]
    assert order is not None and order.state == "open"
    assert order.exchange_order_id == exchange.orders["c1"].exchange_order_id


async def test_error_before_acceptance_resends_with_the_same_id(
    manager: OrderManager, exchange: FakeExchange
) -> None:
    exchange.fail("create_order", "before", "before")
    order = await manager.submit(request())
    assert exchange.create_calls == ["c1", "c1", "c1"]
    assert len(exchange.orders) == 1
    assert exchange.calls.count("fetch_order") == 2  # asked before each resend
    assert order is not None and order.state == "open"


async def test_lost_response_times_out_then_the_order_is_found(
    manager: OrderManager, exchange: FakeExchange
) -> None:
    exchange.fail("create_order", "lose")
    order = await manager.submit(request())
    assert exchange.create_calls == ["c1"]
    assert len(exchange.orders) == 1
    assert order is not None and order.state == "open"
    assert manager.last_error is not None and "timed out" in manager.last_error.detail


async def test_rejection_records_the_reason_and_sends_nothing_else(
    manager: OrderManager, exchange: FakeExchange, recorder: Recorder
) -> None:
    exchange.fail("create_order", "reject")
    order = await manager.submit(request(intent_id="intent-7"))
    assert order is not None and order.state == "rejected"
    assert "insufficient margin" in order.reason
    assert exchange.create_calls == ["c1"] and exchange.orders == {}
    assert "fetch_order" not in exchange.calls
    assert await states(manager) == ["pending", "submitted", "rejected"]
    rejected = recorder.of(TradeRejected)
    assert [(r.intent_id, r.reason) for r in rejected] == [("intent-7", "order_rejected")]


async def test_outage_leaves_the_order_submitted_for_later(
    manager: OrderManager, exchange: FakeExchange
) -> None:
    exchange.down = True
    order = await manager.submit(request())
    assert order is not None and order.state == "submitted"
    assert exchange.orders == {}
    exchange.down = False
    again = await manager.send("c1")
    assert again is not None and again.state == "open"
    assert len(exchange.orders) == 1


async def test_duplicate_request_makes_one_order(
    manager: OrderManager, exchange: FakeExchange
) -> None:
    await manager.submit(request())
    assert await manager.submit(request()) is None
    assert exchange.create_calls == ["c1"]


async def test_request_without_id_gets_a_deterministic_one(
    manager: OrderManager, exchange: FakeExchange
) -> None:
    first = await manager.submit(request(cid="", intent_id="intent-1"))
    second = await manager.submit(request(cid="", intent_id="intent-1"))
    expected = derive_client_order_id("intent-1", "entry")
    assert first is not None and first.client_order_id == expected
    assert second is None
    assert exchange.create_calls == [expected]


async def test_invalid_request_is_rejected_without_sending(
    manager: OrderManager, exchange: FakeExchange
) -> None:
    assert await manager.submit(request(price=None)) is None
    order = await queries.get_order(manager.journal.db, "c1")
    assert order is not None and order.state == "rejected"
    assert order.reason.startswith("invalid request: price")
    assert exchange.create_calls == []


async def test_duplicate_execution_report_is_counted_once(
    manager: OrderManager, exchange: FakeExchange, recorder: Recorder
) -> None:
    await manager.submit(request(amount="2"))
    report = exchange.fill("c1", "1", "100", fee="0.06", fill_id="t-1")
    await manager.apply_execution(report)
    await manager.apply_execution(report)
    order = await queries.get_order(manager.journal.db, "c1")
    assert order is not None and order.filled == D("1") and order.state == "partially_filled"
    assert len(recorder.of(OrderFilled)) == 1
    positions = recorder.of(PositionChanged)
    assert len(positions) == 1 and positions[0].position.size == D("1")
    assert (await queries.position(manager.journal.db, SYMBOL)).fees == D("0.06")


async def test_fills_publish_fill_position_and_transitions(
    manager: OrderManager, exchange: FakeExchange, recorder: Recorder
) -> None:
    await manager.submit(request(amount="1"))
    recorder.events.clear()
    await manager.apply_execution(exchange.fill("c1", "1", "101", fee="0.1"))
    kinds = [type(e).__name__ for e in recorder.events]
    assert kinds == ["OrderFilled", "PositionChanged", "OrderUpdated"]
    update = recorder.of(OrderUpdated)[0]
    assert (update.old_state, update.order.state) == ("open", "filled")
    position = recorder.of(PositionChanged)[0].position
    assert position.entry_price == D("101") and position.realized_pnl == D("-0.1")


async def test_market_order_filled_in_the_create_answer(
    manager: OrderManager, exchange: FakeExchange
) -> None:
    await manager.submit(request(order_type="market", price=None))
    report = exchange.fill("c1", "1", "99")
    await manager.apply_execution(report)
    assert await states(manager) == ["pending", "submitted", "open", "filled"]


async def test_accept_to_send_journals_pending_and_submitted_in_one_transaction(
    manager: OrderManager, exchange: FakeExchange, recorder: Recorder
) -> None:
    transactions = 0
    original = manager.journal.db.transaction

    async def counted(fn):  # type: ignore[no-untyped-def]
        nonlocal transactions
        transactions += 1
        return await original(fn)

    manager.journal.db.transaction = counted  # type: ignore[method-assign]
    record = await manager.accept(request(), send=True)
    assert transactions == 1
    assert record is not None and record.state == "submitted"
    assert exchange.create_calls == []  # journaled, not sent yet
    updates = recorder.of(OrderUpdated)
    assert [(u.old_state, u.order.state) for u in updates] == [
        ("", "pending"),
        ("pending", "submitted"),
    ]
    order = await manager.place(record)
    assert exchange.create_calls == ["c1"]
    assert order is not None and order.state == "open"
    assert await states(manager) == ["pending", "submitted", "open"]


async def test_place_reads_the_order_back_when_another_action_took_it_meanwhile(
    manager: OrderManager, exchange: FakeExchange
) -> None:
    record = await manager.accept(request(), send=True)
    assert record is not None
    async with manager.locked("c1"):  # e.g. a cancel that got there first
        await manager.settle("c1", "cancelled", "cancelled before it was sent")
    order = await manager.place(record)
    assert exchange.create_calls == []
    assert order is not None and order.state == "cancelled"


async def test_the_same_report_again_writes_nothing(
    manager: OrderManager, exchange: FakeExchange, recorder: Recorder
) -> None:
    await manager.submit(request(amount="1"))
    report = exchange.fill("c1", "1", "100")
    await manager.apply_execution(report)
    recorder.events.clear()
    writes = 0
    original = manager.journal.apply_report

    async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal writes
        writes += 1
        return await original(*args, **kwargs)

    manager.journal.apply_report = counted  # type: ignore[method-assign]
    again = await manager.adopt(report.order, "the create call's answer")
    assert writes == 0 and recorder.events == []
    assert again is not None and again.state == "filled"
    await manager.settle("c1", "filled", "no change")  # any other action forgets the report
    await manager.adopt(report.order, "seen again")
    assert writes == 1
