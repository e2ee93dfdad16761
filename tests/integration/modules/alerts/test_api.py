"""The /alerts API: history with filters and pages, ack, channels and rules changed at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.receiver import Receiver
from tests.integration.modules.alerts.conftest import client, module, rejected, running, settle
from viper.events import KillSwitchChanged, MarketDataStale

TS = 1_700_000_000_000


async def raise_five(app) -> None:  # type: ignore[no-untyped-def]
    for i in range(4):
        await app.bus.publish(rejected(symbol=f"C{i}/USDT:USDT"))
    await settle(app, 4)  # one queue per event type: wait, so the kill switch comes last
    await app.bus.publish(KillSwitchChanged(ts_ms=TS, halted=True, reason="drawdown"))
    await settle(app, 5)


async def test_history_is_newest_first_filtered_paginated_and_kept(tmp_path: Path) -> None:
    async with running(tmp_path, []) as app, client(app) as http:
        await raise_five(app)
        first = (await http.get("/alerts/alerts", params={"limit": 2})).json()
        second = (await http.get("/alerts/alerts", params={"limit": 2, "offset": 2})).json()
        critical = (await http.get("/alerts/alerts", params={"severity": "critical"})).json()
        by_rule = (await http.get("/alerts/alerts", params={"rule": "order_rejected"})).json()
    assert first["total"] == 5 and first["next_offset"] == 2
    assert first["alerts"][0]["rule"] == "kill_switch"
    ids = [a["id"] for a in first["alerts"] + second["alerts"]]
    assert len(set(ids)) == 4
    assert [a["rule"] for a in critical["alerts"]] == ["kill_switch"]
    assert by_rule["total"] == 4
    async with running(tmp_path, []) as again, client(again) as http:
        kept = (await http.get("/alerts/alerts")).json()
    assert kept["total"] == 5


async def test_ack_marks_an_alert_once_and_filters_by_it(tmp_path: Path) -> None:
    async with running(tmp_path, []) as app, client(app) as http:
        await raise_five(app)
        newest = (await http.get("/alerts/alerts", params={"limit": 1})).json()["alerts"][0]
        acked = await http.post(f"/alerts/alerts/{newest['id']}/ack", json={"by": "ana"})
        again = await http.post(f"/alerts/alerts/{newest['id']}/ack")
        open_ = (await http.get("/alerts/alerts", params={"acked": "false"})).json()
        done = (await http.get("/alerts/alerts", params={"acked": "true"})).json()
        missing = await http.post("/alerts/alerts/nope/ack")
    assert acked.status_code == 200 and acked.json()["acked_by"] == "ana"
    assert acked.json()["acked_ms"] is not None
    assert (
        again.json()["acked_by"] == "ana" and again.json()["acked_ms"] == acked.json()["acked_ms"]
    )
    assert open_["total"] == 4 and [a["id"] for a in done["alerts"]] == [newest["id"]]
    assert missing.status_code == 404


async def test_channels_are_added_replaced_and_removed_at_run_time(tmp_path: Path) -> None:
    async with Receiver() as hook, running(tmp_path, []) as app, client(app) as http:
        url_a = hook.url("/a")
        body = {"type": "webhook", "name": "ops", "url": url_a, "secret": "s3cret-ops"}
        added = await http.post("/alerts/notifications", json=body)
        replaced = await http.post(
            "/alerts/notifications", json={**body, "url": hook.url("/b"), "min_severity": "info"}
        )
        listed = await http.get("/alerts/notifications")
        await app.bus.publish(rejected())
        await settle(app, 1)
        deleted = await http.delete("/alerts/notifications/ops")
        empty = (await http.get("/alerts/notifications")).json()["channels"]
    assert added.status_code == 200 and added.json()["target"] == url_a
    assert replaced.json()["min_severity"] == "info"
    assert "s3cret-ops" not in listed.text
    [channel] = listed.json()["channels"]
    assert channel["origin"] == "api" and channel["vault_key"] == "alerts.ops.secret"
    assert [r.path for r in hook.requests] == ["/b"]
    assert deleted.status_code == 204 and empty == []


async def test_channels_added_at_run_time_survive_a_restart_without_their_secret(
    tmp_path: Path,
) -> None:
    body = {"type": "webhook", "name": "ops", "url": "http://127.0.0.1:9/x", "secret": "abc-123-x"}
    async with running(tmp_path, []) as app, client(app) as http:
        await http.post("/alerts/notifications", json=body)
    db = (tmp_path / "viper.db").read_bytes()
    assert b"abc-123-x" not in db
    async with running(tmp_path, []) as again:
        [status] = module(again).notifications()
    assert status.name == "ops" and status.origin == "api"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "webhook"}, "url"),
        ({"type": "webhook", "url": "ftp://example.com"}, "url"),
        ({"type": "webhook", "url": "http://x", "colour": "red"}, "colour"),
        ({"type": "webhook", "url": "http://x", "name": "Bad Name"}, "name"),
        ({"type": "pager", "url": "http://x"}, "type"),
        ({"url": "http://x"}, "type"),
        ({"type": "telegram"}, "chat_id"),
        ({"type": "telegram", "chat_id": "1", "min_severity": "loud"}, "min_severity"),
        ({"type": "discord", "url": "not a url"}, "url"),
        ({"type": "email", "to": []}, "to"),
        ({"type": "email", "to": ["nobody"]}, "to[0]"),
        ({"type": "email", "to": ["a@b.c"], "port": 0}, "port"),
        ({"type": "webhook", "url": "http://x", "timeout_seconds": -1}, "timeout_seconds"),
    ],
)
async def test_invalid_channels_are_422_naming_the_field(
    tmp_path: Path, body: dict, field: str
) -> None:
    async with running(tmp_path, []) as app, client(app) as http:
        response = await http.post("/alerts/notifications", json=body)
        listed = (await http.get("/alerts/notifications")).json()["channels"]
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert listed == []


async def test_rules_change_at_run_time_and_switch_rules_off(tmp_path: Path) -> None:
    async with running(tmp_path, []) as app, client(app) as http:
        before = (await http.get("/alerts/rules")).json()
        changed = await http.patch(
            "/alerts/rules", json={"disabled_rules": ["data_stale"], "window_seconds": 30}
        )
        stale = MarketDataStale(ts_ms=TS, source="replay", symbol="BTC/USDT:USDT", silent_seconds=9)
        await app.bus.publish(stale)
        await app.bus.publish(rejected())
        await settle(app, 1)
        rules = [a["rule"] for a in (await http.get("/alerts/alerts")).json()["alerts"]]
    assert before["window_seconds"] == 60.0 and before["disabled_rules"] == []
    assert changed.status_code == 200
    assert changed.json()["window_seconds"] == 30 and changed.json()["max_per_window"] == 10
    assert rules == ["order_rejected"]
    async with running(tmp_path, []) as again, client(again) as http:
        assert (await http.get("/alerts/rules")).json()["disabled_rules"] == ["data_stale"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"window_seconds": 0}, "window_seconds"),
        ({"max_per_window": "many"}, "max_per_window"),
        ({"daily_loss_warn": 1.5}, "daily_loss_warn"),
        ({"disabled_rules": ["nope"]}, "disabled_rules[0]"),
        ({"bogus": 1}, "bogus"),
    ],
)
async def test_invalid_rule_settings_are_422_naming_the_field(
    tmp_path: Path, body: dict, field: str
) -> None:
    async with running(tmp_path, []) as app, client(app) as http:
        response = await http.patch("/alerts/rules", json=body)
        rules = (await http.get("/alerts/rules")).json()
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert rules["window_seconds"] == 60.0


async def test_bad_history_queries_are_422(tmp_path: Path) -> None:
    async with running(tmp_path, []) as app, client(app) as http:
        for params, field in (
            ({"severity": "loud"}, "severity"),
            ({"limit": 0}, "limit"),
            ({"since": "soon"}, "since"),
            ({"since": 2000, "until": 1000}, "until"),
            ({"acked": "maybe"}, "acked"),
        ):
            response = await http.get("/alerts/alerts", params=params)
            assert response.status_code == 422 and response.json()["field"] == field
