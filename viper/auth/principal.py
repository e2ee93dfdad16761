"""Who is calling: the `Principal` the auth middleware puts into the ASGI scope, and the checks
handlers (and the MCP server) run against it.

`scope["viper.auth"]` holds a Principal on every request that passed authentication, the
`OPEN` principal (admin) while `[auth] enabled` is false, and None on an open path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec
from starlette.requests import HTTPConnection

from viper.errors import AuthError, ForbiddenError
from viper.protocols import SCOPE_RANK, TokenInfo, TokenScope

AUTH_KEY = "viper.auth"
# Methods that only read: they need `read`; every other method needs `trade` unless declared.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Via = Literal["bearer", "session", "open"]
MISSING = "this needs an API token: send 'Authorization: Bearer <token>', or sign in"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """An authenticated caller: the vault token behind the request and how it was presented.

    `via` is "bearer" (an `Authorization: Bearer` header), "session" (the dashboard cookie)
    or "open" (authentication is switched off: everyone is admin, `token_id` is empty).
    """

    token_id: str
    name: str
    scopes: tuple[TokenScope, ...]
    via: Via

    def allows(self, scope: TokenScope) -> bool:
        """True when one of the scopes includes `scope` (admin > trade > read)."""
        return max((SCOPE_RANK[s] for s in self.scopes), default=0) >= SCOPE_RANK[scope]

    @classmethod
    def of(cls, info: TokenInfo, via: Via) -> Principal:
        """The principal of a verified token."""
        return cls(token_id=info.id, name=info.name, scopes=tuple(info.scopes), via=via)


OPEN = Principal(token_id="", name="anonymous", scopes=("admin",), via="open")
ACTOR_HEADER = "x-actor"


def scope_for_method(method: str) -> TokenScope:
    """What a route that declares no scope needs: `read` to read, `trade` to change anything."""
    return "read" if method.upper() in SAFE_METHODS else "trade"


def principal_of(source: HTTPConnection | Mapping[str, Any]) -> Principal | None:
    """The caller of a request (a Request or an ASGI scope), or None when unauthenticated."""
    scope = source.scope if isinstance(source, HTTPConnection) else source
    found = scope.get(AUTH_KEY)
    return found if isinstance(found, Principal) else None


def require_scope(source: HTTPConnection | Mapping[str, Any], scope: TokenScope) -> Principal:
    """The caller, when allowed `scope`; AuthError (401) without one, ForbiddenError (403) else."""
    principal = principal_of(source)
    if principal is None:
        raise AuthError(MISSING, reason="missing")
    if not principal.allows(scope):
        raise ForbiddenError(
            f"this needs the {scope!r} scope; token {principal.token_id} has "
            f"{', '.join(principal.scopes) or 'none'}",
            needed=scope,
        )
    return principal


def actor_of(request: HTTPConnection) -> str:
    """Who asks, for the audit records of changes: the token behind the request, as
    "name (token id)", followed by "for <X-Actor>" when the caller names someone else (a bot
    acting for a person). With authentication off, the `X-Actor` header, else "api"."""
    claimed = request.headers.get(ACTOR_HEADER, "").strip()[:100]
    principal = principal_of(request)
    if principal is None or principal.via == "open":
        return claimed or "api"
    who = f"{principal.name} ({principal.token_id})"
    return f"{who} for {claimed}" if claimed and claimed != principal.name else who
