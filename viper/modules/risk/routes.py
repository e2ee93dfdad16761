"""Routes of the risk module: status, limits (read and change, audited), kill switch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Protocol, runtime_checkable

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper.auth.principal import actor_of
from viper.config import RiskConfig
from viper.http import ApiRoute, json_response, module_of, query_as, read_json
from viper.modules.risk.store import AuditEntry
from viper.protocols import RiskStatus


@runtime_checkable
class RiskView(Protocol):
    """What these handlers need of the risk module."""

    def risk_status(self) -> RiskStatus: ...

    def limits(self) -> RiskConfig: ...

    async def set_limits(self, changes: Mapping[str, Any], actor: str) -> RiskConfig: ...

    async def trip(self, reason: str, actor: str) -> RiskStatus: ...

    async def resume(self, reason: str, actor: str) -> RiskStatus: ...

    async def audit(self, limit: int) -> list[AuditEntry]: ...


class KillSwitchRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Why the kill switch is tripped or lifted (for the audit trail)."""

    reason: Annotated[str, Meta(max_length=500)] = ""


class AuditQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    limit: Annotated[int, Meta(ge=1, le=1000)] = 100


class AuditPage(msgspec.Struct, frozen=True, kw_only=True):
    """Audited changes, newest first."""

    entries: list[AuditEntry]


async def get_status(request: Request) -> Response:
    """Exposure, daily PnL, drawdown, use of each limit, kill switch and gate state."""
    return json_response(module_of(request, RiskView).risk_status())


async def get_limits(request: Request) -> Response:
    """The risk limits in force."""
    return json_response(module_of(request, RiskView).limits())


async def put_limits(request: Request) -> Response:
    """Change limits at run time (validated as [risk] is; 422 names the field; audited)."""
    changes = await read_json(request, dict[str, Any])
    risk = module_of(request, RiskView)
    return json_response(await risk.set_limits(changes, actor_of(request)))


async def trip(request: Request) -> Response:
    """Trip the kill switch: flatten every position and halt until resumed."""
    body = await _kill_switch_body(request)
    return json_response(await module_of(request, RiskView).trip(body.reason, actor_of(request)))


async def resume(request: Request) -> Response:
    """Lift the kill switch; drawdown is measured from the current equity from now on."""
    body = await _kill_switch_body(request)
    risk = module_of(request, RiskView)
    return json_response(await risk.resume(body.reason, actor_of(request)))


async def _kill_switch_body(request: Request) -> KillSwitchRequest:
    if not await request.body():
        return KillSwitchRequest()
    return await read_json(request, KillSwitchRequest)


async def get_audit(request: Request) -> Response:
    """Audited changes of limits and the kill switch, newest first."""
    query = query_as(request, AuditQuery)
    return json_response(AuditPage(entries=await module_of(request, RiskView).audit(query.limit)))


routes: list[BaseRoute] = [
    ApiRoute("/risk", get_status, response=RiskStatus),
    ApiRoute("/status", get_status, response=RiskStatus),
    ApiRoute("/limits", get_limits, response=RiskConfig),
    ApiRoute(
        "/limits",
        put_limits,
        methods=["PUT"],
        body=dict[str, Any],
        response=RiskConfig,
        scope="admin",  # changing risk limits is a config change
    ),
    ApiRoute(
        "/kill-switch/trip", trip, methods=["POST"], body=KillSwitchRequest, response=RiskStatus
    ),
    ApiRoute(
        "/kill-switch/resume",
        resume,
        methods=["POST"],
        body=KillSwitchRequest,
        response=RiskStatus,
    ),
    ApiRoute("/audit", get_audit, query=AuditQuery, response=AuditPage),
]
