"""The api module: process-wide views that read through the core's protocols."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.bus import EventBus
from viper.clock import Clock
from viper.errors import TemporaryError
from viper.events import ModuleStateChanged, NodeStatus
from viper.modules.api.nodes import NodeTable, NodeView
from viper.modules.api.routes import routes
from viper.modules.base import Health, ModuleContext, Services
from viper.protocols import (
    BacktestRunner,
    MetricsSummarySource,
    PortfolioSource,
    RiskStatusSource,
    StatusSource,
)
from viper.runner import ModuleStatus


class ApiModule:
    """Serves /api: the services of this process and of the others on the bus."""

    name = "api"
    requires: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._status: StatusSource | None = None
        self._services: Services | None = None
        self._nodes: NodeTable | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        self._status = ctx.services.get(StatusSource)
        self._services = ctx.services
        self._nodes = NodeTable(self._status.node, ctx.clock)
        nodes = self._nodes

        async def on_status(event: NodeStatus) -> None:
            nodes.record(event)

        async def on_change(event: ModuleStateChanged) -> None:
            self._changed.set()

        ctx.bus.subscribe(NodeStatus, on_status, name="api.nodes", overflow="drop_oldest")
        ctx.bus.subscribe(ModuleStateChanged, on_change, name="api.states", overflow="drop_oldest")
        interval = ctx.config.server.node_status_seconds
        self._task = asyncio.create_task(
            self._announce(ctx.bus, ctx.clock, interval), name="api.node-status"
        )

    async def _announce(self, bus: EventBus, clock: Clock, interval: float) -> None:
        """Tell the other processes which modules run here: on each change and every `interval`."""
        while True:
            self._changed.clear()
            if self._status is not None:
                modules = {s.name: s.state for s in self._status.services_status() if s.state}
                await bus.publish(
                    NodeStatus(
                        ts_ms=clock.now_ms(),
                        node=self._status.node,
                        modules=modules,
                        interval_seconds=interval,
                    )
                )
            sleep = asyncio.ensure_future(clock.sleep(interval))
            changed = asyncio.ensure_future(self._changed.wait())
            await asyncio.wait({sleep, changed}, return_when=asyncio.FIRST_COMPLETED)
            for waiter in (sleep, changed):
                waiter.cancel()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._status = None
        self._services = None

    def health(self) -> Health:
        return Health(status="ok")

    @property
    def node(self) -> str:
        """This process's name on the bus."""
        return self._status.node if self._status is not None else ""

    def services_status(self) -> list[ModuleStatus]:
        """Every module of this process with its enabled flag, state and health."""
        if self._status is None:
            return []
        return self._status.services_status()

    def other_nodes(self) -> list[NodeView]:
        """Other processes on the bus and their modules."""
        return self._nodes.views() if self._nodes is not None else []

    def backtest_runner(self) -> BacktestRunner:
        """The backtester's runner; a 503 naming the module when it is not enabled."""
        runner = self._services.maybe(BacktestRunner) if self._services is not None else None
        if runner is None:
            raise TemporaryError(
                "backtesting needs the backtester module, which is not enabled",
                module="backtester",
            )
        return runner

    def risk_source(self) -> RiskStatusSource:
        """The risk module's status, looked up per request (it may start after this module)."""
        source = self._services.maybe(RiskStatusSource) if self._services else None
        if source is None:
            raise TemporaryError("the risk module is not running")
        return source

    def portfolio_source(self) -> PortfolioSource:
        """The live engine's portfolio, looked up per request."""
        source = self._services.maybe(PortfolioSource) if self._services else None
        if source is None:
            raise TemporaryError("the live module is not running")
        return source

    def metrics_source(self) -> MetricsSummarySource:
        """The monitoring module's summary; a 503 naming the module when it is not enabled."""
        source = self._services.maybe(MetricsSummarySource) if self._services else None
        if source is None:
            raise TemporaryError(
                "metrics need the monitoring module, which is not running", module="monitoring"
            )
        return source
