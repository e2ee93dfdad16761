"""Keeping the journal true over time: recovery at start, polling, limit-order timeouts.

`recover` runs once at start: every non-terminal order is checked with `fetch_order` and
adopted (unreported fills included), resent (never seen, still fresh) or settled. `poll`
runs every `OrderConfig.poll_seconds`: one `fetch_open_orders`, then `fetch_order` only
for journaled orders missing from it; then timed-out limit orders are cancelled or repriced.
"""

from __future__ import annotations

from decimal import Decimal

from loguru import logger

from viper.domain import MarketInfo
from viper.errors import ViperError
from viper.modules.order import actions, queries
from viper.modules.order.manager import OrderManager
from viper.modules.order.prices import PriceBook, to_step
from viper.modules.order.records import OrderRecord

# A pending or just submitted order younger than this is on its way out; the poller leaves
# it alone (a restart's recovery checks every order).
IN_FLIGHT_MS = 10_000
IN_FLIGHT = ("pending", "submitted")


class Upkeep:
    """Recovery, polling and timeouts for one manager."""

    def __init__(self, manager: OrderManager, prices: PriceBook) -> None:
        self.manager = manager
        self.prices = prices
        self.recovered = False
        self.recovery_left = 0
        self.open_orders = 0
        self._markets: dict[str, MarketInfo] | None = None

    async def recover(self) -> int:
        """Check every non-terminal order with the exchange; returns how many are left unsure."""
        manager = self.manager
        orders = await queries.non_terminal_orders(manager.journal.db)
        left = 0
        for order in orders:
            cid = order.client_order_id
            try:
                async with manager.locked(cid):
                    await actions.check_locked(
                        manager, cid, synthesize=True, detail="recovered after a restart"
                    )
            except ViperError as exc:
                left += 1
                logger.warning("order {}: recovery check failed ({}); will retry", cid, exc)
        self.recovery_left = left
        self.recovered = left == 0
        if orders:
            logger.info("recovered {} open orders; {} still unsure", len(orders), left)
        return left

    async def poll(self) -> None:
        """One round: adopt open orders' states, settle vanished ones, handle timeouts."""
        manager = self.manager
        if not self.recovered:
            await self.recover()
        orders = await queries.non_terminal_orders(manager.journal.db)
        self.open_orders = len(orders)
        if not orders:
            return
        listed = await manager.call("fetch_open_orders", manager.exchange.fetch_open_orders())
        at_exchange = {o.client_order_id: o for o in listed}
        now = manager.clock.now_ms()
        for order in orders:
            cid = order.client_order_id
            fresh = order.state in IN_FLIGHT and now - order.created_ms < IN_FLIGHT_MS
            if fresh or manager.busy(cid):
                continue
            report = at_exchange.get(cid)
            if report is not None:
                await manager.adopt(report, "seen open at the exchange")
                continue
            async with manager.locked(cid):
                await actions.check_locked(
                    manager, cid, synthesize=False, detail="not open at the exchange any more"
                )
        await self.check_timeouts()

    async def check_timeouts(self) -> None:
        """Cancel or reprice every limit order unfilled past `limit_timeout_seconds`."""
        manager = self.manager
        config = manager.config
        now = manager.clock.now_ms()
        limit_ms = config.limit_timeout_seconds * 1000
        for order in await queries.non_terminal_orders(manager.journal.db):
            if order.type != "limit" or order.state not in ("open", "partially_filled"):
                continue
            if now - order.created_ms < limit_ms or manager.busy(order.client_order_id):
                continue
            try:
                await self._timed_out(order)
            except ViperError as exc:
                logger.warning("order {}: timeout handling failed: {}", order.client_order_id, exc)

    async def _timed_out(self, order: OrderRecord) -> None:
        config = self.manager.config
        seconds = f"unfilled after {config.limit_timeout_seconds:g} s"
        if config.on_timeout == "reprice" and order.reprice < config.max_reprices:
            price = await self.reprice_to(order)
            await actions.replace(
                self.manager, order.client_order_id, price, detail=f"repriced to {price}: {seconds}"
            )
        else:
            await actions.cancel(self.manager, order.client_order_id, f"timed out: {seconds}")

    async def reprice_to(self, order: OrderRecord) -> Decimal | None:
        """The marketable price now, on the market's grid; the order's own price if unknown."""
        price = self.prices.marketable(order.symbol, order.side)
        if price is None:
            return order.price
        market = (await self._market_table()).get(order.symbol)
        return to_step(price, market.price_step, order.side) if market else price

    async def _market_table(self) -> dict[str, MarketInfo]:
        if self._markets is None:
            try:
                self._markets = await self.manager.call("markets", self.manager.exchange.markets())
            except ViperError:
                return {}
        return self._markets
