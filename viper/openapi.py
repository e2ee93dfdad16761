"""`/openapi.json`: every route of the app, with schemas generated from the msgspec types."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec
from starlette.routing import BaseRoute, Route

from viper import __version__
from viper.http import ApiRoute, first_line, iter_routes

_PARAM = re.compile(r"{([^}:]+)(:[^}]+)?}")
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "stable error code"},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "the input field at fault, when one is"},
        "request_id": {"type": "string"},
    },
    "required": ["error", "detail"],
}


def _schema_hook(tp: type) -> dict[str, Any]:
    # Types without a JSON form (secrets, say) appear as opaque strings.
    return {"type": "string"}


def build_openapi(routes: Sequence[BaseRoute], title: str = "VIPER") -> dict[str, Any]:
    """An OpenAPI 3.1 document of every route in `routes` (mounts included)."""
    typed: list[Any] = []
    entries: list[tuple[str, Route]] = []
    for path, route in iter_routes(routes):
        if not isinstance(route, Route) or not route.include_in_schema:
            continue
        entries.append((path, route))
        if isinstance(route, ApiRoute):
            typed.extend(t for t in (route.body, route.query, route.response) if t is not None)
    schemas, components = msgspec.json.schema_components(
        typed, ref_template="#/components/schemas/{name}", schema_hook=_schema_hook
    )
    refs = dict(zip(map(id, typed), schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for path, route in entries:
        clean = _PARAM.sub(r"{\1}", path)
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            paths.setdefault(clean, {})[method.lower()] = _operation(path, route, refs)
    components["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__},
        "paths": paths,
        "components": {"schemas": components},
    }


def _operation(path: str, route: Route, refs: dict[int, Any]) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    op: dict[str, Any] = {"summary": first_line(getattr(route.endpoint, "__doc__", None))}
    op["tags"] = [path.strip("/").split("/")[0] or "root"]
    params = [
        {"name": m.group(1), "in": "path", "required": True, "schema": {"type": "string"}}
        for m in _PARAM.finditer(path)
    ]
    ok: dict[str, Any] = {"description": "OK"}
    status = "200"
    if isinstance(route, ApiRoute):
        op["summary"] = route.summary or op["summary"]
        if route.tags:
            op["tags"] = list(route.tags)
        status = str(route.status_code)
        if route.query is not None:
            params.extend(_query_params(route.query))
        if route.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[id(route.body)]}},
            }
        if route.response is not None:
            ok["content"] = {"application/json": {"schema": refs[id(route.response)]}}
    if params:
        op["parameters"] = params
    op["responses"] = {status: ok, "4XX": {"description": "Client error", **error}}
    op["responses"]["5XX"] = {"description": "Server error", **error}
    return op


def _query_params(struct: type) -> list[dict[str, Any]]:
    if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
        return []
    params = []
    for fld in msgspec.structs.fields(struct):
        schema = msgspec.json.schema(fld.type, schema_hook=_schema_hook)
        schema.pop("$defs", None)
        required = fld.default is msgspec.NODEFAULT and fld.default_factory is msgspec.NODEFAULT
        params.append(
            {"name": fld.encode_name, "in": "query", "required": required, "schema": schema}
        )
    return params
