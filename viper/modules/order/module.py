"""The order module: the order journal and lifecycle manager behind /order.

It journals every `OrderRequest` before sending it through the `Exchange` service, applies
`ExecutionReported` (fills once each) and the synchronizer's corrections, publishes
`OrderUpdated`, `OrderFilled` and `PositionChanged`, and recovers open orders at start.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Sequence
from decimal import Decimal
from typing import Any

from loguru import logger
from starlette.routing import BaseRoute

from viper.bus import EventBus, Subscription
from viper.clock import Clock
from viper.errors import NotFoundError, TemporaryError, ViperError
from viper.events import (
    ExecutionReported,
    OrderRequest,
    OrderStateCorrected,
    PositionDesynced,
    Ticker,
)
from viper.modules.base import Health, ModuleContext
from viper.modules.order import actions, queries
from viper.modules.order.journal import Journal
from viper.modules.order.locks import KeyedLocks
from viper.modules.order.manager import OrderManager, SendPolicy
from viper.modules.order.prices import PriceBook
from viper.modules.order.records import Lifecycle, OrderPage, OrderRecord
from viper.modules.order.routes import routes
from viper.modules.order.upkeep import Upkeep
from viper.protocols import Exchange

STOP_WAIT_SECONDS = 1.0
# Requests and reports in flight at once (their journal writes share commits); more wait.
MAX_IN_FLIGHT = 256
# Start waits this long for the first recovery pass (it goes on in the background after).
START_WAIT_SECONDS = 5.0


class OrderModule:
    """Order lifecycle manager: journal, state machine, recovery, at /order."""

    name = "order"
    requires: tuple[str, ...] = ("exchange",)

    def __init__(self) -> None:
        self.manager_or_none: OrderManager | None = None
        self.upkeep: Upkeep | None = None
        self.prices = PriceBook()
        self.poll_error = ""
        self._bus: EventBus | None = None
        self._clock: Clock | None = None
        self._poll_seconds = 2.0
        self._stopping = False
        self._first_poll = asyncio.Event()
        self._subscriptions: list[Subscription] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        # One symbol's requests and reports are journaled in arrival order; symbols in parallel.
        self._symbols = KeyedLocks()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        journal = Journal(ctx.store)
        await journal.migrate()
        policy = SendPolicy(call_timeout_seconds=2 * ctx.config.exchange.timeout_seconds)
        exchange = ctx.services.get(Exchange)
        manager = OrderManager(
            journal, exchange, ctx.clock, ctx.bus.publish, ctx.config.order, policy
        )
        self.manager_or_none, self._bus, self._clock = manager, ctx.bus, ctx.clock
        self._stopping = False
        self._poll_seconds = ctx.config.order.poll_seconds
        self.upkeep = Upkeep(manager, self.prices)
        bus = ctx.bus
        self._subscriptions = [
            bus.subscribe(OrderRequest, self._on_request, name="order.requests"),
            bus.subscribe(ExecutionReported, self._on_execution, name="order.executions"),
            bus.subscribe(OrderStateCorrected, self._on_correction, name="order.corrections"),
            bus.subscribe(PositionDesynced, self._on_desynced, name="order.positions"),
            bus.subscribe(
                Ticker, self._on_ticker, name="order.prices", maxsize=1000, overflow="drop_oldest"
            ),
        ]
        self._first_poll = asyncio.Event()
        self._spawn(self._run_upkeep(self.upkeep), "order.upkeep")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_poll.wait(), START_WAIT_SECONDS)

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.opt(exception=task.exception()).error("task {} failed", task.get_name())

    async def _in_flight(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run `coro` in a task of its own, at most MAX_IN_FLIGHT at once (then this subscriber's
        queue fills and publishers wait: back-pressure). Concurrent journal writes share
        commits (`viper.store.sqlite`)."""
        await self._slots.acquire()

        async def run() -> None:
            try:
                await coro
            finally:
                self._slots.release()

        self._spawn(run(), name)

    async def _on_request(self, event: OrderRequest) -> None:
        """Journal the request as submitted, then send it, in a task of its own."""
        await self._in_flight(self._request(event), f"order.send:{event.symbol}")

    async def _request(self, event: OrderRequest) -> None:
        manager = self.manager
        async with self._symbols.hold(event.symbol):
            record = await manager.accept(event, send=True)
        if record is not None:
            await manager.place(record)

    async def _on_execution(self, event: ExecutionReported) -> None:
        """Apply an exchange report in a task of its own (one symbol's in arrival order)."""
        await self._in_flight(self._execution(event), "order.report")

    async def _execution(self, event: ExecutionReported) -> None:
        async with self._symbols.hold(event.order.symbol):
            await self.manager.apply_execution(event)

    async def _on_desynced(self, event: PositionDesynced) -> None:
        await self.manager.adopt_position(event)

    async def _on_correction(self, event: OrderStateCorrected) -> None:
        await actions.apply_correction(self.manager, event)

    async def _on_ticker(self, event: Ticker) -> None:
        self.prices.note(event.symbol, event.last, event.bid, event.ask)

    async def _run_upkeep(self, upkeep: Upkeep) -> None:
        """Recover at once, then poll every `poll_seconds`; failures are logged, not fatal.

        `start` waits (a little) for the first pass, so open orders are settled before the
        synchronizer, which starts after this module, compares journal and exchange.
        """
        clock = self._clock
        while clock is not None and not self._stopping:
            try:
                await upkeep.poll()
                self.poll_error = ""
            except ViperError as exc:
                self.poll_error = f"{exc.code}: {exc.detail}"
                logger.warning("order upkeep: {}", self.poll_error)
            except Exception as exc:
                self.poll_error = type(exc).__name__
                logger.opt(exception=exc).error("order upkeep failed")
            self._first_poll.set()
            await clock.sleep(self._poll_seconds)

    async def stop(self) -> None:
        self._stopping = True
        if self._bus is not None:
            for subscription in self._subscriptions:
                self._bus.unsubscribe(subscription)
        self._subscriptions = []
        pending, self._tasks = set(self._tasks), set()
        while pending:  # cancel again any task that swallowed a cancel
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=STOP_WAIT_SECONDS)

    def health(self) -> Health:
        manager, upkeep = self.manager_or_none, self.upkeep
        if manager is None or upkeep is None:
            return Health(status="down", detail="not started")
        error = manager.last_error
        checks: dict[str, object] = {
            "open_orders": upkeep.open_orders,
            "sends_in_flight": sum(1 for t in self._tasks if t.get_name().startswith("order.send")),
            "recovered": upkeep.recovered,
            "refused_transitions": manager.refused,
            "last_exchange_error": error,
            "poll_error": self.poll_error or None,
        }
        if not upkeep.recovered:
            detail = f"{upkeep.recovery_left} orders not yet checked with the exchange"
            return Health(status="degraded", detail=detail, checks=checks)
        if self.poll_error:
            return Health(status="degraded", detail=self.poll_error, checks=checks)
        return Health(status="ok", checks=checks)

    # --- what the routes need ---------------------------------------------------------------

    @property
    def manager(self) -> OrderManager:
        if self.manager_or_none is None:
            raise TemporaryError("the order module is not running")
        return self.manager_or_none

    async def order_page(self, **filters: Any) -> OrderPage:
        return await queries.page_orders(self.manager.journal.db, **filters)

    async def order(self, client_order_id: str) -> OrderRecord:
        found = await queries.get_order(self.manager.journal.db, client_order_id)
        if found is None:
            raise NotFoundError(f"no order {client_order_id!r}")
        return found

    async def lifecycle(self, client_order_id: str) -> Lifecycle:
        found = await queries.lifecycle(self.manager.journal.db, client_order_id)
        if found is None:
            raise NotFoundError(f"no order {client_order_id!r}")
        return found

    async def cancel(self, client_order_id: str) -> OrderRecord:
        return await actions.cancel(self.manager, client_order_id, "cancelled by request")

    async def replace(
        self, client_order_id: str, price: Decimal | None, amount: Decimal | None
    ) -> OrderRecord:
        return await actions.replace(self.manager, client_order_id, price, amount)
