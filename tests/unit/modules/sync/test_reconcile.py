"""Comparing journal and exchange snapshots, as pure data."""

from __future__ import annotations

from decimal import Decimal as D

from viper.domain import ExchangeOrder, Position
from viper.modules.sync.journal_view import JournalOrder, JournalPosition
from viper.modules.sync.reconcile import Snapshot, discrepancies, position_diffs

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
NOW = 1_700_000_100_000


def journal_order(
    cid: str, state: str = "open", filled: str = "0", updated_ms: int = NOW
) -> JournalOrder:
    return JournalOrder(
        client_order_id=cid,
        symbol=BTC,
        side="buy",
        state=state,
        amount=D(1),
        filled=D(filled),
        created_ms=updated_ms,
        updated_ms=updated_ms,
    )


def exchange_order(cid: str, filled: str = "0") -> ExchangeOrder:
    return ExchangeOrder(
        client_order_id=cid,
        symbol=BTC,
        side="buy",
        type="limit",
        amount=D(1),
        status="open",
        filled=D(filled),
    )


def snapshot(**fields: object) -> Snapshot:
    base: dict[str, object] = {
        "taken_ms": NOW,
        "exchange_positions": [],
        "exchange_orders": [],
        "balance": None,
        "journal_orders": [],
        "journal_positions": {},
    }
    return Snapshot(**(base | fields))  # type: ignore[arg-type]


def test_matching_views_have_no_discrepancies() -> None:
    snap = snapshot(
        exchange_positions=[Position(symbol=BTC, direction="short", size=D(2), entry_price=D(10))],
        journal_positions={BTC: JournalPosition(symbol=BTC, size=D(-2), entry_price=D(10))},
        exchange_orders=[exchange_order("a")],
        journal_orders=[journal_order("a")],
    )
    assert discrepancies(snap, 60_000) == []
    assert [d.matched for d in position_diffs(snap)] == [True]


def test_unknown_and_differing_positions() -> None:
    snap = snapshot(
        exchange_positions=[
            Position(symbol=BTC, direction="long", size=D("0.5"), entry_price=D(10)),
            Position(symbol=ETH, direction="long", size=D("1"), entry_price=D(5)),
        ],
        journal_positions={ETH: JournalPosition(symbol=ETH, size=D("1.5"), entry_price=D(5))},
    )
    found = discrepancies(snap, 60_000)
    assert [(d.kind, d.symbol) for d in found] == [
        ("unknown_position", BTC),
        ("position_size", ETH),
    ]
    assert all(d.blocking for d in found)


def test_journal_position_the_exchange_does_not_hold() -> None:
    snap = snapshot(
        journal_positions={BTC: JournalPosition(symbol=BTC, size=D(1), entry_price=D(1))}
    )
    diffs = position_diffs(snap)
    assert diffs[0].exchange_size == 0 and diffs[0].journal_size == 1
    assert [d.kind for d in discrepancies(snap, 60_000)] == ["position_size"]


def test_vanished_orders_but_not_fresh_submissions() -> None:
    snap = snapshot(
        journal_orders=[
            journal_order("gone"),
            journal_order("fresh", state="submitted", updated_ms=NOW - 1_000),
            journal_order("stuck", state="submitted", updated_ms=NOW - 120_000),
        ]
    )
    found = discrepancies(snap, 60_000)
    assert [(d.kind, d.client_order_id) for d in found] == [
        ("vanished_order", "gone"),
        ("vanished_order", "stuck"),
    ]


def test_fills_that_differ_and_orders_that_are_not_ours() -> None:
    snap = snapshot(
        exchange_orders=[
            exchange_order("a", filled="0.3"),
            exchange_order("manual"),
            exchange_order("done"),
        ],
        journal_orders=[journal_order("a")],
        journal_states={"done": "cancelled"},
    )
    found = {d.client_order_id: d for d in discrepancies(snap, 60_000)}
    assert found["a"].kind == "order_state" and found["a"].blocking
    assert found["manual"].kind == "unknown_order" and not found["manual"].blocking
    assert found["done"].kind == "order_state" and "cancelled" in found["done"].detail
