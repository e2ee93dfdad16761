"""One reconciliation run: fetch the exchange's view, read the journal, compare, correct.

A difference is acted on only if a second look, `settle_seconds` later, still shows it, so a
fill on its way through the bus is never mistaken for a desync. Each confirmed difference
is published as `ReconciliationDiscrepancy` plus a warning `AlertRaised`, and corrected by
asking the order module (`OrderStateCorrected` first; `PositionDesynced` only for what the
orders cannot explain): the journal has one writer. Events leave through `publish`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import msgspec
from loguru import logger

from viper.clock import Clock
from viper.domain import Position
from viper.errors import ViperError
from viper.events import (
    AlertRaised,
    BaseEvent,
    OrderStateCorrected,
    PositionDesynced,
    ReconciliationCompleted,
    ReconciliationDiscrepancy,
)
from viper.modules.sync import journal_view
from viper.modules.sync.reconcile import (
    Discrepancy,
    Snapshot,
    SymbolDiff,
    discrepancies,
    position_diffs,
)
from viper.protocols import Exchange
from viper.store.sqlite import Database

Publish = Callable[[BaseEvent], Awaitable[None]]
ZERO = Decimal(0)
# Orders updated this recently are checked for fills the journal never recorded.
UNRECORDED_WINDOW_MS = 86_400_000


class SyncReport(msgspec.Struct, frozen=True, kw_only=True):
    """The result of one run: per-symbol positions, confirmed discrepancies, and when."""

    ok: bool
    started_ms: int
    finished_ms: int
    positions: list[SymbolDiff] = msgspec.field(default_factory=list)
    discrepancies: list[Discrepancy] = msgspec.field(default_factory=list)
    exchange_open_orders: int = 0
    journal_live_orders: int = 0
    balance_total: Decimal | None = None
    balance_free: Decimal | None = None
    error: str = ""


class Synchronizer:
    """Reconciles the order journal with the exchange account."""

    def __init__(
        self,
        exchange: Exchange,
        db: Database,
        clock: Clock,
        publish: Publish,
        *,
        settle_seconds: float = 0.5,
        grace_ms: int = 60_000,
    ) -> None:
        self.exchange = exchange
        self.db = db
        self.clock = clock
        self.publish = publish
        self.settle_seconds = settle_seconds
        self.grace_ms = grace_ms

    async def snapshot(self) -> Snapshot:
        """The exchange's positions, open orders and balance, then the journal's view."""
        exchange_positions = await self.exchange.fetch_positions()
        exchange_orders = await self.exchange.fetch_open_orders()
        balance = await self.exchange.fetch_balance()
        journal_orders = await journal_view.live_orders(self.db)
        live = {o.client_order_id for o in journal_orders}
        strangers = [o.client_order_id for o in exchange_orders if o.client_order_id not in live]
        now = self.clock.now_ms()
        return Snapshot(
            taken_ms=now,
            exchange_positions=exchange_positions,
            exchange_orders=exchange_orders,
            balance=balance,
            journal_orders=journal_orders,
            journal_positions=await journal_view.positions(self.db),
            journal_states=await journal_view.states_of(self.db, strangers),
            unrecorded=await journal_view.unrecorded_fills(self.db, now - UNRECORDED_WINDOW_MS),
        )

    async def run(self) -> SyncReport:
        """Compare, confirm, correct; publishes `ReconciliationCompleted` in every case."""
        started = self.clock.now_ms()
        try:
            snapshot = await self.snapshot()
            found = discrepancies(snapshot, self.grace_ms)
            confirmed: list[Discrepancy] = []
            if found:
                await self.clock.sleep(self.settle_seconds)
                snapshot = await self.snapshot()
                again = {d.key: d for d in discrepancies(snapshot, self.grace_ms)}
                confirmed = [again[d.key] for d in found if d.key in again]
                blocking = any(d.blocking for d in again.values())
                for discrepancy in confirmed:
                    await self._act(discrepancy, snapshot)
            else:
                blocking = False
        except ViperError as exc:
            error = f"{exc.code}: {exc.detail}"
            logger.warning("reconciliation failed: {}", error)
            await self.publish(
                ReconciliationCompleted(
                    ts_ms=self.clock.now_ms(), ok=False, discrepancies=0, error=error
                )
            )
            return SyncReport(
                ok=False, started_ms=started, finished_ms=self.clock.now_ms(), error=error
            )
        return await self._report(snapshot, confirmed, started, ok=not blocking)

    async def _report(
        self, snapshot: Snapshot, confirmed: list[Discrepancy], started: int, *, ok: bool
    ) -> SyncReport:
        now = self.clock.now_ms()
        await self.publish(ReconciliationCompleted(ts_ms=now, ok=ok, discrepancies=len(confirmed)))
        balance = snapshot.balance
        return SyncReport(
            ok=ok,
            started_ms=started,
            finished_ms=now,
            positions=position_diffs(snapshot),
            discrepancies=confirmed,
            exchange_open_orders=len(snapshot.exchange_orders),
            journal_live_orders=len(snapshot.journal_orders),
            balance_total=balance.total if balance else None,
            balance_free=balance.free if balance else None,
        )

    async def _act(self, discrepancy: Discrepancy, snapshot: Snapshot) -> None:
        """Publish the discrepancy, its alert, and the correction the order module applies."""
        now = self.clock.now_ms()
        logger.warning("reconciliation: {}", discrepancy.detail)
        await self.publish(
            ReconciliationDiscrepancy(
                ts_ms=now,
                kind=discrepancy.kind,
                symbol=discrepancy.symbol,
                detail=discrepancy.detail,
                client_order_id=discrepancy.client_order_id,
                blocking=discrepancy.blocking,
            )
        )
        await self.publish(
            AlertRaised(
                ts_ms=now,
                rule=f"sync.{discrepancy.kind}",
                severity="warning",
                message=discrepancy.detail,
                source="sync",
            )
        )
        if discrepancy.deferred:
            return
        match discrepancy.kind:
            case "unknown_position" | "position_size":
                await self.publish(self._position_fix(discrepancy, snapshot, now))
            case "vanished_order" | "order_state" | "missing_fills":
                await self.publish(await self._order_fix(discrepancy, snapshot, now))
            case _:
                pass

    def _position_fix(self, discrepancy: Discrepancy, snapshot: Snapshot, now: int) -> BaseEvent:
        diff = next(d for d in position_diffs(snapshot) if d.symbol == discrepancy.symbol)
        found = [p for p in snapshot.exchange_positions if p.symbol == discrepancy.symbol]
        position = found[0] if found and found[0].size != ZERO else None
        return PositionDesynced(
            ts_ms=now,
            exchange=self.exchange.id,
            symbol=discrepancy.symbol,
            journal_size=diff.journal_size,
            exchange_size=diff.exchange_size,
            position=position
            or Position(symbol=discrepancy.symbol, direction="long", size=ZERO, entry_price=ZERO),
            action="adopted" if discrepancy.kind == "unknown_position" else "corrected",
        )

    async def _order_fix(self, discrepancy: Discrepancy, snapshot: Snapshot, now: int) -> BaseEvent:
        cid = discrepancy.client_order_id
        listed = {o.client_order_id: o for o in snapshot.exchange_orders}
        report = listed.get(cid)
        if report is None:  # gone from the open list: learn how it ended
            report = await self.exchange.fetch_order(cid, discrepancy.symbol)
        state = report.status if report is not None else "unknown to the exchange"
        return OrderStateCorrected(
            ts_ms=now,
            exchange=self.exchange.id,
            client_order_id=cid,
            symbol=discrepancy.symbol,
            order=report,
            reason=f"{discrepancy.kind}: exchange says {state}",
        )
