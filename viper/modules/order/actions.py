"""Acting on one journaled order: check it with the exchange, cancel it, replace it, correct it.

Each action holds the order's lock, so a cancel never races a send or a check of the same
order. An order the exchange never saw is resent under its own client order id while it is
fresh, and rejected as stale once older than `OrderConfig.limit_timeout_seconds`.
"""

from __future__ import annotations

from decimal import Decimal

from loguru import logger

from viper.domain import OrderState
from viper.errors import ConflictError, NotFoundError, TemporaryError, ViperError
from viper.events import OrderStateCorrected
from viper.modules.order import ids, queries
from viper.modules.order.manager import OrderManager
from viper.modules.order.records import OrderRecord
from viper.modules.order.states import is_terminal


def is_stale(manager: OrderManager, order: OrderRecord) -> bool:
    """True when an order is too old to send for the first time."""
    age_ms = manager.clock.now_ms() - order.created_ms
    return age_ms > manager.config.limit_timeout_seconds * 1000


async def check_locked(
    manager: OrderManager, client_order_id: str, *, synthesize: bool, detail: str
) -> OrderRecord | None:
    """Ask the exchange about one non-terminal order and settle the journal with the answer.

    Found: its state (and, with `synthesize`, its unreported fills) is adopted. Not found:
    a pending or submitted order is sent (same id) unless stale; any other has vanished.
    """
    order = await queries.get_order(manager.journal.db, client_order_id)
    if order is None or is_terminal(order.state):
        return order
    found = await manager.call(
        "fetch_order", manager.exchange.fetch_order(client_order_id, order.symbol)
    )
    if found is not None:
        return await manager.adopt(found, detail, synthesize=synthesize)
    if order.state in ("pending", "submitted"):
        if is_stale(manager, order):
            limit = manager.config.limit_timeout_seconds
            await manager.reject(client_order_id, f"stale: not at the exchange after {limit:g} s")
            return await queries.get_order(manager.journal.db, client_order_id)
        return await manager.send_locked(client_order_id)
    await manager.settle(client_order_id, "expired", "the exchange has no record of it")
    return await queries.get_order(manager.journal.db, client_order_id)


async def _live_order(manager: OrderManager, client_order_id: str) -> OrderRecord:
    order = await queries.get_order(manager.journal.db, client_order_id)
    if order is None:
        raise NotFoundError(f"no order {client_order_id!r}")
    if is_terminal(order.state):
        raise ConflictError(f"order {client_order_id} is already {order.state}")
    return order


async def cancel(manager: OrderManager, client_order_id: str, detail: str) -> OrderRecord:
    """Cancel an order; NotFoundError when unknown, ConflictError when already terminal."""
    await _live_order(manager, client_order_id)
    async with manager.locked(client_order_id):
        return await cancel_locked(manager, client_order_id, detail)


async def cancel_locked(manager: OrderManager, client_order_id: str, detail: str) -> OrderRecord:
    """Cancel at the exchange and adopt the answer; an order it never had ends here."""
    order = await _current(manager, client_order_id)
    if is_terminal(order.state):
        return order
    if order.state == "pending":  # never sent, so nothing to cancel at the exchange
        await manager.reject(client_order_id, f"{detail} before it was sent")
        return await _current(manager, client_order_id)
    try:
        report = await manager.call(
            "cancel_order", manager.exchange.cancel_order(client_order_id, order.symbol)
        )
    except TemporaryError:
        raise
    except ViperError as exc:  # not found, or not cancellable (filled meanwhile): ask
        found = await manager.call(
            "fetch_order", manager.exchange.fetch_order(client_order_id, order.symbol)
        )
        if found is not None:
            await manager.adopt(found, f"{detail}: {exc.detail}")
        else:
            target: OrderState = "cancelled" if order.state == "submitted" else "expired"
            await manager.settle(client_order_id, target, f"{detail}; the exchange has no record")
        return await _current(manager, client_order_id)
    await manager.adopt(report, detail)
    return await _current(manager, client_order_id)


async def _current(manager: OrderManager, client_order_id: str) -> OrderRecord:
    order = await queries.get_order(manager.journal.db, client_order_id)
    if order is None:
        raise NotFoundError(f"no order {client_order_id!r}")
    return order


async def replace(
    manager: OrderManager,
    client_order_id: str,
    price: Decimal | None,
    amount: Decimal | None = None,
    detail: str = "replaced by request",
) -> OrderRecord:
    """Cancel a limit order and send a linked replacement for what is left (or `amount`).

    The replacement's id derives from the original's, so a retried replace maps to it.
    """
    order = await _live_order(manager, client_order_id)
    if order.type != "limit":
        raise ConflictError(f"order {client_order_id} is a {order.type} order; only limit orders")
    async with manager.locked(client_order_id):
        child = await _replacement(manager, client_order_id, price, amount, detail)
    sent = await manager.send(child.client_order_id)
    return sent or child


async def _replacement(
    manager: OrderManager,
    client_order_id: str,
    price: Decimal | None,
    amount: Decimal | None,
    detail: str,
) -> OrderRecord:
    after = await cancel_locked(manager, client_order_id, f"cancelled: {detail}")
    if after.state != "cancelled":
        raise ConflictError(f"order {client_order_id} is {after.state}; not replaced")
    size = amount if amount is not None else after.remaining
    if size <= Decimal(0):
        raise ConflictError(f"order {client_order_id} has nothing left to replace")
    now = manager.clock.now_ms()
    child = OrderRecord(
        client_order_id=ids.reprice_client_order_id(client_order_id, after.reprice + 1),
        symbol=after.symbol,
        side=after.side,
        type=after.type,
        amount=size,
        price=price if price is not None else after.price,
        reduce_only=after.reduce_only,
        post_only=after.post_only,
        intent_id=after.intent_id,
        parent_id=client_order_id,
        reprice=after.reprice + 1,
        created_ms=now,
        updated_ms=now,
    )
    if not await manager.journal_child(child, f"replaces {client_order_id}: {detail}"):
        existing = await queries.get_order(manager.journal.db, child.client_order_id)
        return existing or child
    return child


async def apply_correction(manager: OrderManager, event: OrderStateCorrected) -> None:
    """Apply what a reconciliation found; skipped while the order is being acted on."""
    cid = event.client_order_id
    if manager.busy(cid):
        return
    async with manager.locked(cid):
        order = await queries.get_order(manager.journal.db, cid)
        if order is None:
            return
        detail = f"corrected by reconciliation: {event.reason}".rstrip(": ")
        if event.order is not None and is_terminal(order.state) and event.order.status == "open":
            await _close_stray(manager, order, detail)
        elif event.order is not None:
            await manager.adopt(event.order, detail, synthesize=True)
        elif not is_terminal(order.state):
            await check_locked(manager, cid, synthesize=True, detail=detail)


async def _close_stray(manager: OrderManager, order: OrderRecord, detail: str) -> None:
    """The journal says the order ended but the exchange still has it open: cancel it there."""
    cid = order.client_order_id
    logger.warning("order {} is {} here but open at the exchange: cancelling it", cid, order.state)
    try:
        report = await manager.call(
            "cancel_order", manager.exchange.cancel_order(cid, order.symbol)
        )
    except ViperError as exc:
        logger.error("order {}: could not cancel the stray order: {}", cid, exc)
        return
    await manager.adopt(report, f"{detail}; cancelled at the exchange", synthesize=True)
