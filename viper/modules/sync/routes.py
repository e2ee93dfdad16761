"""Routes of the sync module: run a reconciliation now, and show the last one's diff."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper.http import ApiRoute, json_response, module_of
from viper.modules.sync.synchronizer import SyncReport


class SyncStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Whether entries are allowed, and the last reconciliation (None before the first)."""

    entries_allowed: bool
    reason: str
    last: SyncReport | None = None


@runtime_checkable
class SyncView(Protocol):
    """What these handlers need of the sync module."""

    async def run_now(self) -> SyncReport: ...

    def status(self) -> SyncStatus: ...


async def run_sync(request: Request) -> Response:
    """Reconcile with the exchange now; answers the run's report."""
    return json_response(await module_of(request, SyncView).run_now())


async def last_positions(request: Request) -> Response:
    """The last reconciliation: exchange vs journal per symbol, discrepancies, when."""
    return json_response(module_of(request, SyncView).status())


routes: list[BaseRoute] = [
    ApiRoute("/sync", run_sync, methods=["POST"], response=SyncReport),
    ApiRoute("/positions", last_positions, response=SyncStatus),
]
