"""The sync module: reconciles the order journal with the exchange, behind /sync.

It runs at start, every `SyncConfig.interval_seconds`, on demand, and at once after the
exchange reconnects; a run that found differences is followed by a quick second one. It
provides `TradingGate`: entries stay closed until a reconciliation has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from loguru import logger
from starlette.routing import BaseRoute

from viper.bus import EventBus, Subscription
from viper.clock import Clock
from viper.errors import TemporaryError
from viper.events import ExchangeConnectionChanged
from viper.modules.base import Health, ModuleContext
from viper.modules.sync.gate import ReconciliationGate
from viper.modules.sync.routes import SyncStatus, routes
from viper.modules.sync.synchronizer import Synchronizer, SyncReport
from viper.protocols import Exchange, TradingGate

SETTLE_SECONDS = 0.5
# After a run with differences (or a failed one), look again this soon.
RECHECK_SECONDS = 2.0
# Start waits this long for the first run; it goes on in the background after.
START_WAIT_SECONDS = 5.0


class SyncModule:
    """Position synchronizer: journal vs exchange, and the fail-closed trading gate."""

    name = "sync"
    requires: tuple[str, ...] = ("exchange", "order")

    def __init__(self) -> None:
        self.gate = ReconciliationGate()
        self.synchronizer: Synchronizer | None = None
        self.last: SyncReport | None = None
        self.runs = 0
        self._ctx: ModuleContext | None = None
        self._bus: EventBus | None = None
        self._clock: Clock | None = None
        self._interval = 30.0
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._ran = asyncio.Event()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        self._ctx, self._bus, self._clock = ctx, ctx.bus, ctx.clock
        self.gate, self.last = ReconciliationGate(), None
        self._stopping = False
        self._interval = ctx.config.sync.interval_seconds
        self.synchronizer = Synchronizer(
            ctx.services.get(Exchange),
            ctx.store,
            ctx.clock,
            ctx.bus.publish,
            settle_seconds=SETTLE_SECONDS,
            grace_ms=int(max(60.0, ctx.config.order.limit_timeout_seconds) * 1000),
        )
        ctx.services.provide(TradingGate, self.gate)
        self._subscription = ctx.bus.subscribe(
            ExchangeConnectionChanged, self._on_connection, name="sync.connection"
        )
        self._ran = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="sync.loop")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ran.wait(), START_WAIT_SECONDS)

    async def _on_connection(self, event: ExchangeConnectionChanged) -> None:
        """Close the gate on a drop and on a reconnect; reconcile at once after a reconnect."""
        if event.connected:
            self.gate.close(f"awaiting reconciliation after {event.exchange} reconnected")
            self._wake.set()
        else:
            reason = f": {event.reason}" if event.reason else ""
            self.gate.close(f"{event.exchange} disconnected{reason}")

    async def run_now(self) -> SyncReport:
        """One reconciliation (runs never overlap); updates the gate."""
        synchronizer = self.synchronizer
        if synchronizer is None:
            raise TemporaryError("the sync module is not running")
        async with self._lock:
            epoch = self.gate.epoch
            report = await synchronizer.run()
            self.last, self.runs = report, self.runs + 1
            self.gate.record_run(report.ok, epoch, _why_closed(report))
            return report

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                report = await self.run_now()
                delay = self._interval if report.ok else min(self._interval, RECHECK_SECONDS)
            except Exception as exc:
                logger.opt(exception=exc).error("reconciliation run failed")
                delay = min(self._interval, RECHECK_SECONDS)
            self._ran.set()
            await self._pause(delay)

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds` on the clock, or less if a run is asked for."""
        clock = self._clock
        if clock is None:
            return
        sleeper = asyncio.create_task(clock.sleep(seconds), name="sync.sleep")
        waker = asyncio.create_task(self._wake.wait(), name="sync.wake")
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)
            self._wake.clear()

    async def stop(self) -> None:
        self._stopping = True
        if self._subscription is not None and self._bus is not None:
            self._bus.unsubscribe(self._subscription)
        self._subscription = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._ctx is not None:
            self._ctx.services.withdraw(TradingGate)
            self._ctx = None

    def health(self) -> Health:
        if self.synchronizer is None:
            return Health(status="down", detail="not started")
        allowed, reason = self.gate.entries_allowed()
        last = self.last
        checks: dict[str, object] = {
            "entries_allowed": allowed,
            "runs": self.runs,
            "last_run_ms": last.finished_ms if last else None,
            "last_ok": last.ok if last else None,
            "discrepancies": len(last.discrepancies) if last else 0,
        }
        if not allowed:
            return Health(status="degraded", detail=reason, checks=checks)
        return Health(status="ok", checks=checks)

    # --- what the routes need ---------------------------------------------------------------

    def status(self) -> SyncStatus:
        allowed, reason = self.gate.entries_allowed()
        return SyncStatus(entries_allowed=allowed, reason=reason, last=self.last)


def _why_closed(report: SyncReport) -> str:
    if report.error:
        return f"reconciliation failed: {report.error}"
    blocking = sum(1 for d in report.discrepancies if d.blocking)
    return f"reconciliation found {blocking or 'new'} discrepancies; correcting"
