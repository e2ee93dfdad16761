"""Routes of the alerts module: history and acknowledgement, channels and test sends, rules."""

from __future__ import annotations

from typing import Annotated, Protocol, runtime_checkable

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper.config import AlertChannel, AlertSeverity
from viper.errors import ValidationError
from viper.http import ApiRoute, decode_as, json_response, module_of, query_as
from viper.modules.alerts.delivery import ChannelStatus
from viper.modules.alerts.history import AlertFilter
from viper.modules.alerts.models import Alert, AlertKind, AlertPage, Delivery
from viper.modules.alerts.rules import RuleSettings
from viper.modules.alerts.settings import RulesUpdate, convert, decode_body, parse_channel
from viper.timeframes import parse_time


@runtime_checkable
class AlertsView(Protocol):
    """What these handlers need of the alerts module."""

    async def alerts(self, f: AlertFilter, offset: int, limit: int) -> AlertPage: ...

    async def ack(self, alert_id: str, by: str) -> Alert: ...

    def notifications(self) -> list[ChannelStatus]: ...

    async def put_channel(self, channel: AlertChannel) -> ChannelStatus: ...

    async def delete_channel(self, name: str) -> None: ...

    async def test_channel(self, name: str) -> Delivery: ...

    def rules(self) -> RuleSettings: ...

    async def update_rules(self, change: RulesUpdate) -> RuleSettings: ...


class AlertQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Filters of the history: minimum severity, rule, kind, acknowledged or not, time range."""

    severity: AlertSeverity | None = None
    rule: str | None = None
    kind: AlertKind | None = None
    acked: bool | None = None
    since: str | None = None
    until: str | None = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 50
    offset: Annotated[int, Meta(ge=0)] = 0


class AckBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who acknowledges (optional)."""

    by: Annotated[str, Meta(max_length=100)] = "api"


class ChannelList(msgspec.Struct, frozen=True, kw_only=True):
    channels: list[ChannelStatus]


async def list_alerts(request: Request) -> Response:
    """Alert history, newest first, with per-channel delivery states."""
    query = query_as(request, AlertQuery)
    since, until = parse_time(query.since, "since"), parse_time(query.until, "until")
    if since is not None and until is not None and until <= since:
        raise ValidationError("until: must be after since", field="until")
    f = AlertFilter(
        min_severity=query.severity,
        rule=query.rule,
        kind=query.kind,
        acked=query.acked,
        since_ms=since,
        until_ms=until,
    )
    return json_response(await module_of(request, AlertsView).alerts(f, query.offset, query.limit))


async def ack_alert(request: Request) -> Response:
    """Acknowledge an alert (body optional: `{"by": "name"}`); 404 when unknown."""
    raw = await request.body()
    body = decode_as(raw, AckBody) if raw.strip() else AckBody()
    view = module_of(request, AlertsView)
    return json_response(await view.ack(request.path_params["alert_id"], body.by))


async def list_channels(request: Request) -> Response:
    """Channels, their settings (never a secret) and their last delivery state."""
    return json_response(ChannelList(channels=module_of(request, AlertsView).notifications()))


async def put_channel(request: Request) -> Response:
    """Add or replace a channel (`type` = webhook, telegram, discord or email)."""
    channel = parse_channel(decode_body(await request.body()))
    return json_response(await module_of(request, AlertsView).put_channel(channel))


async def delete_channel(request: Request) -> Response:
    """Remove a channel."""
    await module_of(request, AlertsView).delete_channel(request.path_params["name"])
    return Response(status_code=204)


async def test_channel(request: Request) -> Response:
    """Send a test message now (one attempt); 200 when delivered, 502 with the error if not."""
    delivery = await module_of(request, AlertsView).test_channel(request.path_params["name"])
    return json_response(delivery, status_code=200 if delivery.state == "sent" else 502)


async def get_rules(request: Request) -> Response:
    """Rule thresholds, the de-duplication window and the rules switched off."""
    return json_response(module_of(request, AlertsView).rules())


async def patch_rules(request: Request) -> Response:
    """Change some rule settings; fields left out keep their value."""
    change = convert(decode_body(await request.body()), RulesUpdate)
    return json_response(await module_of(request, AlertsView).update_rules(change))


routes: list[BaseRoute] = [
    ApiRoute("/alerts", list_alerts, query=AlertQuery, response=AlertPage),
    ApiRoute("/alerts/{alert_id}/ack", ack_alert, methods=["POST"], body=AckBody, response=Alert),
    ApiRoute("/notifications", list_channels, response=ChannelList),
    ApiRoute(
        "/notifications", put_channel, methods=["POST"], response=ChannelStatus, scope="admin"
    ),
    ApiRoute(
        "/notifications/{name}", delete_channel, methods=["DELETE"], status_code=204, scope="admin"
    ),
    ApiRoute("/notifications/{name}/test", test_channel, methods=["POST"], response=Delivery),
    ApiRoute("/rules", get_rules, response=RuleSettings),
    ApiRoute(
        "/rules",
        patch_rules,
        methods=["PATCH"],
        body=RulesUpdate,
        response=RuleSettings,
        scope="admin",
    ),
]
