"""An HTTP server on 127.0.0.1, port 0, that records every request and answers as told.

Stands in for a webhook endpoint, the Telegram Bot API and a Discord webhook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Received:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """`async with Receiver() as r:` then point a channel at `r.url(...)`."""

    status: int = 200
    reply: Any = field(default_factory=lambda: {"ok": True})
    fail_first: int = 0  # answer 503 to this many requests first
    requests: list[Received] = field(default_factory=list)
    _server: TestServer | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(Received(request.method, request.path_qs, dict(request.headers), body))
        if self.fail_first:
            self.fail_first -= 1
            return web.json_response({"ok": False, "description": "busy"}, status=503)
        if self.status == 204:
            return web.Response(status=204)
        return web.json_response(self.reply, status=self.status)

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            await self._server.close()

    def url(self, path: str = "/") -> str:
        assert self._server is not None
        return str(self._server.make_url(path))
