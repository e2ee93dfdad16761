"""The paper exchange: the matching engine behind the `Exchange` protocol, persisted in SQLite.

Each command and each market event is one engine step, made under one lock and committed in
one transaction (steps made back to back share a commit), and only then reported through
`report` (the module publishes those as `ExecutionReported`), in the order they were made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

from viper.domain import (
    Balance,
    Candle,
    ExchangeOrder,
    Fill,
    MarketInfo,
    OrderType,
    Position,
    Side,
)
from viper.modules.exchange.engine import PaperEngine
from viper.modules.exchange.paper_store import PaperStore
from viper.modules.exchange.state import FundingPayment, NewOrder, PaperSettings
from viper.store.sqlite import Database

T = TypeVar("T")
# Called on the event loop once the step that made the report is durable.
Report = Callable[[int, ExchangeOrder, Fill | None], None]


def _ignore(ts_ms: int, order: ExchangeOrder, fill: Fill | None) -> None:
    return None


async def _nothing() -> None:
    return None


class PaperExchange:
    """An in-process exchange account driven by market data; state survives restarts."""

    id = "paper"

    def __init__(self, engine: PaperEngine, store: PaperStore, report: Report = _ignore) -> None:
        self.engine = engine
        self.store = store
        self._report = report
        self._lock = asyncio.Lock()
        # Applies the market data published but not yet handled, before an order is placed:
        # an order decided on a price never meets an older one here.
        self.before_order: Callable[[], Awaitable[object]] = _nothing

    @classmethod
    async def open(
        cls, db: Database, settings: PaperSettings, report: Report = _ignore
    ) -> PaperExchange:
        """The paper account stored in `db`, or a fresh one with `settings.balance`."""
        store = PaperStore(db)
        await store.migrate()
        state = await store.load()
        engine = PaperEngine(
            settings,
            account=state.account,
            orders=state.orders,
            positions=state.positions,
            symbols=state.symbols,
        )
        exchange = cls(engine, store, report)
        if state.account is None:
            async with exchange._lock:
                await exchange._commit()  # the opening balance is state too
        return exchange

    async def _commit(self) -> None:
        """Persist the engine's pending step, then report its order changes."""
        await self._step(None)

    def _step(self, error: Exception | None) -> asyncio.Future[None]:
        """Queue the engine's pending step for the database (call under the lock). Once it is
        durable its reports are made and the returned future is done (with `error`, if the
        command failed). Steps commit, and so report, in the order they were made; a caller
        that stops waiting loses nothing."""
        step, now_ms = self.engine.take_step(), self.engine.now_ms
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def finish(saved: asyncio.Future[None]) -> None:
            failed: BaseException | None = saved.exception()
            try:
                if failed is None:
                    for order, fill in step.reports:
                        self._report(now_ms, order, fill)
            except Exception as exc:  # a broken report hook must not leave the caller waiting
                failed = exc
            finally:
                if not done.done():
                    outcome = failed or error
                    if outcome is None:
                        done.set_result(None)
                    else:
                        done.set_exception(outcome)

        self.store.queue_save(step).add_done_callback(finish)
        return done

    async def _run(self, action: Callable[[], T]) -> T:
        """Apply `action` to the engine under the lock; return once its step is durable and
        reported. The lock covers only the in-memory step, so steps queue their writes back
        to back and share commits."""
        async with self._lock:
            try:
                result = action()
            except Exception as exc:
                # A refused command may still have changed something; a partial one is
                # committed as it stands, so memory and the database never disagree.
                finishing = self._step(exc)
            else:
                finishing = self._step(None)
        await finishing
        return result

    # --- market data ---------------------------------------------------------------------

    async def on_ticker(
        self, symbol: str, last: float, bid: float | None, ask: float | None, ts_ms: int
    ) -> None:
        await self._run(lambda: self.engine.on_tick(symbol, last, bid, ask, ts_ms))

    async def on_candle(self, symbol: str, timeframe: str, candle: Candle, ts_ms: int) -> None:
        await self._run(lambda: self.engine.on_candle(symbol, timeframe, candle, ts_ms))

    # --- the Exchange protocol -----------------------------------------------------------

    async def markets(self) -> dict[str, MarketInfo]:
        return self.engine.markets()

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
        new = NewOrder(
            client_order_id=client_order_id,
            symbol=symbol,
            side=side,
            type=type,
            amount=amount,
            price=price,
            stop_price=stop_price,
            reduce_only=reduce_only,
            post_only=post_only,
        )
        await self.before_order()
        # the order as this step left it: later steps may change it before this one is durable
        return await self._run(lambda: self.engine.place(new).view())

    async def cancel_order(self, client_order_id: str, symbol: str) -> ExchangeOrder:
        return await self._run(lambda: self.engine.cancel(client_order_id).view())

    async def fetch_order(self, client_order_id: str, symbol: str) -> ExchangeOrder | None:
        order = self.engine.order(client_order_id)
        return order.view() if order is not None else None

    async def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        return [o.view() for o in self.engine.open_orders(symbol)]

    async def fetch_positions(self) -> list[Position]:
        return self.engine.positions()

    async def fetch_balance(self) -> Balance:
        return self.engine.balance()

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        await self._run(lambda: self.engine.set_leverage(symbol, leverage))

    # --- beyond the protocol -------------------------------------------------------------

    async def set_funding_rate(self, symbol: str, rate: Decimal | None) -> None:
        """Funding rate per interval for `symbol` (from market data, or None for the default)."""
        await self._run(lambda: self.engine.set_funding_rate(symbol, rate))

    async def all_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Every order, open or done, oldest first."""
        orders = sorted(self.engine.orders.values(), key=lambda o: o.seq)
        return [o.view() for o in orders if symbol is None or o.symbol == symbol]

    async def fills(self, client_order_id: str | None = None) -> list[Fill]:
        return await self.store.fills(client_order_id)

    async def funding(self) -> list[FundingPayment]:
        return await self.store.funding()
