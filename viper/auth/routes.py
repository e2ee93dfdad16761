"""Routes of authentication: dashboard sign-in and sign-out, who am I, and the audit log.

`POST /auth/login` is open (it is how a person without a session gets one); the others go
through the middleware like any route.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper.auth.audit import AuditPage, AuditQuery
from viper.auth.guard import Authenticator, client_of
from viper.auth.middleware import too_many
from viper.auth.principal import AUTH_KEY, Principal, require_scope
from viper.auth.sessions import COOKIE, Session
from viper.errors import AuthError
from viper.http import ApiRoute, json_response, query_as, read_json
from viper.protocols import TokenScope


class LoginBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An API token to open a dashboard session with."""

    token: str

    def __repr__(self) -> str:
        return "LoginBody(token='***')"


class Me(msgspec.Struct, frozen=True, kw_only=True):
    """The caller: its token (never the token itself), scopes, and for a dashboard session
    the CSRF token that requests changing something send as `X-CSRF-Token`."""

    token_id: str
    name: str
    scopes: list[TokenScope]
    via: str
    csrf_token: str | None = None
    session_expires_ms: int | None = None


class SignedOut(msgspec.Struct, frozen=True, kw_only=True):
    signed_out: bool = True


def _me(principal: Principal, session: Session | None) -> Me:
    return Me(
        token_id=principal.token_id,
        name=principal.name,
        scopes=list(principal.scopes),
        via=principal.via,
        csrf_token=session.csrf if session else None,
        session_expires_ms=session.expires_ms if session else None,
    )


class AuthEndpoints:
    """The handlers, bound to the process's Authenticator."""

    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth

    async def login(self, request: Request) -> Response:
        """Open a dashboard session with an API token: an HttpOnly, SameSite=Strict cookie."""
        address = client_of(request)
        if wait := self.auth.failures.retry_after(address):
            return too_many(wait)
        body = await read_json(request, LoginBody)
        try:
            principal = await self.auth.verify(body.token, via="session")
        except AuthError:
            self.auth.failures.failed(address)
            raise
        session = self.auth.sessions.open(body.token, principal)
        request.scope[AUTH_KEY] = principal  # the audit log names who signed in
        response = json_response(_me(principal, session))
        response.set_cookie(
            COOKIE,
            session.id,
            max_age=self.auth.sessions.lifetime_ms // 1000,
            path="/",
            secure=request.url.scheme in ("https", "wss"),
            httponly=True,
            samesite="strict",
        )
        return response

    async def logout(self, request: Request) -> Response:
        """End this dashboard session (a bearer token stays valid: revoke it in the vault)."""
        session_id = request.cookies.get(COOKIE)
        if session_id:
            self.auth.sessions.close(session_id)
        response = json_response(SignedOut())
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    async def me(self, request: Request) -> Response:
        """Who is calling: token id, name, scopes; for a session also its CSRF token."""
        principal = require_scope(request, "read")
        session = None
        if principal.via == "session":
            session = self.auth.sessions.get(request.cookies.get(COOKIE, ""))
        return json_response(_me(principal, session))

    async def audit(self, request: Request) -> Response:
        """The audit log of state-changing calls, newest first (admin)."""
        require_scope(request, "admin")
        return json_response(await self.auth.audit.page(query_as(request, AuditQuery)))


def auth_routes(auth: Authenticator) -> list[BaseRoute]:
    """The routes above, bound to `auth`, at their full paths."""
    endpoints = AuthEndpoints(auth)
    return [
        ApiRoute("/auth/login", endpoints.login, methods=["POST"], body=LoginBody, response=Me),
        ApiRoute(
            "/auth/logout", endpoints.logout, methods=["POST"], response=SignedOut, scope="read"
        ),
        ApiRoute("/auth/me", endpoints.me, response=Me),
        ApiRoute(
            "/api/audit", endpoints.audit, query=AuditQuery, response=AuditPage, scope="admin"
        ),
    ]
