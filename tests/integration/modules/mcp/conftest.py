"""The MCP server over real HTTP: the app on uvicorn (127.0.0.1, port 0) with auth on and
vault tokens of each scope, and the official SDK client sending one of them."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import make_config
from tests.fakes.bitget_ws import eventually
from tests.integration.modules.backtester.conftest import seed
from viper.app import ViperApp
from viper.modules.mcp.module import McpModule
from viper.modules.vault.module import VaultModule
from viper.server import bind

MODULES = ["api", "vault", "data", "backtester", "mcp"]


class QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers (the test runner owns the process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve(app: ViperApp) -> AsyncIterator[str]:
    """The app on 127.0.0.1, port 0; yields its base URL."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app.http, lifespan="off", log_config=None, access_log=False)
    server = QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Served:
    """A started app with auth on, served on a real port, and a token of each scope."""

    def __init__(self, app: ViperApp, url: str, tokens: dict[str, str]) -> None:
        self.app = app
        self.url = url
        self.mcp_url = f"{url}/mcp/"
        self.tokens = tokens

    @property
    def module(self) -> McpModule:
        module = self.app.modules["mcp"]
        assert isinstance(module, McpModule)
        return module


async def issue_tokens(app: ViperApp) -> dict[str, str]:
    vault = app.modules["vault"]
    assert isinstance(vault, VaultModule)
    return {
        scope: (await vault.service.issue_token(f"mcp-{scope}", [scope], None)).token
        for scope in ("read", "trade")
    }


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, modules: list[str]) -> AsyncIterator[Served]:
    config = make_config(
        tmp_path, modules={"enabled": modules}, backtester={"workers": 1}, auth={"enabled": True}
    )
    seed(Path(config.store.candles_dir), bars=6_000)
    app = ViperApp(config, console=io.StringIO())
    async with app.running(), serve(app) as url:
        yield Served(app, url, await issue_tokens(app))


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with serving(tmp_path, MODULES) as running:
        yield running


@contextlib.asynccontextmanager
async def mcp_client(url: str, token: str | None) -> AsyncIterator[Client]:
    """An MCP SDK client over streamable HTTP, sending `token` as a bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client
