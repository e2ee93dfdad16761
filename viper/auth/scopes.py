"""Which scope a request needs: the matched route's own `scope`, else its method.

The middleware runs before the router, so it finds the route the way Starlette's router
will (first full match, through mounts), and reads the route's `scope` attribute
(`ApiRoute(..., scope="admin")`). `declare_scopes` lets the wiring set one on routes whose
module does not declare it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

from viper.auth.principal import scope_for_method
from viper.protocols import SCOPE_RANK, TokenScope

ALL_ROUTES = "*"


def find_route(routes: Sequence[BaseRoute], scope: Scope) -> BaseRoute | None:
    """The endpoint route (or app mount) the router will hand `scope` to, if any."""
    partial: BaseRoute | None = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            if isinstance(route, Mount) and route.routes:
                return find_route(route.routes, {**scope, **child})
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def required_scope(routes: Sequence[BaseRoute], scope: Scope) -> TokenScope:
    """The scope this request needs: what its route declares, else by method."""
    route = find_route(routes, scope)
    declared: TokenScope | None = getattr(route, "scope", None)
    return declared or scope_for_method(scope.get("method", "GET"))


def declare_scopes(routes: Sequence[BaseRoute], rules: Mapping[str, TokenScope]) -> list[BaseRoute]:
    """`routes` with a `scope` set by `rules` on copies (the module's own list is untouched).

    A rule's key is "*" (every route) or "METHOD /path" (the route with that path template
    that serves that method); the strongest of the rules and the route's own scope wins.
    """
    if not rules:
        return list(routes)
    declared: list[BaseRoute] = []
    for route in routes:
        path = getattr(route, "path", "")
        found = [rules.get(ALL_ROUTES), getattr(route, "scope", None)]
        found += [rules.get(f"{m} {path}") for m in getattr(route, "methods", None) or ()]
        wanted = [s for s in found if s is not None]
        if not wanted:
            declared.append(route)
            continue
        scoped = copy.copy(route)
        # A rule only ever raises what a route asks for.
        scoped.scope = max(wanted, key=SCOPE_RANK.__getitem__)  # type: ignore[attr-defined]
        declared.append(scoped)
    return declared
