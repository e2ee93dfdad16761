"""The order lifecycle: journal first, then send; adopt what the exchange says; never send twice.

An order is journaled `pending`, moved to `submitted`, and only then handed to
`Exchange.create_order`. When that call fails with a TemporaryError (or times out) the
outcome is unknown, so before every resend the manager asks `fetch_order`: an order the
exchange has is adopted, one it never saw is sent again under the same client order id.
Nothing here knows HTTP or the bus: events go out through the `publish` callable.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec
from loguru import logger

from viper.clock import Clock
from viper.config import OrderConfig
from viper.domain import ExchangeOrder, OrderState
from viper.errors import RejectedError, TemporaryError, ViperError
from viper.events import (
    BaseEvent,
    ExecutionReported,
    OrderFilled,
    OrderRequest,
    OrderUpdated,
    PositionChanged,
    PositionDesynced,
    TradeRejected,
)
from viper.modules.order import ids, queries
from viper.modules.order.journal import Journal, Outcome
from viper.modules.order.locks import KeyedLocks
from viper.modules.order.positions import PositionBook
from viper.modules.order.records import OrderRecord
from viper.modules.order.requests import invalid_reason, record_from
from viper.protocols import Exchange
from viper.resilience import retry

T = TypeVar("T")
REMEMBERED_REPORTS = 4096  # recent reports kept to skip their repeats
Publish = Callable[[BaseEvent], Awaitable[None]]


class ExchangeProblem(msgspec.Struct, frozen=True, kw_only=True):
    """The last exchange call that failed."""

    ts_ms: int
    operation: str
    error: str
    detail: str


class SendPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How hard to try an exchange call: per-call timeout and retries with backoff."""

    call_timeout_seconds: float = 20.0
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 10.0


class OrderManager:
    """Journals, sends, cancels and replaces orders, and applies the exchange's reports."""

    def __init__(
        self,
        journal: Journal,
        exchange: Exchange,
        clock: Clock,
        publish: Publish,
        config: OrderConfig,
        policy: SendPolicy | None = None,
    ) -> None:
        self.journal = journal
        self.exchange = exchange
        self.clock = clock
        self.config = config
        self.policy = policy or SendPolicy()
        self._publish = publish
        self.locks = KeyedLocks()
        # Orders `accept(send=True)` journaled as submitted that no other action has touched
        # since: `place` sends them as journaled, without reading them back.
        self._untouched: set[str] = set()
        self._applied: dict[ExchangeOrder, OrderRecord] = {}
        self._report_of: collections.OrderedDict[str, ExchangeOrder] = collections.OrderedDict()
        self.last_error: ExchangeProblem | None = None
        self.refused = 0

    # --- locks and exchange calls ----------------------------------------------------------

    def busy(self, client_order_id: str) -> bool:
        """True while a send, cancel or check of this order is in progress or queued."""
        return self.locks.busy(client_order_id)

    def locked(self, client_order_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold the order's lock: one action on an order at a time."""
        self._untouched.discard(client_order_id)
        return self.locks.hold(client_order_id)

    async def call(self, operation: str, awaitable: Awaitable[T]) -> T:
        """One exchange call with a timeout; a timeout is a TemporaryError, failures remembered."""
        try:
            # asyncio.timeout, not wait_for: wait_for can swallow a cancel that races the answer
            async with asyncio.timeout(self.policy.call_timeout_seconds):
                return await awaitable
        except TimeoutError:
            error = TemporaryError(f"{operation} timed out")
            self._remember(operation, error)
            raise error from None
        except ViperError as exc:
            self._remember(operation, exc)
            raise

    def _remember(self, operation: str, exc: ViperError) -> None:
        self.last_error = ExchangeProblem(
            ts_ms=self.clock.now_ms(), operation=operation, error=exc.code, detail=exc.detail
        )

    # --- submission ------------------------------------------------------------------------

    async def accept(self, request: OrderRequest, *, send: bool = False) -> OrderRecord | None:
        """Journal a request as `pending`; None when its client order id is already journaled
        or the request is invalid (then journaled as rejected).

        With `send`, a valid request is journaled as `submitted` at once (pending, then
        submitted, in one durable commit): `place` then sends it. A request without a client
        order id gets one derived from its intent (or, lacking that, its event id), so a
        redelivered request maps to the same order.
        """
        cid = request.client_order_id or ids.derive_client_order_id(
            request.intent_id or request.id, "exit" if request.reduce_only else "entry"
        )
        now = self.clock.now_ms()
        record = record_from(request, cid, now)
        problem = invalid_reason(record)
        detail = "journaled from an order request"
        if send and not problem:
            outcome = await self.journal.insert_moved(
                record, detail, "submitted", now, "sending to the exchange"
            )
            if outcome is None or outcome.order is None:
                logger.info("order {}: already journaled; request ignored", cid)
                return None
            self._untouched.add(cid)
            await self._publish_created(record)
            await self.publish_outcome(outcome)
            return outcome.order
        if not await self.journal.insert(record, detail=detail):
            logger.info("order {}: already journaled; request ignored", cid)
            return None
        await self._publish_created(record)
        if problem:
            await self.reject(cid, f"invalid request: {problem}")
            return None
        return record

    async def place(self, order: OrderRecord) -> OrderRecord | None:
        """Send an order `accept(send=True)` journaled as submitted (under its lock); if any
        other action took the order's lock since, it is read back and sent as it stands."""
        cid = order.client_order_id
        async with self.locks.hold(cid):
            if cid in self._untouched:
                self._untouched.discard(cid)
                return await self._place(order, probe=False)
            return await self.send_locked(cid)

    async def submit(self, request: OrderRequest) -> OrderRecord | None:
        """Journal a request (as submitted), then send it; the order as it stands after."""
        record = await self.accept(request, send=True)
        if record is None:
            return None
        return await self.place(record)

    async def send(self, client_order_id: str) -> OrderRecord | None:
        """Send a journaled `pending` or `submitted` order (under its lock)."""
        async with self.locked(client_order_id):
            return await self.send_locked(client_order_id)

    async def send_locked(self, client_order_id: str) -> OrderRecord | None:
        """Move the order to `submitted` in the journal, then place it at the exchange."""
        order = await queries.get_order(self.journal.db, client_order_id)
        if order is None or order.state not in ("pending", "submitted"):
            return order
        probe = order.state == "submitted"  # it may have reached the exchange before
        if order.state == "pending":
            outcome = await self.journal.transition(
                client_order_id, "submitted", self.clock.now_ms(), "sending to the exchange"
            )
            await self.publish_outcome(outcome)
        return await self._place(order, probe=probe)

    async def _place(self, order: OrderRecord, *, probe: bool) -> OrderRecord | None:
        """create_order; before any resend, fetch_order says whether the exchange has it."""
        cid = order.client_order_id
        tries = 0

        async def attempt() -> ExchangeOrder:
            nonlocal tries
            tries += 1
            if probe or tries > 1:
                found = await self.call("fetch_order", self.exchange.fetch_order(cid, order.symbol))
                if found is not None:
                    return found
            return await self.call("create_order", self._create(order))

        try:
            report = await retry(
                attempt,
                attempts=self.policy.attempts,
                base_delay=self.policy.base_delay,
                max_delay=self.policy.max_delay,
                clock=self.clock,
                on_retry=lambda n, exc, delay: _log_retry(cid, n, exc, delay),
            )
        except RejectedError as exc:
            if probe or tries > 1:  # perhaps "duplicate id": an earlier try got through
                return await self._after_failure(order, exc)
            return await self.reject(cid, f"rejected by the exchange: {exc.detail}")
        except TemporaryError as exc:
            logger.error("order {}: outcome unknown after retries ({}); will check", cid, exc)
            return await queries.get_order(self.journal.db, cid)
        except ViperError as exc:
            return await self._after_failure(order, exc)
        if report.client_order_id != cid:  # an exchange that does not echo our id
            report = msgspec.structs.replace(report, client_order_id=cid)
        return await self.adopt(report, "accepted by the exchange")

    def _create(self, order: OrderRecord) -> Awaitable[ExchangeOrder]:
        return self.exchange.create_order(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            amount=order.amount,
            price=order.price,
            stop_price=order.stop_price,
            reduce_only=order.reduce_only,
            post_only=order.post_only,
        )

    async def _after_failure(self, order: OrderRecord, exc: ViperError) -> OrderRecord | None:
        """An error that is neither temporary nor a refusal: adopt if sent, else reject."""
        try:
            found = await self.call(
                "fetch_order", self.exchange.fetch_order(order.client_order_id, order.symbol)
            )
        except ViperError:
            return await queries.get_order(self.journal.db, order.client_order_id)
        if found is not None:
            return await self.adopt(found, "found at the exchange after an error")
        prefix = "rejected by the exchange" if isinstance(exc, RejectedError) else exc.code
        return await self.reject(order.client_order_id, f"{prefix}: {exc.detail}")

    async def reject(self, client_order_id: str, reason: str) -> OrderRecord | None:
        outcome = await self.journal.transition(
            client_order_id, "rejected", self.clock.now_ms(), reason, reason=reason
        )
        await self.publish_outcome(outcome)
        order = outcome.order
        if order is not None and order.intent_id and order.state == "rejected":
            await self._publish(
                TradeRejected(
                    ts_ms=self.clock.now_ms(),
                    intent_id=order.intent_id,
                    symbol=order.symbol,
                    reason="order_rejected",
                    detail=reason,
                )
            )
        return order

    # --- reports -------------------------------------------------------------------------

    async def adopt(
        self, report: ExchangeOrder, detail: str, *, synthesize: bool = False
    ) -> OrderRecord | None:
        """Apply an exchange's view of an order to the journal and publish what changed."""
        if not synthesize and (known := self._applied.get(report)) is not None:
            return known  # this very report is in the journal already: nothing would change
        outcome = await self.journal.apply_report(
            report, None, self.clock.now_ms(), detail=detail, synthesize=synthesize
        )
        await self.publish_outcome(outcome)
        self._remember_report(report, outcome.order)
        return outcome.order

    async def apply_execution(self, event: ExecutionReported) -> OrderRecord | None:
        """Apply an exchange report (and its fill, once) to an order the journal holds."""
        if event.fill is None and (known := self._applied.get(event.order)) is not None:
            return known
        outcome = await self.journal.apply_report(
            event.order, event.fill, self.clock.now_ms(), detail=f"reported by {event.exchange}"
        )
        if outcome.order is None:
            cid = event.order.client_order_id
            logger.debug("order {}: not journaled here; report ignored", cid)
            return None
        await self.publish_outcome(outcome)
        self._remember_report(event.order, outcome.order)
        return outcome.order

    def _remember_report(self, report: ExchangeOrder, order: OrderRecord | None) -> None:
        """Note the report last applied to an order and the order it left, so the same
        report arriving again (the create call's answer and the order channel both carry
        it) costs no journal write. Any other change to the order forgets it."""
        if order is None:
            return
        self._applied[report] = order
        self._report_of[order.client_order_id] = report
        if len(self._report_of) > REMEMBERED_REPORTS:
            _, oldest = self._report_of.popitem(last=False)
            self._applied.pop(oldest, None)

    def _forget_report(self, client_order_id: str) -> None:
        report = self._report_of.pop(client_order_id, None)
        if report is not None:
            self._applied.pop(report, None)

    async def adopt_position(self, event: PositionDesynced) -> PositionBook | None:
        """Take the exchange's position, unless the journal moved since it was compared."""
        now = self.clock.now_ms()
        book = await self.journal.adopt_position(
            event.symbol, event.journal_size, event.position, now
        )
        if book is None:
            logger.info("position {}: changed since it was compared; not adopted", event.symbol)
            return None
        logger.warning(
            "position {}: {} the exchange's size {} (journal had {})",
            event.symbol,
            event.action,
            event.exchange_size,
            event.journal_size,
        )
        await self._publish(PositionChanged(ts_ms=now, position=book.to_position()))
        return book

    async def settle(self, client_order_id: str, target: OrderState, detail: str) -> None:
        """Move an order by the journal's own decision (expired, cancelled, rejected)."""
        outcome = await self.journal.transition(
            client_order_id, target, self.clock.now_ms(), detail, reason=detail
        )
        await self.publish_outcome(outcome)

    async def publish_outcome(self, outcome: Outcome) -> None:
        """OrderFilled per new fill, PositionChanged, then OrderUpdated per transition."""
        order = outcome.order
        if order is None:
            return
        self._forget_report(order.client_order_id)
        now = self.clock.now_ms()
        for fill in outcome.fills:
            await self._publish(OrderFilled(ts_ms=now, fill=fill))
        if outcome.position is not None:
            await self._publish(PositionChanged(ts_ms=now, position=outcome.position.to_position()))
        for old, new in outcome.steps:
            step = msgspec.structs.replace(order.to_order(), state=new)
            await self._publish(OrderUpdated(ts_ms=now, order=step, old_state=old))
        if outcome.refused is not None:
            self.refused += 1

    async def _publish_created(self, record: OrderRecord) -> None:
        await self._publish(
            OrderUpdated(ts_ms=self.clock.now_ms(), order=record.to_order(), old_state="")
        )

    # --- for the replacer ------------------------------------------------------------------

    async def journal_child(self, child: OrderRecord, detail: str) -> bool:
        """Journal a replacement order (pending) and announce it."""
        if not await self.journal.insert(child, detail=detail):
            return False
        await self._publish_created(child)
        return True


def _log_retry(client_order_id: str, attempt: int, exc: Exception, delay: float) -> None:
    logger.warning(
        "order {}: try {} failed ({}); checking, then resending in {:.2f} s",
        client_order_id,
        attempt,
        exc,
        delay,
    )
