"""Routes of the monitoring module: the JSON metrics summary and the process health."""

from __future__ import annotations

import os
import time
from typing import Protocol, runtime_checkable

import msgspec
import psutil
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper import __version__
from viper.http import ApiRoute, json_response, module_of
from viper.metrics import rss_bytes
from viper.modules.base import Health
from viper.protocols import MetricsSummary
from viper.runner import ModuleStatus


@runtime_checkable
class MonitoringView(Protocol):
    """What these handlers need of the monitoring module."""

    def metrics_summary(self) -> MetricsSummary: ...

    def statuses(self) -> list[ModuleStatus]: ...


class ProcessHealth(msgspec.Struct, frozen=True, kw_only=True):
    """The body of /monitoring/health: the process and every module, as /health says, and
    (as every module's /health) this module's own state and health."""

    module: str
    state: str | None
    health: Health | None
    status: str
    version: str
    uptime_seconds: float
    pid: int
    rss_bytes: int
    modules: dict[str, ModuleStatus]


def overall(statuses: list[ModuleStatus]) -> tuple[str, int]:
    """`down` (503) unless every enabled module runs; `degraded` when one reports so."""
    enabled = [s for s in statuses if s.enabled]
    if any(s.state != "running" for s in enabled):
        return "down", 503
    if any(s.health is not None and s.health.status != "ok" for s in enabled):
        return "degraded", 200
    return "ok", 200


async def metrics_summary(request: Request) -> Response:
    """Trades, win rate, risk score, memory, request rate, bus depth and drops, module states."""
    return json_response(module_of(request, MonitoringView).metrics_summary())


async def health(request: Request) -> Response:
    """Process and per-module health; 503 while any enabled module is not running."""
    statuses = module_of(request, MonitoringView).statuses()
    status, code = overall(statuses)
    process = psutil.Process(os.getpid())
    own = next((s for s in statuses if s.name == "monitoring"), None)
    report = ProcessHealth(
        module="monitoring",
        state=own.state if own else None,
        health=own.health if own else None,
        status=status,
        version=__version__,
        uptime_seconds=round(time.time() - process.create_time(), 3),
        pid=process.pid,
        rss_bytes=rss_bytes(),
        modules={s.name: s for s in statuses},
    )
    return json_response(report, status_code=code)


routes: list[BaseRoute] = [
    ApiRoute("/metrics", metrics_summary, response=MetricsSummary),
    ApiRoute("/health", health, response=ProcessHealth),
]
