"""Canonical objects of the order tests: requests, an event recorder, a manager."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

from loguru import logger

from tests.unit.modules.order.fake_exchange import SYMBOL, FakeExchange
from viper.bus import InMemoryBus
from viper.clock import LiveClock, TestClock
from viper.config import Config, OrderConfig, section_of
from viper.domain import OrderType, Side
from viper.events import BaseEvent, OrderRequest
from viper.metrics import new_registry
from viper.modules.base import ModuleContext, Services
from viper.modules.order.journal import Journal
from viper.modules.order.manager import OrderManager, SendPolicy
from viper.store.sqlite import Database

TS = 1_700_000_000_000


class Recorder:
    """Collects published events; `of(cls)` picks one kind."""

    def __init__(self) -> None:
        self.events: list[BaseEvent] = []

    async def __call__(self, event: BaseEvent) -> None:
        self.events.append(event)

    def of(self, cls: type) -> list:
        return [e for e in self.events if isinstance(e, cls)]


def request(
    cid: str = "c1",
    *,
    side: Side = "buy",
    order_type: OrderType = "limit",
    amount: str = "1",
    price: str | None = "100",
    intent_id: str = "",
    reduce_only: bool = False,
) -> OrderRequest:
    return OrderRequest(
        ts_ms=TS,
        client_order_id=cid,
        symbol=SYMBOL,
        side=side,
        order_type=order_type,
        amount=Decimal(amount),
        price=Decimal(price) if price is not None else None,
        intent_id=intent_id,
        reduce_only=reduce_only,
    )


def make_manager(
    journal: Journal,
    exchange: FakeExchange,
    clock: TestClock,
    recorder: Recorder,
    config: OrderConfig,
) -> OrderManager:
    policy = SendPolicy(call_timeout_seconds=0.2, attempts=4, base_delay=0.5, max_delay=4.0)
    return OrderManager(journal, exchange, clock, recorder, config, policy)


def module_context(
    name: str, config: Config, bus: InMemoryBus, db: Database, services: Services
) -> ModuleContext:
    """What the runner hands a module at start, on the real clock."""
    return ModuleContext(
        name=name,
        section=section_of(config, name),
        config=config,
        bus=bus,
        clock=LiveClock(),
        store=db,
        metrics=new_registry(),
        logger=logger.bind(module=name),
        services=services,
    )


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Wait until `check()` holds (real time)."""
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
