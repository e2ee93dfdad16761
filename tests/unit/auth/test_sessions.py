"""Dashboard sessions: sign-in sets a safe cookie, changes need the CSRF token, sign-out and
revocation end the session, and sessions expire."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.auth.conftest import client, issue, vault_of
from viper.app import ViperApp
from viper.auth.principal import Principal
from viper.auth.sessions import SessionStore
from viper.clock import TestClock
from viper.errors import AuthError

TRIP = "/risk/kill-switch/trip"


async def login(http: httpx.AsyncClient, token: str) -> tuple[dict[str, str], str]:
    """Sign in; returns the Cookie header to send and the CSRF token."""
    response = await http.post("/auth/login", json={"token": token})
    assert response.status_code == 200, response.text
    return {"Cookie": f"viper_session={response.cookies['viper_session']}"}, response.json()[
        "csrf_token"
    ]


async def test_login_sets_an_httponly_samesite_strict_cookie(
    app: ViperApp, trade_token: str
) -> None:
    async with client(app) as http:
        response = await http.post("/auth/login", json={"token": trade_token})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("viper_session=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "samesite=strict" in cookie.lower() and "path=/" in cookie.lower()
    assert "secure" not in attributes  # plain http: a Secure cookie would never come back
    body = response.json()
    assert body["scopes"] == ["trade"] and body["via"] == "session"
    assert len(body["csrf_token"]) >= 32
    session_id = response.cookies["viper_session"]
    assert trade_token not in response.text and trade_token not in session_id


async def test_login_over_https_marks_the_cookie_secure(app: ViperApp, read_token: str) -> None:
    transport = httpx.ASGITransport(app=app.http)
    async with httpx.AsyncClient(transport=transport, base_url="https://viper") as http:
        response = await http.post("/auth/login", json={"token": read_token})
    assert "secure" in response.headers["set-cookie"].lower()


async def test_a_cookie_reads_and_me_returns_the_same_csrf_token(
    app: ViperApp, read_token: str
) -> None:
    async with client(app) as http:
        cookie, csrf = await login(http, read_token)
        assert (await http.get("/api/portfolio", headers=cookie)).status_code == 200
        me = (await http.get("/auth/me", headers=cookie)).json()
    assert me["via"] == "session" and me["csrf_token"] == csrf and me["scopes"] == ["read"]
    assert me["session_expires_ms"] > 0


async def test_a_cookie_change_without_the_csrf_header_is_403(
    app: ViperApp, trade_token: str
) -> None:
    async with client(app) as http:
        cookie, csrf = await login(http, trade_token)
        missing = await http.post(TRIP, json={"reason": "x"}, headers=cookie)
        wrong = await http.post(
            TRIP, json={"reason": "x"}, headers={**cookie, "X-CSRF-Token": csrf[:-2] + "xx"}
        )
    for response in (missing, wrong):
        assert response.status_code == 403
        assert response.json()["reason"] == "csrf"
    assert not app.modules["risk"].risk_status().halted  # type: ignore[attr-defined]


async def test_a_cookie_change_with_the_right_csrf_header_goes_through(
    app: ViperApp, trade_token: str
) -> None:
    async with client(app) as http:
        cookie, csrf = await login(http, trade_token)
        response = await http.post(
            TRIP, json={"reason": "x"}, headers={**cookie, "X-CSRF-Token": csrf}
        )
    assert response.status_code == 200, response.text


async def test_a_read_session_still_cannot_trade(app: ViperApp, read_token: str) -> None:
    async with client(app) as http:
        cookie, csrf = await login(http, read_token)
        response = await http.post(
            TRIP, json={"reason": "x"}, headers={**cookie, "X-CSRF-Token": csrf}
        )
    assert response.status_code == 403 and response.json()["needed"] == "trade"


async def test_logout_ends_the_session_and_clears_the_cookie(
    app: ViperApp, read_token: str
) -> None:
    async with client(app) as http:
        cookie, csrf = await login(http, read_token)
        refused = await http.post("/auth/logout", headers=cookie)
        assert refused.status_code == 403  # signing out changes state: CSRF applies
        out = await http.post("/auth/logout", headers={**cookie, "X-CSRF-Token": csrf})
        assert out.status_code == 200 and out.json() == {"signed_out": True}
        assert 'viper_session=""' in out.headers["set-cookie"]
        after = await http.get("/api/portfolio", headers=cookie)
    assert after.status_code == 401 and after.json()["reason"] == "unknown"
    assert len(app.auth.sessions) == 0


async def test_revoking_the_token_ends_its_sessions(app: ViperApp) -> None:
    issued = await issue(app, "trade")
    async with client(app) as http:
        cookie, _ = await login(http, issued.token)
        assert (await http.get("/api/portfolio", headers=cookie)).status_code == 200
        await vault_of(app).revoke_token(issued.id)
        response = await http.get("/api/portfolio", headers=cookie)
    assert response.status_code == 401 and response.json()["reason"] == "revoked"
    assert "viper_session=" in response.headers["set-cookie"]  # the browser forgets it
    assert len(app.auth.sessions) == 0


async def test_a_bad_token_opens_no_session(app: ViperApp) -> None:
    async with client(app) as http:
        response = await http.post("/auth/login", json={"token": "vpr_" + "B" * 43})
    assert response.status_code == 401 and response.json()["reason"] == "unknown"
    assert "set-cookie" not in response.headers
    assert len(app.auth.sessions) == 0


def test_sessions_expire_after_their_lifetime() -> None:
    clock = TestClock()
    store = SessionStore(clock, hours=2)
    who = Principal(token_id="t1", name="n", scopes=("read",), via="session")
    session = store.open("vpr_token", who)
    clock.advance(2 * 3600 - 1)
    assert store.get(session.id) is session
    clock.advance(1)
    with pytest.raises(AuthError) as caught:
        store.get(session.id)
    assert caught.value.extra["reason"] == "expired"
    assert "vpr_token" not in repr(session)


def test_session_ids_and_csrf_tokens_are_random_and_distinct() -> None:
    store = SessionStore(TestClock(), hours=1)
    who = Principal(token_id="t1", name="n", scopes=("read",), via="session")
    first, second = store.open("a", who), store.open("a", who)
    assert len({first.id, second.id, first.csrf, second.csrf}) == 4
    assert store.close_token("t1") == 2 and len(store) == 0
