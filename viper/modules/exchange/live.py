"""A real exchange account (live or demo) through async ccxt, behind the `Exchange` protocol.

Orders carry VIPER's client order id (Bitget's `clientOid`). Placing an order is never blindly
repeated: when an attempt fails in a way that leaves its outcome unknown (timeout, lost answer,
5xx, 429), the next attempt first asks the exchange for the order by client id and returns it if
it exists; only an order the exchange never saw is sent again, and a "duplicate clientOid"
refusal is answered by looking the order up. Every order seen passes through the tracker, which
reports changes.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import msgspec

from viper.domain import Balance, ExchangeOrder, MarketInfo, OrderType, Position, Side
from viper.errors import (
    DuplicateOrderError,
    ExchangeNotSupportedError,
    MarketNotFoundError,
    OrderNotFoundError,
)
from viper.modules.exchange.client import ORDER_PARAMS
from viper.modules.exchange.convert import balance_from_ccxt, order_from_ccxt, position_from_ccxt
from viper.modules.exchange.gateway import Gateway
from viper.modules.exchange.markets import market_from_ccxt
from viper.modules.exchange.tracker import OrderTracker, is_done


class CcxtExchange:
    """The `Exchange` protocol over one ccxt client, every call through the gateway."""

    def __init__(
        self,
        client: ccxt.Exchange,
        gateway: Gateway,
        tracker: OrderTracker,
        *,
        market_type: str = "swap",
        settle: str = "USDT",
    ) -> None:
        self.client = client
        self.gateway = gateway
        self.tracker = tracker
        self.market_type = market_type
        self.settle = settle
        self._markets: dict[str, MarketInfo] | None = None

    @property
    def id(self) -> str:
        return str(self.client.id)

    async def close(self) -> None:
        await self.client.close()

    async def markets(self) -> dict[str, MarketInfo]:
        if self._markets is None:
            raw = await self.gateway.call("load_markets", self.client.load_markets)
            tick = self.client.precisionMode == ccxt.TICK_SIZE
            self._markets = {
                symbol: market_from_ccxt(market, tick)
                for symbol, market in raw.items()
                if market.get("type") == self.market_type and market.get("active") is not False
            }
        return self._markets

    async def _market(self, symbol: str) -> MarketInfo:
        market = (await self.markets()).get(symbol)
        if market is None:
            raise MarketNotFoundError(
                f"{self.id} has no {self.market_type} market {symbol!r}", field="symbol"
            )
        return market

    # --- orders --------------------------------------------------------------------------

    async def create_order(
        self,
        *,
        client_order_id: str,
        symbol: str,
        side: Side,
        type: OrderType,
        amount: Decimal,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
    ) -> ExchangeOrder:
        """Place an order once; see the module docstring for what happens on a fault.

        If every attempt fails the error is raised and the order's fate is unknown: ask
        `fetch_order` later (the order module's reconciliation does).
        """
        await self._market(symbol)
        intended = ExchangeOrder(
            client_order_id=client_order_id,
            symbol=symbol,
            side=side,
            type=type,
            amount=amount,
            status="open",
            price=price,
            stop_price=stop_price,
            reduce_only=reduce_only,
        )
        sent = False

        async def attempt() -> ExchangeOrder:
            nonlocal sent
            if sent:  # the last try may have reached the exchange: ask before sending again
                found = await self.fetch_order(client_order_id, symbol)
                if found is not None:
                    return found
            sent = True
            return await self._send_once(intended, post_only)

        return await self.gateway.retry(attempt, "create_order")

    async def _send_once(self, intended: ExchangeOrder, post_only: bool) -> ExchangeOrder:
        """One placement; "client id already used" means it is there: look it up instead."""
        cid, symbol = intended.client_order_id, intended.symbol
        try:
            raw = await self.gateway.call(
                "create_order", lambda: self._send(intended, post_only), symbol=symbol, repeat=False
            )
        except DuplicateOrderError:
            found = await self.fetch_order(cid, symbol)
            if found is None:
                raise
            return found
        return await self.tracker.observe(order_from_ccxt(raw, intended))

    async def _send(self, order: ExchangeOrder, post_only: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"clientOrderId": order.client_order_id}
        params.update(ORDER_PARAMS.get(self.id, {}))
        if order.reduce_only:
            params["reduceOnly"] = True
        if post_only:
            params["postOnly"] = True
        kind = order.type
        if kind == "stop":
            params["triggerPrice"] = float(order.stop_price or 0)
            kind = "market"
        price = float(order.price) if order.type == "limit" and order.price is not None else None
        result: dict[str, Any] = await self.client.create_order(
            order.symbol, kind, order.side, float(order.amount), price, params
        )
        return result

    async def cancel_order(self, client_order_id: str, symbol: str) -> ExchangeOrder:
        """Cancel an order; one already finished is returned in its final state."""
        known = self.tracker.get(client_order_id) or await self.fetch_order(client_order_id, symbol)
        if known is None:
            raise OrderNotFoundError(
                f"{self.id} has no order {client_order_id!r}", client_order_id=client_order_id
            )
        if not is_done(known):
            params: dict[str, Any] = {"clientOrderId": client_order_id}
            if known.type == "stop":
                params["trigger"] = True
            # Not found: it finished meanwhile; its final state is read below.
            with contextlib.suppress(OrderNotFoundError):
                await self.gateway.call(
                    "cancel_order",
                    lambda: self.client.cancel_order("", symbol, params),
                    symbol=symbol,
                )
        final = await self.fetch_order(client_order_id, symbol)
        if final is None:
            # A cancelled trigger order leaves the pending list, the only one read here.
            final = msgspec.structs.replace(known, status="canceled")
        return await self.tracker.observe(final)

    async def fetch_order(self, client_order_id: str, symbol: str) -> ExchangeOrder | None:
        """The order by client id, or None when the exchange has never seen it."""
        params = {"clientOrderId": client_order_id}
        try:
            raw = await self.gateway.call(
                "fetch_order", lambda: self.client.fetch_order("", symbol, params), symbol=symbol
            )
        except OrderNotFoundError:
            raw = await self._find_trigger(client_order_id, symbol)
            if raw is None:
                return None
        return await self.tracker.observe(order_from_ccxt(raw, self.tracker.get(client_order_id)))

    async def _find_trigger(self, client_order_id: str, symbol: str) -> dict[str, Any] | None:
        """A pending trigger (stop) order, which Bitget keeps apart from ordinary orders."""
        for raw in await self._open_raw(symbol, trigger=True):
            if raw.get("clientOrderId") == client_order_id:
                return raw
        return None

    async def _open_raw(self, symbol: str | None, *, trigger: bool) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"type": self.market_type}
        if trigger:
            params["trigger"] = True
        try:
            found: list[dict[str, Any]] = await self.gateway.call(
                "fetch_open_orders",
                lambda: self.client.fetch_open_orders(symbol, None, None, params),
                symbol=symbol,
            )
        except ExchangeNotSupportedError:
            if not trigger:
                raise
            return []
        return found

    async def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Open orders, trigger orders included."""
        raw = await self._open_raw(symbol, trigger=False) + await self._open_raw(
            symbol, trigger=True
        )
        return [
            await self.tracker.observe(
                order_from_ccxt(r, self.tracker.get(r.get("clientOrderId") or ""))
            )
            for r in raw
        ]

    # --- account -------------------------------------------------------------------------

    async def fetch_positions(self) -> list[Position]:
        raw = await self.gateway.call("fetch_positions", lambda: self.client.fetch_positions())
        positions = (position_from_ccxt(p) for p in raw)
        return [p for p in positions if p is not None]

    async def fetch_balance(self) -> Balance:
        raw = await self.gateway.call(
            "fetch_balance", lambda: self.client.fetch_balance({"type": self.market_type})
        )
        return balance_from_ccxt(raw, self.settle)

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        await self._market(symbol)
        await self.gateway.call(
            "set_leverage", lambda: self.client.set_leverage(leverage, symbol), symbol=symbol
        )

    async def all_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Every order this process has seen (open and done), oldest first."""
        orders = sorted(self.tracker.orders.values(), key=lambda o: o.ts_ms)
        return [o for o in orders if symbol is None or o.symbol == symbol]
