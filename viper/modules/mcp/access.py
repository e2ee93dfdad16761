"""Who calls the MCP server, and what they may do: the same tokens and scopes as the REST API.

The auth middleware puts the caller into `scope["viper.auth"]` (a `Principal`; the `OPEN`
admin while `[auth] enabled` is false) and lets any token with `read` reach the endpoint;
each tool then asks for the scope it needs (read < trade < admin).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from viper.auth import OPEN, Principal, principal_of
from viper.config import Config
from viper.errors import ForbiddenError
from viper.protocols import TokenScope


def auth_enabled(config: Config) -> bool:
    """Whether callers must present a token (`[auth] enabled`)."""
    return config.auth.enabled


def caller_of(scope: Mapping[str, Any], auth_required: bool) -> Principal | None:
    """The caller of a request; None when there is none and auth is on (refuse it)."""
    principal = principal_of(scope)
    if principal is not None:
        return principal
    return None if auth_required else OPEN


def require(principal: Principal, scope: TokenScope, action: str) -> None:
    """ForbiddenError (naming the scope `needed`) unless the caller holds `scope`."""
    if not principal.allows(scope):
        held = ", ".join(principal.scopes) or "none"
        raise ForbiddenError(
            f"{action} needs the {scope!r} scope; token {principal.token_id or '-'} "
            f"({principal.name}) has {held}",
            needed=scope,
        )
