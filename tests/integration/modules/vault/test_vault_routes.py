"""The vault over HTTP: credentials and tokens, 422 naming the field, 404, and never a value."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_config
from viper.app import ViperApp
from viper.errors import AuthError
from viper.protocols import SecretStore, TokenVerifier

VALUE = "sk_live_Zq81xW0pT4mN7vB2"
NEW_VALUE = "sk_live_Hh55kR3sL9jD0cQ1"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    config = make_config(
        tmp_path, modules={"enabled": ["api", "vault"]}, vault={"key_file": str(tmp_path / "k")}
    )
    viper = ViperApp(config)
    async with viper.running():
        yield viper


@pytest.fixture
async def http(app: ViperApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://viper") as client:
        yield client


async def test_credentials_lifecycle_never_shows_a_value(
    app: ViperApp, http: httpx.AsyncClient
) -> None:
    body = {"name": "bitget.api_key", "value": VALUE, "kind": "exchange", "description": "main"}
    responses = [
        created := await http.post("/vault/credentials", json=body),
        again := await http.post(
            "/vault/credentials", json={"name": "bitget.api_key", "value": VALUE}
        ),
        listed := await http.get("/vault/credentials"),
        rotated := await http.post(
            "/vault/credentials/bitget.api_key/rotate", json={"value": NEW_VALUE}
        ),
        await http.get("/vault/health"),
        await http.get("/openapi.json"),
    ]
    assert created.status_code == 201 and created.json()["version"] == 1
    assert again.status_code == 200 and again.json()["version"] == 2
    assert again.json()["kind"] == "exchange" and again.json()["description"] == "main"
    assert (
        listed.json()["count"] == 1 and listed.json()["credentials"][0]["name"] == "bitget.api_key"
    )
    assert rotated.status_code == 200 and rotated.json()["version"] == 3
    assert await app.services.get(SecretStore).get("bitget.api_key") == NEW_VALUE
    deleted = await http.delete("/vault/credentials/bitget.api_key")
    assert deleted.json() == {"name": "bitget.api_key", "version": 3, "deleted": True}
    gone = await http.get("/vault/credentials")
    for response in [*responses, deleted, gone]:
        assert VALUE not in response.text and NEW_VALUE not in response.text
    assert gone.json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "bad name!", "value": VALUE}, "name"),
        ({"value": VALUE}, "name"),
        ({"name": "ok"}, "value"),
        ({"name": "ok", "value": ""}, "value"),
        ({"name": "ok", "value": "   "}, "value"),
        ({"name": "ok", "value": 12345678}, "value"),
        ({"name": "ok", "value": VALUE, "kind": "Not A Kind"}, "kind"),
        ({"name": "ok", "value": VALUE, "description": "d" * 201}, "description"),
        ({"name": "ok", "value": VALUE, "extra": VALUE}, "extra"),
    ],
)
async def test_bad_credentials_are_422_naming_the_field_without_the_value(
    http: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await http.post("/vault/credentials", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert VALUE not in response.text


async def test_unreadable_json_with_a_value_inside_is_400_without_it(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/vault/credentials", content=f'{{"name": "x", "value": "{VALUE}"'.encode()
    )
    assert response.status_code == 400 and VALUE not in response.text


async def test_unknown_names_are_404_and_bad_names_422(http: httpx.AsyncClient) -> None:
    rotate = await http.post("/vault/credentials/nope/rotate", json={"value": VALUE})
    delete = await http.delete("/vault/credentials/nope")
    bad = await http.delete("/vault/credentials/..bad")
    assert rotate.status_code == 404 and delete.status_code == 404
    assert bad.status_code == 422 and bad.json()["field"] == "name"
    assert VALUE not in rotate.text


async def test_tokens_are_shown_once_listed_without_secret_and_revocable(
    app: ViperApp, http: httpx.AsyncClient
) -> None:
    issued = await http.post(
        "/vault/tokens", json={"name": "grafana", "scopes": ["read"], "expires_in_days": 30}
    )
    assert issued.status_code == 201
    token = issued.json()["token"]
    token_id = issued.json()["id"]
    assert token.startswith("vpr_") and issued.json()["expires_ms"] is not None
    verifier = app.services.get(TokenVerifier)
    assert (await verifier.verify(token)).name == "grafana"
    listed = await http.get("/vault/tokens")
    health = await http.get("/vault/health")
    revoked = await http.delete(f"/vault/tokens/{token_id}")
    after = await http.get("/vault/tokens")
    for response in (listed, health, revoked, after):
        assert token not in response.text
    assert listed.json()["tokens"][0]["id"] == token_id
    assert health.json()["health"]["checks"]["tokens"] == 1
    assert revoked.status_code == 200 and revoked.json()["revoked_ms"] is not None
    with pytest.raises(AuthError) as info:
        await verifier.verify(token)
    assert info.value.extra["reason"] == "revoked"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": ["read"]}, "name"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["root"]}, "scopes[0]"),
        ({"name": "x", "scopes": ["read"], "expires_in_days": 0}, "expires_in_days"),
    ],
)
async def test_bad_token_requests_are_422_naming_the_field(
    http: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await http.post("/vault/tokens", json=body)
    assert response.status_code == 422 and response.json()["field"] == field


async def test_revoking_an_unknown_token_is_404(http: httpx.AsyncClient) -> None:
    assert (await http.delete("/vault/tokens/feedfacecafebeef")).status_code == 404


async def test_health_counts_secrets_and_tokens_and_names_the_key_source(
    http: httpx.AsyncClient,
) -> None:
    await http.post("/vault/credentials", json={"name": "a", "value": VALUE})
    await http.post("/vault/credentials", json={"name": "b", "value": NEW_VALUE})
    health = (await http.get("/vault/health")).json()["health"]
    assert health["status"] == "ok"
    assert health["checks"] == {"secrets": 2, "tokens": 0, "key_source": "file"}
