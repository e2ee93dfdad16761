"""Live trades rebuilt from the order journal, and the risk manager's refusals.

Fills are joined to their orders, and each order to the live engine's intent (`live_intents`):
its bar and reason. Times are bar times as the backtester records them: an entry or a signal
exit at the decision bar's close (the next open), an exit inside a bar (stop, take-profit,
trailing stop, liquidation) at that bar's open. Tables of modules that never ran read as empty.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from viper.optimizer.store import APPLIED_COLUMNS, AppliedParameters, applied_of
from viper.parity.models import ParityTrade, Rejection
from viper.risk_rules import MarketSpec

INTRABAR = frozenset({"stop_loss", "take_profit", "trailing_stop", "liquidation"})


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:  # a table of a module that never ran here
        if "no such table" in str(exc):
            return []
        raise


def _floor(ts_ms: int, tf_ms: int) -> int:
    return ts_ms - ts_ms % tf_ms


class _Open:
    """A live position being rebuilt from fills."""

    def __init__(self, symbol: str, side: int, entry_ms: int) -> None:
        self.symbol, self.side, self.entry_ms = symbol, side, entry_ms
        self.size = self.cost = self.closed = self.proceeds = self.fees = Decimal(0)

    def trade(self, exit_ms: int | None, reason: str) -> ParityTrade:
        return ParityTrade(
            symbol=self.symbol,
            side="long" if self.side > 0 else "short",
            entry_ms=self.entry_ms,
            entry_price=float(self.cost / self.size) if self.size else 0.0,
            size=float(self.size),
            exit_ms=exit_ms,
            exit_price=float(self.proceeds / self.closed) if self.closed else None,
            exit_reason=reason,
            fees=float(self.fees),
        )


def _reason(intent: tuple[int, str, str] | None, intent_id: str, client_id: str) -> str:
    if intent is not None:
        reason = intent[2]
        return "manual" if reason.startswith("manual") else reason
    if intent_id.startswith("kill-switch"):
        return "kill_switch"
    return "liquidation" if client_id.startswith("liquidation") else "unknown"


def live_trades(db_path: str | Path, symbols: Iterable[str], tf_ms: int) -> list[ParityTrade]:
    """Every live round trip in `symbols`, rebuilt from the journal's fills, oldest first."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        intents = {
            r[0]: (r[1], r[2], r[3])
            for r in _rows(conn, "SELECT intent_id, ts_ms, purpose, reason FROM live_intents")
        }
        fills = _rows(
            conn,
            "SELECT f.symbol, f.side, f.amount, f.price, f.fee, f.ts_ms, o.intent_id, o.type, "
            "o.client_order_id FROM fills f JOIN orders o ON o.client_order_id = f.client_order_id "
            "ORDER BY f.ts_ms, f.rowid",
        )
    finally:
        conn.close()
    wanted = set(symbols)
    books: dict[str, _Open] = {}
    done: list[ParityTrade] = []
    for symbol, side, amount, price, fee, ts, intent_id, kind, cid in fills:
        if symbol not in wanted:
            continue
        intent = intents.get(intent_id)
        when = intent[0] if intent is not None and kind == "market" else ts
        reason = _reason(intent, intent_id, cid)
        signed = 1 if side == "buy" else -1
        amounts = (Decimal(amount), Decimal(price), Decimal(fee))
        _apply(books, done, symbol, signed, *amounts, when, reason, tf_ms)
    done += [book.trade(None, "") for book in books.values() if book.size]
    return sorted(done, key=lambda t: (t.entry_ms, t.symbol))


def _apply(
    books: dict[str, _Open],
    done: list[ParityTrade],
    symbol: str,
    side: int,
    amount: Decimal,
    price: Decimal,
    fee: Decimal,
    ts_ms: int,
    reason: str,
    tf_ms: int,
) -> None:
    """One fill into the symbol's book: opens, adds to, reduces or closes (and flips) it."""
    book = books.get(symbol)
    if book is None or book.size == book.closed:
        book = books[symbol] = _Open(symbol, side, ts_ms)
    if side == book.side:
        book.size += amount
        book.cost += amount * price
        book.fees += fee
        return
    closing = min(amount, book.size - book.closed)
    book.closed += closing
    book.proceeds += closing * price
    book.fees += fee
    if book.closed == book.size:
        exit_ms = _floor(ts_ms - 1, tf_ms) if reason in INTRABAR else ts_ms
        done.append(book.trade(exit_ms, reason))
        del books[symbol]
        if amount > closing:
            rest = amount - closing
            _apply(books, done, symbol, side, rest, price, Decimal(0), ts_ms, reason, tf_ms)


def _read(db_path: str | Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return _rows(conn, sql, params)
    finally:
        conn.close()


def rejections(db_path: str | Path, symbols: Iterable[str]) -> list[Rejection]:
    """Entries the risk manager refused, oldest first."""
    rows = _read(
        db_path,
        "SELECT ts_ms, symbol, reason, detail FROM risk_rejections "
        "WHERE purpose = 'entry' ORDER BY ts_ms",
    )
    wanted = set(symbols)
    return [
        Rejection(ts_ms=r[0], symbol=r[1], reason=r[2], detail=r[3]) for r in rows if r[1] in wanted
    ]


def market_specs(db_path: str | Path, symbols: Iterable[str]) -> dict[str, MarketSpec]:
    """The order-size rules the live engine traded under (recorded at its start)."""
    rows = _read(db_path, "SELECT symbol, amount_step, min_amount, min_notional FROM live_markets")
    wanted = set(symbols)
    return {
        r[0]: MarketSpec(amount_step=float(r[1]), min_amount=float(r[2]), min_notional=float(r[3]))
        for r in rows
        if r[0] in wanted
    }


def applied_parameters(db_path: str | Path, strategy: str) -> list[AppliedParameters]:
    """Parameter sets applied to `strategy` through the optimizer, in the order applied."""
    rows = _read(
        db_path,
        f"SELECT {APPLIED_COLUMNS} FROM strategy_parameters WHERE strategy = ? ORDER BY seq",
        (strategy,),
    )
    return [applied_of(r) for r in rows]
