"""Comparing the journal with the exchange: positions per symbol and live orders, as data.

Pure functions over a `Snapshot`; the synchronizer decides what to do with the result.
Sizes are signed (long > 0). A `submitted` order younger than the grace period is on its
way and not a discrepancy. Positions move through fills, so a position difference in a
symbol whose orders are in flight or disagree is `deferred`: the orders are settled first
(their fills explain the difference), and only what is left is corrected absolutely.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from viper.domain import Balance, ExchangeOrder, Position
from viper.modules.sync.journal_view import JournalOrder, JournalPosition, UnrecordedFills

ZERO = Decimal(0)
DiscrepancyKind = Literal[
    "unknown_position",
    "position_size",
    "vanished_order",
    "order_state",
    "missing_fills",
    "unknown_order",
]
ORDER_KINDS = frozenset({"vanished_order", "order_state", "missing_fills"})


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """What the exchange and the journal said at one moment."""

    taken_ms: int
    exchange_positions: list[Position]
    exchange_orders: list[ExchangeOrder]
    balance: Balance | None
    journal_orders: list[JournalOrder]
    journal_positions: dict[str, JournalPosition]
    # Journal states of exchange-open orders that are not live in the journal.
    journal_states: dict[str, str] = msgspec.field(default_factory=dict)
    unrecorded: list[UnrecordedFills] = msgspec.field(default_factory=list)


class SymbolDiff(msgspec.Struct, frozen=True, kw_only=True):
    """One symbol's position at the exchange and in the journal."""

    symbol: str
    exchange_size: Decimal
    exchange_entry: Decimal
    journal_size: Decimal
    journal_entry: Decimal
    matched: bool


class Discrepancy(msgspec.Struct, frozen=True, kw_only=True):
    """One difference; `blocking` ones keep new entries closed until corrected."""

    kind: DiscrepancyKind
    symbol: str
    detail: str
    client_order_id: str = ""
    blocking: bool = True
    deferred: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        """The same difference seen twice has the same key."""
        return (self.kind, self.symbol, self.client_order_id)


def signed_size(position: Position) -> Decimal:
    """A position's size with the sign of its direction."""
    return position.size if position.direction == "long" else -position.size


def position_diffs(snapshot: Snapshot) -> list[SymbolDiff]:
    """Every symbol with a position on either side, by symbol."""
    at_exchange = {p.symbol: p for p in snapshot.exchange_positions if p.size != ZERO}
    journal = snapshot.journal_positions
    diffs = []
    for symbol in sorted(set(at_exchange) | set(journal)):
        ex, jr = at_exchange.get(symbol), journal.get(symbol)
        ex_size = signed_size(ex) if ex else ZERO
        jr_size = jr.size if jr else ZERO
        diffs.append(
            SymbolDiff(
                symbol=symbol,
                exchange_size=ex_size,
                exchange_entry=ex.entry_price if ex else ZERO,
                journal_size=jr_size,
                journal_entry=jr.entry_price if jr else ZERO,
                matched=ex_size == jr_size,
            )
        )
    return diffs


def position_discrepancies(
    diffs: list[SymbolDiff], busy: frozenset[str] = frozenset()
) -> list[Discrepancy]:
    """A position the journal does not know is adopted; a differing size is corrected.

    In a `busy` symbol (orders in flight or disagreeing) the correction is deferred.
    """
    found = []
    for diff in diffs:
        if diff.matched:
            continue
        if diff.journal_size == ZERO:
            kind: DiscrepancyKind = "unknown_position"
            detail = f"{diff.symbol}: the exchange holds {diff.exchange_size}, the journal none"
        else:
            kind = "position_size"
            detail = (
                f"{diff.symbol}: the exchange holds {diff.exchange_size}, "
                f"the journal {diff.journal_size}"
            )
        deferred = diff.symbol in busy
        if deferred:
            detail += "; waiting for its orders to settle"
        found.append(Discrepancy(kind=kind, symbol=diff.symbol, detail=detail, deferred=deferred))
    return found


def order_discrepancies(snapshot: Snapshot, grace_ms: int) -> list[Discrepancy]:
    """Live journal orders gone from the exchange's open list, fills that differ, strangers."""
    at_exchange = {o.client_order_id: o for o in snapshot.exchange_orders}
    found = []
    for order in snapshot.journal_orders:
        cid = order.client_order_id
        report = at_exchange.get(cid)
        if report is None:
            if order.state == "submitted" and snapshot.taken_ms - order.updated_ms < grace_ms:
                continue
            detail = f"order {cid} is {order.state} in the journal but not open at the exchange"
            found.append(
                Discrepancy(
                    kind="vanished_order", symbol=order.symbol, detail=detail, client_order_id=cid
                )
            )
        elif report.filled != order.filled:
            detail = (
                f"order {cid}: the exchange has {report.filled} filled, the journal {order.filled}"
            )
            found.append(
                Discrepancy(
                    kind="order_state", symbol=order.symbol, detail=detail, client_order_id=cid
                )
            )
    found.extend(_unrecorded(gap) for gap in snapshot.unrecorded)
    journaled = {o.client_order_id for o in snapshot.journal_orders}
    for report in snapshot.exchange_orders:
        if report.client_order_id not in journaled:
            found.append(_stranger(report, snapshot.journal_states.get(report.client_order_id)))
    return found


def _unrecorded(gap: UnrecordedFills) -> Discrepancy:
    """An order whose fills the journal has not all recorded."""
    detail = (
        f"order {gap.client_order_id}: {gap.filled} filled, "
        f"but fills of only {gap.recorded} recorded"
    )
    return Discrepancy(
        kind="missing_fills", symbol=gap.symbol, detail=detail, client_order_id=gap.client_order_id
    )


def _stranger(report: ExchangeOrder, journal_state: str | None) -> Discrepancy:
    """An open exchange order the journal does not hold as live."""
    cid = report.client_order_id
    if journal_state is None:
        return Discrepancy(
            kind="unknown_order",
            symbol=report.symbol,
            detail=f"open order {cid or report.exchange_order_id} is not in the journal",
            client_order_id=cid,
            blocking=False,
        )
    return Discrepancy(
        kind="order_state",
        symbol=report.symbol,
        detail=f"order {cid} is {journal_state} in the journal but open at the exchange",
        client_order_id=cid,
    )


def in_flight(snapshot: Snapshot, grace_ms: int) -> frozenset[str]:
    """Symbols with an order just sent, whose fills may not have reached the journal yet."""
    return frozenset(
        o.symbol
        for o in snapshot.journal_orders
        if o.state == "submitted" and snapshot.taken_ms - o.updated_ms < grace_ms
    )


def discrepancies(snapshot: Snapshot, grace_ms: int) -> list[Discrepancy]:
    """Every difference between the journal and the exchange in `snapshot`."""
    orders = order_discrepancies(snapshot, grace_ms)
    busy = in_flight(snapshot, grace_ms) | {d.symbol for d in orders if d.kind in ORDER_KINDS}
    return position_discrepancies(position_diffs(snapshot), busy) + orders
