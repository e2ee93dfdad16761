"""The auth middleware: who is calling, may they do this, and the audit trail of changes.

Runs inside `RequestContext` (so refusals carry a request id and are counted) and before the
router. Refusals: 401 `{"error": "unauthorized", "reason": missing | malformed | unknown |
revoked | expired}` with `WWW-Authenticate: Bearer`; 403 naming the `needed` scope, or
`reason: csrf` for a cookie request without its CSRF header; 429 with `Retry-After` after
too many failed token checks from one address. A token is never echoed.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from viper.auth.guard import Authenticator, client_of
from viper.auth.principal import AUTH_KEY, MISSING, OPEN, SAFE_METHODS, Principal
from viper.auth.scopes import required_scope
from viper.auth.sessions import COOKIE, CSRF_HEADER, Session
from viper.errors import AuthError, ForbiddenError, ViperError
from viper.http import JSONResponse, request_id_var

POLICY_VIOLATION = 1008  # the WebSocket close code for a refused connection


def refusal(exc: ViperError, *, clear_cookie: bool = False) -> Response:
    """The JSON answer to a refused request, with the headers RFC 6750 asks for."""
    body = exc.to_dict()
    if rid := request_id_var.get():
        body["request_id"] = rid
    headers: dict[str, str] = {}
    if isinstance(exc, ForbiddenError) and "needed" in exc.extra:
        headers["WWW-Authenticate"] = (
            f'Bearer error="insufficient_scope", scope="{exc.extra["needed"]}"'
        )
    elif isinstance(exc, AuthError) and not isinstance(exc, ForbiddenError):
        missing = exc.extra.get("reason") == "missing"
        headers["WWW-Authenticate"] = "Bearer" if missing else 'Bearer error="invalid_token"'
    response = JSONResponse(body, status_code=exc.status, headers=headers)
    if clear_cookie:  # the browser stops sending a session that no longer holds
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def too_many(retry_after: int) -> Response:
    """429: this address failed too often; try again after `retry_after` seconds."""
    body: dict[str, object] = {
        "error": "too_many_requests",
        "detail": f"too many failed token checks from this address; retry in {retry_after} s",
        "retry_after": retry_after,
    }
    if rid := request_id_var.get():
        body["request_id"] = rid
    return JSONResponse(body, status_code=429, headers={"Retry-After": str(retry_after)})


class Authenticate:
    """Puts the caller into `scope["viper.auth"]` and refuses what its token may not do."""

    def __init__(self, app: ASGIApp, auth: Authenticator, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.auth = auth
        self.routes = list(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
        elif scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            await self._audited(scope, receive, send)
        else:
            await self._guarded(scope, receive, send)

    async def _audited(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._guarded(scope, receive, send_with_status)
        finally:
            conn = HTTPConnection(scope)
            await self.auth.record(conn, scope.get(AUTH_KEY), status)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = await self._check(scope)
        if refused is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": POLICY_VIOLATION})
        else:
            await refused(scope, receive, send)

    async def _check(self, scope: Scope) -> Response | None:
        """None when the request may go on (the caller is in the scope), else the refusal."""
        if not self.auth.enabled:
            scope[AUTH_KEY] = OPEN
            return None
        scope[AUTH_KEY] = None
        if self.auth.is_open(scope["path"]):
            return None
        conn = HTTPConnection(scope)
        has_cookie = COOKIE in conn.cookies
        if "authorization" not in conn.headers and not has_cookie:
            return refusal(AuthError(MISSING, reason="missing"))
        address = client_of(conn)
        if wait := self.auth.failures.retry_after(address):
            return too_many(wait)
        try:
            found = await self.auth.identify(conn)
        except AuthError as exc:
            self.auth.failures.failed(address)
            return refusal(exc, clear_cookie=has_cookie and "authorization" not in conn.headers)
        except ViperError as exc:  # the vault is not up: not the caller's fault
            return refusal(exc)
        if found is None:  # an empty cookie
            return refusal(AuthError(MISSING, reason="missing"))
        principal, session = found
        scope[AUTH_KEY] = principal
        return self._authorize(scope, conn, principal, session)

    def _authorize(
        self, scope: Scope, conn: HTTPConnection, principal: Principal, session: Session | None
    ) -> Response | None:
        needed = required_scope(self.routes, scope)
        if not principal.allows(needed):
            detail = (
                f"this needs the {needed!r} scope; token {principal.token_id} "
                f"({principal.name}) has {', '.join(principal.scopes)}"
            )
            return refusal(ForbiddenError(detail, needed=needed))
        changes = scope.get("method", "GET") not in SAFE_METHODS
        if session and changes and not session.csrf_matches(conn.headers.get(CSRF_HEADER)):
            detail = "a signed-in request that changes something needs its X-CSRF-Token header"
            return refusal(ForbiddenError(detail, reason="csrf"))
        return None
