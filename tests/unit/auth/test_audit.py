"""Every call that may change something lands in the `audit` table: who, what, how, when."""

from __future__ import annotations

import time

from tests.unit.auth.conftest import client, issue
from viper.app import ViperApp


async def rows(app: ViperApp) -> list[tuple[object, ...]]:
    return await app.store.execute(
        "SELECT ts_ms, token_id, name, via, method, path, status, request_id, client"
        " FROM audit ORDER BY id"
    )


async def test_a_trade_call_is_audited_with_who_what_and_when(app: ViperApp) -> None:
    issued = await issue(app, "trade")
    before = time.time_ns() // 1_000_000
    async with client(app, issued.token, address="10.1.2.3") as http:
        response = await http.post("/risk/kill-switch/trip", json={"reason": "audit"})
    after = time.time_ns() // 1_000_000
    assert response.status_code == 200
    (entry,) = await rows(app)
    ts_ms, token_id, name, via, method, path, status, request_id, address = entry
    assert before <= ts_ms <= after  # type: ignore[operator]
    assert (token_id, name, via) == (issued.id, issued.name, "bearer")
    assert (method, path, status) == ("POST", "/risk/kill-switch/trip", 200)
    assert request_id == response.headers["x-request-id"] and address == "10.1.2.3"


async def test_refused_and_anonymous_changes_are_audited_reads_are_not(
    app: ViperApp, read_token: str
) -> None:
    async with client(app) as http:
        await http.get("/api/portfolio")
        await http.delete("/vault/tokens/abc")
    async with client(app, read_token) as http:
        await http.get("/api/portfolio")
        await http.head("/api/portfolio")
        await http.post("/live/orders", json={})
    found = [(r[2], r[4], r[5], r[6]) for r in await rows(app)]
    assert found[0] == ("anonymous", "DELETE", "/vault/tokens/abc", 401)
    assert found[1][1:] == ("POST", "/live/orders", 403)
    assert found[1][0].startswith("test-")
    assert len(found) == 2


async def test_sign_in_is_audited_under_the_token_that_signed_in(app: ViperApp) -> None:
    issued = await issue(app, "read")
    async with client(app) as http:
        await http.post("/auth/login", json={"token": issued.token})
        await http.post("/auth/login", json={"token": "vpr_" + "D" * 43})
    (ok, bad) = await rows(app)
    assert (ok[1], ok[3], ok[6]) == (issued.id, "session", 200)
    assert (bad[2], bad[6]) == ("anonymous", 401)
    assert issued.token not in str(await rows(app))


async def test_the_audit_log_pages_newest_first_for_admins_only(
    app: ViperApp, admin_token: str, trade_token: str
) -> None:
    async with client(app, trade_token) as http:
        for n in range(5):
            await http.delete(f"/backtester/backtest/job{n}")
        refused = await http.get("/api/audit")
    assert refused.status_code == 403 and refused.json()["needed"] == "admin"
    async with client(app, admin_token) as http:
        first = (await http.get("/api/audit", params={"limit": 2})).json()
        second = (await http.get("/api/audit", params={"limit": 2, "offset": 2})).json()
        bad = await http.get("/api/audit", params={"limit": 0})
    assert first["total"] == 5 and first["limit"] == 2 and second["offset"] == 2
    paths = [e["path"] for e in first["entries"] + second["entries"]]
    assert paths == [f"/backtester/backtest/job{n}" for n in (4, 3, 2, 1)]
    entry = first["entries"][0]
    assert entry["method"] == "DELETE" and entry["status"] == 404 and entry["via"] == "bearer"
    assert bad.status_code == 422 and bad.json()["field"] == "limit"


async def test_the_audit_log_filters_by_token(app: ViperApp, admin_token: str) -> None:
    one, two = await issue(app, "trade"), await issue(app, "trade")
    for issued in (one, two, one):
        async with client(app, issued.token) as http:
            await http.delete("/backtester/backtest/x")
    async with client(app, admin_token) as http:
        page = (await http.get("/api/audit", params={"token_id": one.id})).json()
    assert page["total"] == 2 and {e["token_id"] for e in page["entries"]} == {one.id}


async def test_a_change_names_the_token_as_its_actor_and_x_actor_only_beside_it(
    app: ViperApp,
) -> None:
    issued = await issue(app, "trade")
    async with client(app, issued.token) as http:
        await http.post("/risk/kill-switch/trip", json={"reason": "drill"})
        await http.post(
            "/risk/kill-switch/resume", json={"reason": "drill over"}, headers={"X-Actor": "bob"}
        )
        entries = (await http.get("/risk/audit")).json()["entries"]
    actors = [e["actor"] for e in entries if e["action"].startswith("kill_switch")]
    who = f"{issued.name} ({issued.id})"
    # a header cannot replace the token's name in the record; it is kept beside it
    assert sorted(actors) == sorted([who, f"{who} for bob"])
