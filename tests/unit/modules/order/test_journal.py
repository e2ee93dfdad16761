"""The journal: one writer, one transaction per change, fills counted once."""

from __future__ import annotations

from decimal import Decimal as D

from tests.unit.modules.order.fake_exchange import SYMBOL
from viper.domain import ExchangeOrder, Fill, Position
from viper.modules.order import queries
from viper.modules.order.journal import Journal
from viper.modules.order.records import OrderRecord

TS = 1_700_000_000_000


def record(cid: str = "c1", amount: str = "1", state: str = "pending") -> OrderRecord:
    return OrderRecord(
        client_order_id=cid,
        symbol=SYMBOL,
        side="buy",
        type="limit",
        amount=D(amount),
        price=D("100"),
        state=state,  # type: ignore[arg-type]
        created_ms=TS,
        updated_ms=TS,
    )


def report(
    cid: str = "c1", status: str = "open", filled: str = "0", **extra: object
) -> ExchangeOrder:
    return ExchangeOrder(
        client_order_id=cid,
        symbol=SYMBOL,
        side="buy",
        type="limit",
        amount=D("1"),
        status=status,  # type: ignore[arg-type]
        filled=D(filled),
        **extra,  # type: ignore[arg-type]
    )


def fill(fill_id: str, amount: str, price: str = "100", fee: str = "0.01") -> Fill:
    return Fill(
        fill_id=fill_id,
        client_order_id="c1",
        symbol=SYMBOL,
        side="buy",
        amount=D(amount),
        price=D(price),
        fee=D(fee),
        ts_ms=TS,
    )


async def transitions(journal: Journal, cid: str = "c1") -> list[tuple[str, str]]:
    life = await queries.lifecycle(journal.db, cid)
    assert life is not None
    return [(e.old, e.new) for e in life.entries if e.kind == "transition"]


async def test_insert_is_idempotent_by_client_order_id(journal: Journal) -> None:
    assert await journal.insert(record())
    assert not await journal.insert(record(amount="5"))
    order = await queries.get_order(journal.db, "c1")
    assert order is not None and order.amount == D("1")
    assert await transitions(journal) == [("", "pending")]


async def test_transition_walks_allowed_steps_and_ignores_stale_asks(journal: Journal) -> None:
    await journal.insert(record())
    outcome = await journal.transition("c1", "filled", TS, "filled at once")
    stale = await journal.transition("c1", "submitted", TS, "too late")
    assert outcome.steps == [("pending", "submitted"), ("submitted", "filled")]
    assert stale.steps == [] and stale.refused is None
    order = await queries.get_order(journal.db, "c1")
    assert order is not None and order.state == "filled"


async def test_conflicting_transition_is_refused_and_logged(journal: Journal) -> None:
    await journal.insert(record())
    await journal.transition("c1", "rejected", TS, "no margin", reason="no margin")
    outcome = await journal.transition("c1", "cancelled", TS, "cancel")
    assert outcome.refused == ("rejected", "cancelled")
    assert outcome.steps == []
    order = await queries.get_order(journal.db, "c1")
    assert order is not None and order.state == "rejected" and order.reason == "no margin"
    assert await transitions(journal) == [("", "pending"), ("pending", "rejected")]


async def test_every_transition_is_a_row_in_order_events(journal: Journal) -> None:
    await journal.insert(record())
    await journal.transition("c1", "submitted", TS, "sending")
    await journal.apply_report(report(filled="0.4"), fill("f1", "0.4"), TS + 5, detail="fill")
    await journal.apply_report(
        report(status="closed", filled="1"), fill("f2", "0.6"), TS + 9, detail="fill"
    )
    rows = await journal.db.execute(
        "SELECT ts_ms, old, new, detail FROM order_events WHERE kind = 'transition' ORDER BY seq"
    )
    assert [(r[1], r[2]) for r in rows] == [
        ("", "pending"),
        ("pending", "submitted"),
        ("submitted", "open"),
        ("open", "partially_filled"),
        ("partially_filled", "filled"),
    ]
    assert rows[-1][0] == TS + 9 and rows[-1][3] == "fill"


async def test_the_same_fill_reported_twice_counts_once(journal: Journal) -> None:
    await journal.insert(record())
    first = await journal.apply_report(report(filled="0.5"), fill("f1", "0.5"), TS, detail="x")
    again = await journal.apply_report(report(filled="0.5"), fill("f1", "0.5"), TS, detail="x")
    assert len(first.fills) == 1 and again.fills == [] and again.position is None
    book = await queries.position(journal.db, SYMBOL)
    assert book.size == D("0.5") and book.fees == D("0.01")
    assert (await journal.db.execute("SELECT COUNT(*) FROM fills"))[0][0] == 1


async def test_fills_never_pass_the_order_amount(journal: Journal) -> None:
    await journal.insert(record())
    await journal.apply_report(report(filled="0.8"), fill("f1", "0.8"), TS, detail="x")
    outcome = await journal.apply_report(
        report(status="closed", filled="1"), fill("f2", "0.5", fee="0.05"), TS, detail="x"
    )
    assert outcome.fills[0].amount == D("0.2")
    assert outcome.fills[0].fee == D("0.02")
    assert (await queries.position(journal.db, SYMBOL)).size == D("1.0")


async def test_synthesizes_fills_the_exchange_made_but_never_reported(journal: Journal) -> None:
    await journal.insert(record())
    await journal.apply_report(report(filled="0.4"), fill("f1", "0.4", price="100"), TS, detail="x")
    seen = report(status="closed", filled="1", average_price=D("101.2"), fee=D("0.05"))
    outcome = await journal.apply_report(seen, None, TS, detail="recovered", synthesize=True)
    assert len(outcome.fills) == 1
    missing = outcome.fills[0]
    assert missing.amount == D("0.6") and missing.price == D("102") and missing.fee == D("0.04")
    order = await queries.get_order(journal.db, "c1")
    assert order is not None and order.state == "filled" and order.filled == D("1")
    late = await journal.apply_report(seen, fill("f2", "0.6", price="102"), TS, detail="late")
    assert late.fills == []
    assert (await queries.position(journal.db, SYMBOL)).size == D("1.0")


async def test_reports_for_unknown_orders_change_nothing(journal: Journal) -> None:
    outcome = await journal.apply_report(report(cid="nope"), fill("f9", "1"), TS, detail="x")
    assert outcome.order is None
    assert await queries.positions(journal.db) == []


async def test_adopting_a_position_is_compare_and_set(journal: Journal) -> None:
    exchange = Position(symbol=SYMBOL, direction="long", size=D("2"), entry_price=D("50"))
    assert await journal.adopt_position(SYMBOL, D("1"), exchange, TS) is None
    adopted = await journal.adopt_position(SYMBOL, D("0"), exchange, TS)
    assert adopted is not None and adopted.size == D("2") and adopted.adopted
    assert (await queries.position(journal.db, SYMBOL)).entry_price == D("50")
