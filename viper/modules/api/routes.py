"""Routes of the api module."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper.http import ApiRoute, json_response, module_of, read_json
from viper.modules.api.nodes import NodeView
from viper.protocols import (
    BacktestRequest,
    BacktestRunner,
    MetricsSummary,
    MetricsSummarySource,
    Portfolio,
    PortfolioSource,
    PositionView,
    RiskStatus,
    RiskStatusSource,
)
from viper.runner import ModuleStatus


@runtime_checkable
class ServicesView(Protocol):
    """What these handlers need of the api module."""

    @property
    def node(self) -> str: ...

    def services_status(self) -> list[ModuleStatus]: ...

    def other_nodes(self) -> list[NodeView]: ...

    def risk_source(self) -> RiskStatusSource: ...

    def portfolio_source(self) -> PortfolioSource: ...


class ServicesStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Every module of the process, enabled or not."""

    node: str
    running: int
    enabled: int
    total: int
    services: list[ModuleStatus]
    nodes: list[NodeView]


async def services_status(request: Request) -> Response:
    """Every module: enabled or not, its state and health; and other processes on the bus."""
    api = module_of(request, ServicesView)
    modules = api.services_status()
    return json_response(
        ServicesStatus(
            node=api.node,
            running=sum(1 for m in modules if m.state == "running"),
            enabled=sum(1 for m in modules if m.enabled),
            total=len(modules),
            services=modules,
            nodes=api.other_nodes(),
        )
    )


@runtime_checkable
class BacktestView(Protocol):
    """What the backtest handler needs of the api module."""

    def backtest_runner(self) -> BacktestRunner: ...


class BacktestStarted(msgspec.Struct, frozen=True, kw_only=True):
    """The original answer to `POST /api/backtest/start`; follow it at /backtester/backtest/{id}."""

    status: str
    backtest_id: str
    message: str
    estimated_duration: float


async def start_backtest(request: Request) -> Response:
    """Start a backtest (the original API): validated now, run by the backtester module."""
    runner = module_of(request, BacktestView).backtest_runner()
    job = await runner.start(await read_json(request, BacktestRequest))
    return json_response(
        BacktestStarted(
            status="started",
            backtest_id=job.id,
            message=f"backtest of {job.strategy} on {', '.join(job.symbols)} ({job.timeframe}) "
            f"started; follow it at /backtester/backtest/{job.id}",
            estimated_duration=job.estimated_duration_seconds,
        )
    )


async def risk_status(request: Request) -> Response:
    """Exposure, daily PnL, drawdown, use of each limit, kill switch and gate state."""
    return json_response(module_of(request, ServicesView).risk_source().risk_status())


async def portfolio(request: Request) -> Response:
    """Equity, realized and unrealized PnL, and every open position."""
    return json_response(await module_of(request, ServicesView).portfolio_source().portfolio())


@runtime_checkable
class MetricsView(Protocol):
    """What the metrics handler needs of the api module."""

    def metrics_source(self) -> MetricsSummarySource: ...


async def metrics(request: Request) -> Response:
    """Trades, win rate, risk score, memory, request rate, bus depth and drops, module states."""
    return json_response(module_of(request, MetricsView).metrics_source().metrics_summary())


class OpenPositions(msgspec.Struct, frozen=True, kw_only=True):
    """Open positions."""

    count: int
    positions: list[PositionView]


async def positions(request: Request) -> Response:
    """Open positions with their marks, PnL and protective levels."""
    found = await module_of(request, ServicesView).portfolio_source().positions()
    return json_response(OpenPositions(count=len(found), positions=found))


routes: list[BaseRoute] = [
    ApiRoute("/services/status", services_status, response=ServicesStatus),
    ApiRoute("/metrics", metrics, response=MetricsSummary),
    ApiRoute(
        "/backtest/start",
        start_backtest,
        methods=["POST"],
        body=BacktestRequest,
        response=BacktestStarted,
    ),
    ApiRoute("/risk/status", risk_status, response=RiskStatus),
    ApiRoute("/portfolio", portfolio, response=Portfolio),
    ApiRoute("/positions", positions, response=OpenPositions),
]
