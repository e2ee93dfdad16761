"""The logger module in a started app, over ASGI and (for SSE) over real HTTP with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from loguru import logger

from tests.conftest import make_config
from tests.fakes.bitget_ws import eventually
from viper.app import ViperApp
from viper.config import LoggingConfig
from viper.logs import Redactor, setup_logging
from viper.modules.logger.module import LoggerModule
from viper.server import bind


class QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers (the test runner owns the process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.contextmanager
def logging_to(file: Path, redactor: Redactor) -> Iterator[None]:
    """The process's logging as the CLI sets it up (JSON file, redactor); undone after."""
    setup_logging(LoggingConfig(file=str(file), console=False, level="DEBUG"), redactor)
    try:
        yield
    finally:
        logger.complete()
        logger.remove()
        logger.configure(patcher=lambda record: None)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    config = make_config(tmp_path, modules={"enabled": ["logger"]}, logger={"level": "DEBUG"})
    viper = ViperApp(config)
    async with viper.running():
        yield viper


def logger_module(app: ViperApp) -> LoggerModule:
    found = app.modules["logger"]
    assert isinstance(found, LoggerModule)
    return found


@pytest.fixture
async def client(app: ViperApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://viper") as http:
        yield http


@contextlib.asynccontextmanager
async def serve(app: ViperApp) -> AsyncIterator[str]:
    """The app on a real port; yields its base URL."""
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
