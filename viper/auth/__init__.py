"""Authentication: vault API tokens with scopes (read < trade < admin), dashboard sessions,
failure throttling and the audit log.

Handlers and the MCP server read the caller from `scope["viper.auth"]` (a `Principal`, or
None on an open path) and check it with `require_scope(request_or_scope, "trade")`.
"""

from viper.auth.audit import AuditEntry, AuditLog, AuditPage, AuditQuery
from viper.auth.first_token import FIRST_TOKEN_NAME, TokenBootstrap, show_first_token
from viper.auth.guard import ALWAYS_OPEN, Authenticator
from viper.auth.middleware import Authenticate
from viper.auth.principal import (
    AUTH_KEY,
    OPEN,
    Principal,
    principal_of,
    require_scope,
    scope_for_method,
)
from viper.auth.routes import auth_routes
from viper.auth.scopes import declare_scopes, find_route, required_scope
from viper.auth.sessions import COOKIE, CSRF_HEADER

__all__ = [
    "ALWAYS_OPEN",
    "AUTH_KEY",
    "COOKIE",
    "CSRF_HEADER",
    "FIRST_TOKEN_NAME",
    "OPEN",
    "AuditEntry",
    "AuditLog",
    "AuditPage",
    "AuditQuery",
    "Authenticate",
    "Authenticator",
    "Principal",
    "TokenBootstrap",
    "auth_routes",
    "declare_scopes",
    "find_route",
    "principal_of",
    "require_scope",
    "required_scope",
    "scope_for_method",
    "show_first_token",
]
