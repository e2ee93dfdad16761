"""Reconciliation runs against the fake exchange: adopt, settle, correct, alert, confirm."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D

from tests.unit.modules.order.fake_exchange import SYMBOL, FakeExchange
from tests.unit.modules.order.stubs import Recorder, request
from viper.clock import TestClock
from viper.events import (
    AlertRaised,
    OrderStateCorrected,
    PositionDesynced,
    ReconciliationCompleted,
    ReconciliationDiscrepancy,
)
from viper.modules.order import actions, queries
from viper.modules.order.manager import OrderManager
from viper.modules.sync.synchronizer import Synchronizer


class HookClock(TestClock):
    """A test clock that runs `hook` while the synchronizer waits between its two looks."""

    def __init__(self, hook: Callable[[], object]) -> None:
        super().__init__()
        self.hook = hook

    async def sleep(self, seconds: float) -> None:
        result = self.hook()
        if hasattr(result, "__await__"):
            await result  # type: ignore[misc]
        await super().sleep(seconds)


async def test_clean_run_passes(
    synchronizer: Synchronizer, manager: OrderManager, recorder: Recorder
) -> None:
    await manager.submit(request())
    report = await synchronizer.run()
    assert report.ok and report.discrepancies == []
    assert report.exchange_open_orders == 1 and report.journal_live_orders == 1
    assert report.balance_total == D(10_000)
    completed = recorder.of(ReconciliationCompleted)
    assert [(c.ok, c.discrepancies) for c in completed] == [(True, 0)]


async def test_adopts_a_position_the_journal_does_not_know(
    synchronizer: Synchronizer, manager: OrderManager, exchange: FakeExchange, recorder: Recorder
) -> None:
    exchange.positions[SYMBOL] = (D("0.5"), D("42000"))
    report = await synchronizer.run()
    assert not report.ok
    assert [d.kind for d in report.discrepancies] == ["unknown_position"]
    desynced = recorder.of(PositionDesynced)
    assert len(desynced) == 1 and desynced[0].action == "adopted"
    assert (desynced[0].journal_size, desynced[0].exchange_size) == (D(0), D("0.5"))
    alerts = recorder.of(AlertRaised)
    assert [(a.severity, a.rule) for a in alerts] == [("warning", "sync.unknown_position")]
    assert len(recorder.of(ReconciliationDiscrepancy)) == 1

    await manager.adopt_position(desynced[0])
    book = await queries.position(manager.journal.db, SYMBOL)
    assert book.adopted and book.size == D("0.5") and book.entry_price == D("42000")
    assert (await synchronizer.run()).ok


async def test_corrects_a_quantity_that_differs(
    synchronizer: Synchronizer, manager: OrderManager, exchange: FakeExchange, recorder: Recorder
) -> None:
    await manager.submit(request(amount="1"))
    await manager.apply_execution(exchange.fill("c1", "1", "100"))
    exchange.positions[SYMBOL] = (D("0.6"), D("100"))  # reduced outside VIPER
    report = await synchronizer.run()
    assert [d.kind for d in report.discrepancies] == ["position_size"]
    event = recorder.of(PositionDesynced)[0]
    assert event.action == "corrected" and event.journal_size == D(1)
    await manager.adopt_position(event)
    assert (await queries.position(manager.journal.db, SYMBOL)).size == D("0.6")
    assert (await synchronizer.run()).ok


async def test_settles_an_order_that_vanished_from_the_open_list(
    synchronizer: Synchronizer, manager: OrderManager, exchange: FakeExchange, recorder: Recorder
) -> None:
    await manager.submit(request(amount="1"))
    exchange.fill("c1", "1", "100", fee="0.05")  # filled; the report never arrived
    report = await synchronizer.run()
    found = {d.kind: d for d in report.discrepancies}
    assert sorted(found) == ["unknown_position", "vanished_order"]
    assert found["unknown_position"].deferred  # the order explains it: settle that first
    assert recorder.of(PositionDesynced) == []
    correction = recorder.of(OrderStateCorrected)[0]
    assert correction.order is not None and correction.order.status == "closed"

    await actions.apply_correction(manager, correction)
    order = await queries.get_order(manager.journal.db, "c1")
    assert order is not None and order.state == "filled"
    book = await queries.position(manager.journal.db, SYMBOL)
    assert book.size == D(1) and book.fees == D("0.05")
    assert (await synchronizer.run()).ok


async def test_a_difference_gone_on_the_second_look_is_left_alone(
    journal: object, manager: OrderManager, exchange: FakeExchange, recorder: Recorder
) -> None:
    await manager.submit(request(amount="1"))
    report = exchange.fill("c1", "1", "100")  # the fill is on its way through the bus
    clock = HookClock(lambda: manager.apply_execution(report))
    synchronizer = Synchronizer(exchange, manager.journal.db, clock, recorder, settle_seconds=1)
    result = await synchronizer.run()
    assert result.ok and result.discrepancies == []
    assert recorder.of(PositionDesynced) == [] and recorder.of(AlertRaised) == []


async def test_an_unreachable_exchange_fails_the_run(
    synchronizer: Synchronizer, exchange: FakeExchange, recorder: Recorder
) -> None:
    exchange.down = True
    report = await synchronizer.run()
    assert not report.ok and "unreachable" in report.error
    completed = recorder.of(ReconciliationCompleted)
    assert len(completed) == 1 and not completed[0].ok and completed[0].error


async def test_an_order_not_ours_raises_an_alert_but_does_not_block(
    synchronizer: Synchronizer, exchange: FakeExchange, recorder: Recorder
) -> None:
    await exchange.create_order(
        client_order_id="manual-1",
        symbol=SYMBOL,
        side="sell",
        type="limit",
        amount=D(1),
        price=D(1000),
    )
    report = await synchronizer.run()
    assert report.ok
    assert [d.kind for d in report.discrepancies] == ["unknown_order"]
    assert [a.rule for a in recorder.of(AlertRaised)] == ["sync.unknown_order"]


async def test_fills_reported_in_an_order_but_never_recorded_are_recovered_through_the_order(
    synchronizer: Synchronizer, manager: OrderManager, exchange: FakeExchange, recorder: Recorder
) -> None:
    await manager.submit(request(amount="1"))
    exchange.fill("c1", "1", "100", fee="0.05")
    await manager.adopt(exchange.orders["c1"], "polled")  # state known, fill event lost
    order = await queries.get_order(manager.journal.db, "c1")
    assert order is not None and order.state == "filled"
    report = await synchronizer.run()
    found = {d.kind: d for d in report.discrepancies}
    assert sorted(found) == ["missing_fills", "unknown_position"]
    assert found["unknown_position"].deferred
    correction = recorder.of(OrderStateCorrected)[0]
    await actions.apply_correction(manager, correction)
    book = await queries.position(manager.journal.db, SYMBOL)
    assert book.size == D(1) and not book.adopted and book.fees == D("0.05")
    assert (await synchronizer.run()).ok


async def test_position_difference_with_an_order_in_flight_is_not_adopted(
    synchronizer: Synchronizer, manager: OrderManager, exchange: FakeExchange, recorder: Recorder
) -> None:
    record = await manager.accept(request(order_type="market", price=None))
    assert record is not None
    await manager.journal.transition("c1", "submitted", manager.clock.now_ms(), "sending")
    await exchange.create_order(
        client_order_id="c1", symbol=SYMBOL, side="buy", type="market", amount=D(1)
    )
    exchange.fill("c1", "1", "100")  # filled, while the answer is still on its way
    report = await synchronizer.run()
    assert [(d.kind, d.deferred) for d in report.discrepancies] == [("unknown_position", True)]
    assert not report.ok
    assert recorder.of(PositionDesynced) == []
