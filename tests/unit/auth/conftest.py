"""An app with authentication on, tokens of each scope, and clients that carry them."""

from __future__ import annotations

import io
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp

from tests.conftest import make_config
from viper.app import ViperApp
from viper.modules.vault.service import VaultService
from viper.vault.models import IssuedToken

_names = itertools.count(1)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    """Every module, auth on; the first admin token goes to `app.console`."""
    viper = ViperApp(make_config(tmp_path, auth={"enabled": True}), console=io.StringIO())
    async with viper.running():
        yield viper


def vault_of(app: ViperApp) -> VaultService:
    service: VaultService = app.modules["vault"].service  # type: ignore[attr-defined]
    return service


async def issue(app: ViperApp, *scopes: str, days: int | None = None) -> IssuedToken:
    """A fresh token with `scopes`."""
    return await vault_of(app).issue_token(f"test-{next(_names)}", list(scopes), days)


def client(
    target: ViperApp | ASGIApp, token: str | None = None, address: str = "127.0.0.1"
) -> httpx.AsyncClient:
    """A client of the main app (or any ASGI app), sending `token` as a bearer token."""
    asgi = target.http if isinstance(target, ViperApp) else target
    transport = httpx.ASGITransport(app=asgi, client=(address, 50000))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=transport, base_url="http://viper", headers=headers)


@pytest.fixture
async def read_token(app: ViperApp) -> str:
    return (await issue(app, "read")).token


@pytest.fixture
async def trade_token(app: ViperApp) -> str:
    return (await issue(app, "trade")).token


@pytest.fixture
async def admin_token(app: ViperApp) -> str:
    return (await issue(app, "admin")).token
