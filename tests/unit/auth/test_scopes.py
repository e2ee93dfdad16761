"""Scopes: admin > trade > read; a route's declared scope, else its method; `require_scope`."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from viper.auth import (
    AUTH_KEY,
    OPEN,
    Principal,
    declare_scopes,
    find_route,
    require_scope,
    required_scope,
)
from viper.errors import AuthError, ForbiddenError
from viper.http import ApiRoute


async def endpoint(request: Request) -> Response:
    return Response("")


def who(*scopes: str) -> Principal:
    return Principal(token_id="t1", name="ops", scopes=scopes, via="bearer")  # type: ignore[arg-type]


def http(method: str, path: str) -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "root_path": ""}


def test_each_scope_includes_the_weaker_ones() -> None:
    assert who("admin").allows("trade") and who("admin").allows("read")
    assert who("trade").allows("read") and not who("trade").allows("admin")
    assert not who("read").allows("trade")
    assert not who().allows("read")
    assert OPEN.allows("admin")


def test_require_scope_says_401_without_a_caller_and_403_without_the_scope() -> None:
    with pytest.raises(AuthError) as missing:
        require_scope({}, "read")
    assert missing.value.status == 401 and missing.value.extra["reason"] == "missing"
    with pytest.raises(ForbiddenError) as forbidden:
        require_scope({AUTH_KEY: who("read")}, "trade")
    assert forbidden.value.status == 403 and forbidden.value.extra["needed"] == "trade"
    request = Request({"type": "http", AUTH_KEY: who("trade")})
    assert require_scope(request, "trade").name == "ops"


def test_a_route_without_a_declared_scope_needs_read_to_read_and_trade_to_change() -> None:
    routes = [Route("/x", endpoint, methods=["GET", "POST", "DELETE"])]
    assert required_scope(routes, http("GET", "/x")) == "read"
    assert required_scope(routes, http("HEAD", "/x")) == "read"
    assert required_scope(routes, http("POST", "/x")) == "trade"
    assert required_scope(routes, http("DELETE", "/x")) == "trade"


def test_a_declared_scope_wins_through_mounts() -> None:
    inner = [
        ApiRoute("/limits", endpoint),
        ApiRoute("/limits", endpoint, methods=["PUT"], scope="admin"),
        ApiRoute("/secret", endpoint, scope="admin"),
    ]
    routes = [Mount("/risk", routes=inner)]
    assert required_scope(routes, http("GET", "/risk/limits")) == "read"
    assert required_scope(routes, http("PUT", "/risk/limits")) == "admin"
    assert required_scope(routes, http("GET", "/risk/secret")) == "admin"
    assert find_route(routes, http("GET", "/risk/nothing")) is None


def test_declare_scopes_copies_and_never_weakens() -> None:
    routes = [
        Route("/a", endpoint),
        Route("/b", endpoint, methods=["PUT"]),
        ApiRoute("/c", endpoint, scope="admin"),
    ]
    one = declare_scopes(routes, {"PUT /b": "admin"})
    assert getattr(one[0], "scope", None) is None and one[1].scope == "admin"  # type: ignore[attr-defined]
    assert not hasattr(routes[1], "scope")  # the module's own list is untouched
    every = declare_scopes(routes, {"*": "read"})
    assert [r.scope for r in every] == ["read", "read", "admin"]  # type: ignore[attr-defined]
    assert declare_scopes(routes, {}) == routes
