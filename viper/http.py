"""HTTP helpers shared by every module: JSON in and out, errors as JSON, request context.

Handlers stay thin: `read_json(request, Body)` decodes into a Struct (400 when the body is
not JSON, 422 naming the field when it does not fit), the handler calls one function, and
`json_response` encodes the result.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Literal, TypeVar

import msgspec
from loguru import logger
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from viper.errors import BadRequestError, ValidationError, ViperError
from viper.metrics import HttpMetrics

T = TypeVar("T")
_ENCODER = msgspec.json.Encoder(decimal_format="string")
request_id_var: ContextVar[str] = ContextVar("request_id", default="")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
HTTP_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


def encode(value: Any) -> bytes:
    """JSON bytes of plain data or msgspec Structs (Decimals as strings)."""
    return _ENCODER.encode(value)


class JSONResponse(Response):
    """A JSON response encoded by msgspec."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encode(content)


def json_response(
    content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """Encode `content` as the JSON body of a response."""
    return JSONResponse(content, status_code=status_code, headers=headers)


def _field_of(message: str) -> str | None:
    _, sep, where = message.rpartition(" - at ")
    path = where.strip("`").removeprefix("$").lstrip(".") if sep else ""
    if message.startswith("Object missing required field"):
        missing = message.split("`")[1]
        return f"{path}.{missing}" if path else missing
    if message.startswith("Object contains unknown field"):
        unknown = message.split("`")[1]
        return f"{path}.{unknown}" if path else unknown
    return path or None


def decode_as(data: bytes | str, type_: type[T]) -> T:
    """Decode JSON into `type_`: BadRequestError if not JSON, ValidationError naming the field."""
    if not data:
        raise BadRequestError("the request body is empty; expected a JSON object")
    try:
        return msgspec.json.decode(data, type=type_)
    except msgspec.ValidationError as exc:
        text = str(exc)
        field = _field_of(text)
        detail = text.split(" - at ")[0]
        raise ValidationError(f"{field}: {detail}" if field else detail, field=field) from None
    except msgspec.DecodeError as exc:
        raise BadRequestError(f"the request body is not valid JSON: {exc}") from None


def convert_as(data: Any, type_: type[T]) -> T:
    """Validate already-decoded data (query parameters, say) into `type_`, naming the field."""
    try:
        return msgspec.convert(data, type_, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        field = _field_of(text)
        detail = text.split(" - at ")[0]
        raise ValidationError(f"{field}: {detail}" if field else detail, field=field) from None


async def read_json(request: Request, type_: type[T]) -> T:
    """The request body decoded into `type_`."""
    return decode_as(await request.body(), type_)


def query_as(request: Request, type_: type[T]) -> T:
    """The query string validated into `type_` (a Struct whose fields are the parameters)."""
    return convert_as(dict(request.query_params), type_)


def _body(code: str, detail: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "detail": detail}
    if extra:
        body.update(extra)
    rid = request_id_var.get()
    if rid:
        body["request_id"] = rid
    return body


async def viper_error_handler(request: Request, exc: Exception) -> Response:
    """ViperError -> its status and `{"error": code, "detail": ...}`."""
    assert isinstance(exc, ViperError)
    body = exc.to_dict()
    rid = request_id_var.get()
    if rid:
        body["request_id"] = rid
    return JSONResponse(body, status_code=exc.status)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's HTTPException (404, 405, ...) as JSON."""
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail
    if exc.status_code == 404:
        detail = f"no route for {request.method} {request.url.path}"
    elif exc.status_code == 405:
        detail = f"method {request.method} is not allowed on {request.url.path}"
    return JSONResponse(_body(code, str(detail)), status_code=exc.status_code, headers=exc.headers)


async def internal_error_handler(request: Request, exc: Exception) -> Response:
    """Anything unexpected: logged with its traceback, a 500 with no internals in the body."""
    logger.opt(exception=exc).error("unhandled error on {} {}", request.method, request.url.path)
    return JSONResponse(_body("internal", "internal error; see the server log"), status_code=500)


EXCEPTION_HANDLERS = {
    ViperError: viper_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}


def route_template(scope: Scope) -> str:
    """The matched route's path template, mount prefix included; 'unmatched' otherwise."""
    route = scope.get("route")
    if route is None:
        return "unmatched"
    app_root = scope.get("app_root_path", "")
    root = scope.get("root_path", "")[len(app_root) :]
    if isinstance(route, Mount):  # an app mount (static files): its root path says it all
        return f"{root}/{{path}}"
    return f"{root}{getattr(route, 'path', '')}" or "/"


class RequestContext:
    """Gives every request an `X-Request-ID`, binds it to logs, and counts it in metrics."""

    def __init__(
        self, app: ASGIApp, metrics: HttpMetrics | None = None, access_log: bool = False
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        rid = incoming if incoming and _SAFE_ID.match(incoming) else os.urandom(16).hex()
        token = request_id_var.set(rid)
        status = 500
        started = time.perf_counter()
        raw_id = rid.encode()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", raw_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            if self.metrics is not None:
                self.metrics.observe(scope["method"], route, status, elapsed)
            if self.access_log:
                logger.info(
                    "{} {} -> {} in {:.1f} ms",
                    scope["method"],
                    scope["path"],
                    status,
                    elapsed * 1000,
                )
            request_id_var.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class BindModule:
    """Puts the module that owns a mount into the scope, so its handlers can find it."""

    def __init__(self, app: ASGIApp, module: object) -> None:
        self.app = app
        self.module = module

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["viper.module"] = self.module
        await self.app(scope, receive, send)


def module_of(request: Request, cls: type[T]) -> T:
    """The module instance that serves this request."""
    module = request.scope.get("viper.module")
    if not isinstance(module, cls):
        raise RuntimeError(f"route is not mounted under a {cls.__name__}")
    return module


def first_line(text: str | None) -> str:
    """The first line of a docstring, or ''."""
    lines = (text or "").strip().splitlines()
    return lines[0].strip() if lines else ""


class ApiRoute(Route):
    """A Route that also declares its body, query and response types for /openapi.json, and
    the token scope it needs (`scope`; None: `read` for GET and HEAD, `trade` otherwise)."""

    def __init__(
        self,
        path: str,
        endpoint: Any,
        *,
        methods: Sequence[str] = ("GET",),
        summary: str = "",
        body: type | None = None,
        query: type | None = None,
        response: Any = None,
        status_code: int = 200,
        tags: Sequence[str] = (),
        scope: Literal["read", "trade", "admin"] | None = None,
    ) -> None:
        super().__init__(path, endpoint, methods=list(methods))
        self.scope = scope
        self.summary = summary or first_line(endpoint.__doc__)
        self.body = body
        self.query = query
        self.response = response
        self.status_code = status_code
        self.tags = tuple(tags)


class RootMount(Mount):
    """A mount at the root that claims a request only when one of its own routes matches.

    A plain `Mount("")` would match every path and turn another route's 405 into a 404.
    """

    def __init__(self, routes: Sequence[BaseRoute], middleware: Sequence[Any] = ()) -> None:
        super().__init__("", routes=list(routes), middleware=list(middleware))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.FULL:
            return match, child
        inner = {**scope, **child}
        best = Match.NONE
        for route in self.routes:
            found, _ = route.matches(inner)
            if found is Match.FULL:
                return Match.FULL, child
            if found is Match.PARTIAL:
                best = Match.PARTIAL
        return best, child if best is Match.PARTIAL else {}


def iter_routes(routes: Sequence[BaseRoute], prefix: str = "") -> list[tuple[str, BaseRoute]]:
    """Every endpoint route with its full path, through mounts."""
    found: list[tuple[str, BaseRoute]] = []
    for route in routes:
        if isinstance(route, Mount):
            found.extend(iter_routes(route.routes, prefix + route.path))
        else:
            found.append((prefix + getattr(route, "path", ""), route))
    return found
