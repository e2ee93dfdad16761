"""The auth gate on the real app: every route needs a token of the right scope, except the
open paths; refusals say why (never echoing the token); legacy ports are guarded alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import viper.web
from tests.conftest import make_config
from tests.unit.auth.conftest import client, issue, vault_of
from viper.app import ViperApp
from viper.auth import principal_of, required_scope
from viper.auth.principal import SAFE_METHODS
from viper.config import Config
from viper.errors import ConfigError
from viper.http import iter_routes, json_response
from viper.modules.registry import LEGACY_PORTS


def calls(app: ViperApp, *, changing: bool | None = None) -> list[tuple[str, str]]:
    """(method, path) of every protected route of the app, path parameters filled in."""
    found = []
    for template, route in iter_routes(app.http.routes):
        path = re.sub(r"\{[^}]+\}", "x1", template)
        if app.auth.is_open(path):
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if changing is None or changing == (method not in SAFE_METHODS):
                found.append((method, path))
    return found


async def test_without_a_token_every_protected_route_answers_401_missing(app: ViperApp) -> None:
    every = calls(app)
    assert len(every) > 80
    for must in ("/api/portfolio", "/openapi.json", "/vault/tokens", "/auth/me", "/api/audit"):
        assert ("GET", must) in every, must
    wrong = []
    async with client(app) as http:
        for method, path in every:
            response = await http.request(method, path)
            body = response.json() if method != "HEAD" else {"reason": "missing"}
            if response.status_code != 401 or body.get("reason") != "missing":
                wrong.append((method, path, response.status_code))
            elif response.headers["www-authenticate"] != "Bearer":
                wrong.append((method, path, "no WWW-Authenticate"))
    assert wrong == []


async def test_a_401_names_the_error_and_how_to_send_a_token(app: ViperApp) -> None:
    async with client(app) as http:
        response = await http.get("/api/portfolio")
    body = response.json()
    assert body["error"] == "unauthorized" and body["reason"] == "missing"
    assert "Bearer" in body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]


def a_static_file() -> str:
    """The name of one file the dashboard serves under /static/."""
    folder = Path(viper.web.__file__).parent / "static"
    return next(p.name for p in sorted(folder.iterdir()) if p.is_file())


async def test_open_paths_answer_without_a_token(app: ViperApp) -> None:
    async with client(app) as http:
        assert (await http.get("/health")).status_code == 200
        assert (await http.get("/metrics")).status_code == 200
        page = await http.get("/")
        assert page.status_code == 200 and "html" in page.headers["content-type"]
        assert (await http.get(f"/static/{a_static_file()}")).status_code == 200
        login = await http.post("/auth/login", json={"token": "nope"})
        assert login.status_code == 401 and login.json()["reason"] == "malformed"


async def test_open_paths_come_from_the_config(tmp_path: Path) -> None:
    config = make_config(tmp_path, auth={"enabled": True, "open_paths": ["/api/health"]})
    app = ViperApp(config)
    assert app.auth.is_open("/api/health") and app.auth.is_open("/static/app.js")
    assert not app.auth.is_open("/health") and not app.auth.is_open("/metrics")


async def test_a_read_token_reads_but_every_change_answers_403(
    app: ViperApp, read_token: str
) -> None:
    async with client(app, read_token) as http:
        assert (await http.get("/api/portfolio")).status_code == 200
        assert (await http.get("/openapi.json")).status_code == 200
        assert (await http.get("/auth/me")).json()["scopes"] == ["read"]
        wrong, declared_read = [], set()
        for method, path in calls(app, changing=True):
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            if required_scope(app.http.routes, scope) == "read":
                declared_read.add(path)
                continue
            response = await http.request(method, path, json={})
            needed = response.json().get("needed")
            if response.status_code != 403 or needed not in ("trade", "admin"):
                wrong.append((method, path, response.status_code))
    assert wrong == []
    # Only these change something with `read`: one's own sign-out, and the MCP endpoint,
    # whose tools check their own scopes.
    assert declared_read <= {"/auth/logout", "/mcp/"}


async def test_a_403_names_the_needed_scope(app: ViperApp, read_token: str) -> None:
    async with client(app, read_token) as http:
        response = await http.post("/risk/kill-switch/trip", json={"reason": "test"})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden" and response.json()["needed"] == "trade"
    assert "'trade'" in response.json()["detail"]
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="trade"'
    )


async def test_a_trade_token_trades(app: ViperApp, trade_token: str) -> None:
    async with client(app, trade_token) as http:
        trip = await http.post("/risk/kill-switch/trip", json={"reason": "auth test"})
        assert trip.status_code == 200, trip.text
        resume = await http.post("/risk/kill-switch/resume", json={"reason": "auth test"})
        assert resume.status_code == 200, resume.text
        cancel = await http.delete("/backtester/backtest/nope")
        assert cancel.status_code == 404  # past the gate: the job does not exist
        order = await http.post("/live/orders", json={"symbol": "BTC/USDT:USDT"})
        assert order.status_code == 422  # past the gate: the body lacks its side
        assert (await http.get("/api/positions")).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/vault/tokens", None),
        ("GET", "/vault/credentials", None),
        ("GET", "/vault/health", None),
        ("POST", "/vault/tokens", {"name": "x", "scopes": ["read"]}),
        ("PUT", "/risk/limits", {}),
        ("PATCH", "/alerts/rules", {}),
        ("GET", "/api/audit", None),
    ],
)
async def test_admin_routes_refuse_a_trade_token_and_serve_an_admin(
    app: ViperApp, trade_token: str, admin_token: str, method: str, path: str, body: object
) -> None:
    async with client(app, trade_token) as http:
        refused = await http.request(method, path, json=body)
    assert refused.status_code == 403 and refused.json()["needed"] == "admin"
    async with client(app, admin_token) as http:
        served = await http.request(method, path, json=body)
    assert served.status_code not in (401, 403), served.text


async def test_bad_tokens_answer_401_with_their_reason_and_never_echo_it(
    app: ViperApp, admin_token: str
) -> None:
    revoked = await issue(app, "admin")
    await vault_of(app).revoke_token(revoked.id)
    expired = await issue(app, "admin", days=1)
    await app.store.execute("UPDATE vault_tokens SET expires_ms = 1 WHERE id = ?", (expired.id,))
    cases = {
        "malformed": "Bearer not-a-token",
        "unknown": "Bearer vpr_" + "A" * 43,
        "revoked": f"Bearer {revoked.token}",
        "expired": f"Bearer {expired.token}",
    }
    async with client(app) as http:
        for reason, header in cases.items():
            response = await http.get("/api/portfolio", headers={"Authorization": header})
            assert response.status_code == 401, reason
            assert response.json()["reason"] == reason
            assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
            assert header.split()[1] not in response.text
        basic = await http.get("/api/portfolio", headers={"Authorization": "Basic dXNlcg=="})
        assert basic.status_code == 401 and basic.json()["reason"] == "malformed"
    async with client(app, admin_token) as http:
        assert (await http.get("/api/portfolio")).status_code == 200


async def test_legacy_apps_are_guarded_the_same_way(
    app: ViperApp, read_token: str, trade_token: str, admin_token: str
) -> None:
    legacy = app.legacy_apps()
    vault = legacy[LEGACY_PORTS["vault"]]
    risk = legacy[LEGACY_PORTS["risk"]]
    async with client(vault) as http:
        assert (await http.get("/tokens")).status_code == 401
    async with client(vault, trade_token) as http:
        assert (await http.get("/tokens")).json()["needed"] == "admin"
    async with client(vault, admin_token) as http:
        assert (await http.get("/tokens")).status_code == 200
    async with client(risk, read_token) as http:
        assert (await http.get("/limits")).status_code == 200
        assert (await http.put("/limits", json={})).status_code == 403
    async with client(risk, trade_token) as http:
        assert (await http.put("/limits", json={})).json()["needed"] == "admin"


async def whoami(request: Request) -> Response:
    principal = principal_of(request)
    return json_response(principal)


async def test_handlers_find_the_caller_in_the_scope(app: ViperApp, trade_token: str) -> None:
    extra = app.build_http([Route("/whoami", whoami)], lifespan=False)
    async with client(extra, trade_token) as http:
        body = (await http.get("/whoami")).json()
    assert body["scopes"] == ["trade"] and body["via"] == "bearer"
    assert body["name"].startswith("test-") and len(body["token_id"]) == 16


async def test_with_auth_off_every_caller_is_the_open_admin(tmp_path: Path) -> None:
    app = ViperApp(make_config(tmp_path, modules={"enabled": ["api"]}))
    extra = app.build_http([Route("/whoami", whoami)], lifespan=False)
    async with client(extra) as http:
        body = (await http.get("/whoami")).json()
    assert body == {"token_id": "", "name": "anonymous", "scopes": ["admin"], "via": "open"}


async def test_auth_without_the_vault_module_is_a_config_error(tmp_path: Path) -> None:
    config = make_config(tmp_path, auth={"enabled": True}, modules={"enabled": ["api"]})
    with pytest.raises(ConfigError, match=r"auth\.enabled needs the vault module"):
        ViperApp(config)


def test_auth_is_on_and_the_server_binds_loopback_by_default() -> None:
    config = Config()
    assert config.auth.enabled is True
    assert config.server.host == "127.0.0.1"
    assert config.auth.open_paths == ["/health", "/metrics"]


async def test_the_scope_a_request_needs_follows_its_route(app: ViperApp) -> None:
    def needed(method: str, path: str) -> str:
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        return required_scope(app.http.routes, scope)

    assert needed("GET", "/api/portfolio") == "read"
    assert needed("POST", "/live/orders") == "trade"
    assert needed("DELETE", "/vault/credentials/x") == "admin"
    assert needed("GET", "/risk/limits") == "read"
    assert needed("PUT", "/risk/limits") == "admin"
    assert needed("GET", "/no/such/route") == "read"


async def test_a_session_cookie_with_a_bearer_header_uses_the_header(
    app: ViperApp, read_token: str, trade_token: str
) -> None:
    async with client(app) as http:
        login = await http.post("/auth/login", json={"token": read_token})
        session = login.cookies["viper_session"]
        response = await http.post(
            "/risk/kill-switch/resume",
            json={"reason": "x"},
            headers={
                "Authorization": f"Bearer {trade_token}",
                "Cookie": f"viper_session={session}",
            },
        )
    assert response.status_code == 200  # bearer: trade scope, no CSRF token needed
