"""Writes to the order journal: each change is one SQLite transaction, so it is all or nothing.

Every transition is a row in `order_events`; a fill is recorded once (its id is the key),
moves the order's filled amount and the symbol's position in the same transaction, and
never lifts an order's fills past its amount.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import msgspec
from loguru import logger

from viper.domain import ExchangeOrder, Fill, OrderState, Position
from viper.modules.order import states
from viper.modules.order.positions import PositionBook, adopt, apply_fill
from viper.modules.order.records import (
    OrderRecord,
    book_from_row,
    book_to_row,
    fill_to_row,
    order_from_row,
    order_to_row,
    text,
)
from viper.modules.order.schema import (
    COMPONENT,
    FILL_COLUMNS,
    MIGRATIONS,
    ORDER_COLUMNS,
    POSITION_COLUMNS,
)
from viper.store.sqlite import Database

ZERO = Decimal(0)
Step = tuple[str, str]


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What one journal write changed; `order` is None when the order is not journaled."""

    order: OrderRecord | None = None
    steps: list[Step] = msgspec.field(default_factory=list)
    fills: list[Fill] = msgspec.field(default_factory=list)
    position: PositionBook | None = None
    refused: Step | None = None


class Totals(msgspec.Struct, frozen=True):
    """Sums over an order's recorded fills."""

    amount: Decimal
    notional: Decimal
    fees: Decimal
    synthetic: bool

    def plus(self, fill: Fill, synthetic: bool) -> Totals:
        """The sums once `fill` is recorded too (as `_totals` would read them back)."""
        return Totals(
            self.amount + fill.amount,
            self.notional + fill.amount * fill.price,
            self.fees + fill.fee,
            self.synthetic or synthetic,
        )


class Journal:
    """The order journal in the shared SQLite database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def migrate(self) -> None:
        """Create or upgrade the tables."""
        await self.db.migrate(COMPONENT, MIGRATIONS)

    async def insert(self, order: OrderRecord, detail: str = "journaled") -> bool:
        """Journal a new order (state `pending`); False when its id is already journaled."""

        return await self.db.transaction(lambda conn: _insert(conn, order, detail))

    async def insert_moved(
        self, order: OrderRecord, detail: str, target: OrderState, ts_ms: int, move_detail: str
    ) -> Outcome | None:
        """Journal a new order and move it to `target` in one transaction (one durable commit);
        None when its id is already journaled."""

        def run(conn: sqlite3.Connection) -> Outcome | None:
            if not _insert(conn, order, detail):
                return None
            moved, steps, refused = _move(conn, order, target, ts_ms, move_detail)
            _save(conn, moved)
            return Outcome(order=moved, steps=steps, refused=refused)

        return await self.db.transaction(run)

    async def transition(
        self, client_order_id: str, target: OrderState, ts_ms: int, detail: str, reason: str = ""
    ) -> Outcome:
        """Move an order to `target` through allowed steps; `refused` says when it cannot."""

        def run(conn: sqlite3.Connection) -> Outcome:
            order = _load(conn, client_order_id)
            if order is None:
                return Outcome()
            moved, steps, refused = _move(conn, order, target, ts_ms, detail)
            if steps and reason:
                moved = msgspec.structs.replace(moved, reason=reason)
            _save(conn, moved)
            return Outcome(order=moved, steps=steps, refused=refused)

        return await self.db.transaction(run)

    async def apply_report(
        self,
        report: ExchangeOrder,
        fill: Fill | None,
        ts_ms: int,
        *,
        detail: str,
        synthesize: bool = False,
    ) -> Outcome:
        """Apply what the exchange says of an order: its fill (once), fills, state.

        With `synthesize`, fills the exchange reports in the order's cumulative amount but
        that never reached the journal (a crash, a lost event) are recorded as one
        reconciliation fill at the price that makes the order's average come out right.
        """

        def run(conn: sqlite3.Connection) -> Outcome:
            order = _load(conn, report.client_order_id)
            if order is None:
                return Outcome()
            totals = _totals(conn, order.client_order_id)
            fills, position, totals = _apply_fills(
                conn, order, report, fill, ts_ms, synthesize, totals
            )
            merged = _merge(order, report, totals, ts_ms)
            reported = states.state_of(report.status, merged.filled, merged.amount)
            target = states.target_from(merged.state, reported)
            moved, steps, refused = _move(conn, merged, target, ts_ms, detail)
            if moved != order:  # a report that only adds a fill leaves the row as it is
                _save(conn, moved)
            return Outcome(
                order=moved, steps=steps, fills=fills, position=position, refused=refused
            )

        return await self.db.transaction(run)

    async def adopt_position(
        self, symbol: str, expected_size: Decimal, exchange: Position, ts_ms: int
    ) -> PositionBook | None:
        """Take the exchange's position, only while the journal still holds `expected_size`."""

        def run(conn: sqlite3.Connection) -> PositionBook | None:
            book = _book(conn, symbol)
            if book.size != expected_size:
                return None
            adopted = adopt(book, exchange, ts_ms)
            _save_book(conn, adopted)
            return adopted

        return await self.db.transaction(run)


# --- in-transaction helpers --------------------------------------------------------------------


def _insert(conn: sqlite3.Connection, order: OrderRecord, detail: str) -> bool:
    row = order_to_row(order)
    marks = ", ".join("?" * len(row))
    cursor = conn.execute(f"INSERT OR IGNORE INTO orders ({ORDER_COLUMNS}) VALUES ({marks})", row)
    if cursor.rowcount == 0:
        return False
    _event(conn, order.client_order_id, order.created_ms, "", order.state, detail)
    return True


def _load(conn: sqlite3.Connection, client_order_id: str) -> OrderRecord | None:
    row = conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE client_order_id = ?", (client_order_id,)
    ).fetchone()
    return None if row is None else order_from_row(row)


def _save(conn: sqlite3.Connection, order: OrderRecord) -> None:
    conn.execute(
        "UPDATE orders SET state = ?, filled = ?, average_price = ?, exchange_order_id = ?, "
        "reason = ?, updated_ms = ? WHERE client_order_id = ?",
        (
            order.state,
            str(order.filled),
            text(order.average_price),
            order.exchange_order_id,
            order.reason,
            order.updated_ms,
            order.client_order_id,
        ),
    )


def _event(
    conn: sqlite3.Connection,
    client_order_id: str,
    ts_ms: int,
    old: str,
    new: str,
    detail: str,
    *,
    kind: str = "transition",
    fill_id: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO order_events (client_order_id, ts_ms, kind, old, new, detail, fill_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (client_order_id, ts_ms, kind, old, new, detail, fill_id),
    )


def _move(
    conn: sqlite3.Connection, order: OrderRecord, target: OrderState, ts_ms: int, detail: str
) -> tuple[OrderRecord, list[Step], Step | None]:
    """Walk `order` to `target`, journaling each step; a report behind the state is ignored."""
    chain = states.path(order.state, target)
    if chain is None:
        if states.path(target, order.state) is not None:
            return order, [], None  # a stale report: the journal is already past it
        logger.warning(
            "order {}: refused transition {} -> {} ({})",
            order.client_order_id,
            order.state,
            target,
            detail,
        )
        return order, [], (order.state, target)
    steps: list[Step] = []
    current: OrderState = order.state
    for new in chain:
        _event(conn, order.client_order_id, ts_ms, current, new, detail)
        steps.append((current, new))
        current = new
    if steps:
        # An order that ends other than filled keeps why, unless it already says so.
        ended = current in ("cancelled", "rejected", "expired") and not order.reason
        reason = detail if ended else order.reason
        order = msgspec.structs.replace(order, state=current, reason=reason, updated_ms=ts_ms)
    return order, steps, None


def _fill_known(conn: sqlite3.Connection, fill_id: str) -> bool:
    return conn.execute("SELECT 1 FROM fills WHERE fill_id = ?", (fill_id,)).fetchone() is not None


def _totals(conn: sqlite3.Connection, client_order_id: str) -> Totals:
    rows = conn.execute(
        "SELECT amount, price, fee, synthetic FROM fills WHERE client_order_id = ?",
        (client_order_id,),
    ).fetchall()
    amount = sum((Decimal(r[0]) for r in rows), ZERO)
    notional = sum((Decimal(r[0]) * Decimal(r[1]) for r in rows), ZERO)
    fees = sum((Decimal(r[2]) for r in rows), ZERO)
    return Totals(amount, notional, fees, any(r[3] for r in rows))


def _apply_fills(
    conn: sqlite3.Connection,
    order: OrderRecord,
    report: ExchangeOrder,
    fill: Fill | None,
    ts_ms: int,
    synthesize: bool,
    totals: Totals,
) -> tuple[list[Fill], PositionBook | None, Totals]:
    """Record the reported fill (once) and, with `synthesize`, one for unreported fills;
    returns them, the position they left, and the order's fill totals after them."""
    recorded: list[Fill] = []
    position: PositionBook | None = None
    if fill is not None and not _fill_known(conn, fill.fill_id):
        stamped = msgspec.structs.replace(fill, ts_ms=fill.ts_ms or ts_ms)
        done = _record_fill(conn, order, stamped, report.filled, totals, synthetic=False)
        if done is not None:
            recorded.append(done[0])
            position, totals = done[1], totals.plus(done[0], synthetic=False)
    if synthesize:
        missing = _missing_fill(order, report, totals, ts_ms)
        if missing is not None and not _fill_known(conn, missing.fill_id):
            done = _record_fill(conn, order, missing, report.filled, totals, synthetic=True)
            if done is not None:
                recorded.append(done[0])
                position, totals = done[1], totals.plus(done[0], synthetic=True)
    return recorded, position, totals


def _record_fill(
    conn: sqlite3.Connection,
    order: OrderRecord,
    fill: Fill,
    reported_filled: Decimal,
    totals: Totals,
    *,
    synthetic: bool,
) -> tuple[Fill, PositionBook] | None:
    """Record `fill` and move the position; clipped so the order's fills never pass its amount
    (`totals`: the order's fills recorded so far).

    Once a reconciliation fill stands in for lost ones, a late real fill counts only for what
    the exchange's cumulative amount says is still unrecorded.
    """
    room = order.amount - totals.amount
    if totals.synthetic and not synthetic:
        room = min(room, reported_filled - totals.amount)
    amount = min(fill.amount, room)
    if amount <= ZERO:
        logger.info("order {}: fill {} already counted", order.client_order_id, fill.fill_id)
        return None
    fee = fill.fee if amount == fill.amount else fill.fee * amount / fill.amount
    fill = msgspec.structs.replace(
        fill,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        amount=amount,
        fee=fee,
    )
    _insert_fill(conn, order, fill, synthetic)
    book = apply_fill(
        _book(conn, order.symbol), fill.side, fill.amount, fill.price, fill.fee, fill.ts_ms
    )
    _save_book(conn, book)
    return fill, book


def _insert_fill(conn: sqlite3.Connection, order: OrderRecord, fill: Fill, synthetic: bool) -> None:
    """The fill's row, and its place in the order's history."""
    marks = ", ".join("?" * 11)
    conn.execute(
        f"INSERT INTO fills ({FILL_COLUMNS}, synthetic) VALUES ({marks})",
        (*fill_to_row(fill), int(synthetic)),
    )
    detail = f"{fill.amount} @ {fill.price}, fee {fill.fee}"
    detail += " (reconciled: not reported by the exchange)" if synthetic else ""
    _event(
        conn,
        order.client_order_id,
        fill.ts_ms,
        order.state,
        order.state,
        detail,
        kind="fill",
        fill_id=fill.fill_id,
    )


def _missing_fill(
    order: OrderRecord, report: ExchangeOrder, totals: Totals, ts_ms: int
) -> Fill | None:
    """A fill for what the exchange says was filled but the journal never saw, or None."""
    missing = min(report.filled, order.amount) - totals.amount
    if missing <= ZERO:
        return None
    price = report.average_price or order.price or ZERO
    if report.average_price is not None:
        rest = report.average_price * min(report.filled, order.amount) - totals.notional
        if rest > ZERO:
            price = rest / missing
    if price <= ZERO:
        logger.warning("order {}: unreported fill with no price", order.client_order_id)
        return None
    return Fill(
        fill_id=f"{order.client_order_id}:reconciled:{report.filled}",
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        amount=missing,
        price=price,
        fee=max(ZERO, report.fee - totals.fees),
        ts_ms=ts_ms,
    )


def _merge(order: OrderRecord, report: ExchangeOrder, totals: Totals, ts_ms: int) -> OrderRecord:
    """The order with the exchange's id, and the larger of reported and recorded fills."""
    filled = min(order.amount, max(order.filled, report.filled, totals.amount))
    average = report.average_price
    if average is None and totals.amount > ZERO:
        average = totals.notional / totals.amount
    changed = (
        filled != order.filled
        or (average is not None and average != order.average_price)
        or (report.exchange_order_id and report.exchange_order_id != order.exchange_order_id)
    )
    if not changed:
        return order
    return msgspec.structs.replace(
        order,
        filled=filled,
        average_price=average if average is not None else order.average_price,
        exchange_order_id=report.exchange_order_id or order.exchange_order_id,
        updated_ms=ts_ms,
    )


def _book(conn: sqlite3.Connection, symbol: str) -> PositionBook:
    row = conn.execute(
        f"SELECT {POSITION_COLUMNS} FROM positions WHERE symbol = ?", (symbol,)
    ).fetchone()
    return PositionBook(symbol=symbol) if row is None else book_from_row(row)


def _save_book(conn: sqlite3.Connection, book: PositionBook) -> None:
    conn.execute(
        f"INSERT INTO positions ({POSITION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(symbol) DO UPDATE SET size = excluded.size, "
        "entry_price = excluded.entry_price, realized_pnl = excluded.realized_pnl, "
        "fees = excluded.fees, adopted = excluded.adopted, updated_ms = excluded.updated_ms",
        book_to_row(book),
    )
