"""Failing channels: retried with backoff, reported per channel, never fatal to the module."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import free_port
from tests.fakes.receiver import Receiver
from tests.integration.modules.alerts.conftest import client, module, rejected, running, settle
from viper.events import ModuleStateChanged

TS = 1_700_000_000_000


async def test_a_passing_failure_is_retried_until_delivered(tmp_path: Path) -> None:
    async with Receiver(fail_first=2) as hook:
        channels = [{"type": "webhook", "url": hook.url("/h")}]
        async with running(tmp_path, channels) as app, client(app) as http:
            await app.bus.publish(rejected())
            await settle(app, 1)
            [alert] = (await http.get("/alerts/alerts")).json()["alerts"]
            health = module(app).health()
    assert len(hook.requests) == 3
    assert alert["deliveries"]["webhook"]["state"] == "sent"
    assert alert["deliveries"]["webhook"]["attempts"] == 3
    assert health.status == "ok"


async def test_unreachable_channel_is_retried_reported_and_the_module_keeps_working(
    tmp_path: Path,
) -> None:
    dead_port = free_port()
    async with Receiver() as good:
        channels = [
            {"type": "webhook", "name": "dead", "url": f"http://127.0.0.1:{dead_port}/h"},
            {"type": "webhook", "name": "good", "url": good.url("/h")},
        ]
        async with running(tmp_path, channels) as app:
            await app.bus.publish(rejected())
            await settle(app, 1)
            async with client(app) as http:
                [alert] = (await http.get("/alerts/alerts")).json()["alerts"]
                channels_body = (await http.get("/alerts/notifications")).json()["channels"]
                app_health = await http.get("/health")
            health = module(app).health()
            event = ModuleStateChanged(ts_ms=TS, module="risk", old="running", new="failed")
            await app.bus.publish(event)
            await settle(app, 2)
    dead = alert["deliveries"]["dead"]
    assert dead["state"] == "failed" and dead["attempts"] == 3
    assert dead["error"] == f"webhook: cannot connect to 127.0.0.1:{dead_port}"
    assert alert["deliveries"]["good"]["state"] == "sent"
    by_name = {c["name"]: c for c in channels_body}
    assert by_name["dead"]["last_state"] == "failed" and by_name["dead"]["failed"] == 1
    assert by_name["good"]["last_state"] == "sent" and by_name["good"]["sent"] == 1
    assert health.status == "degraded" and "dead" in health.detail
    assert app_health.status_code == 200 and app_health.json()["status"] == "degraded"
    assert [r.json()["rule"] for r in good.requests] == ["order_rejected", "module_failed"]


async def test_test_send_reports_success_and_failure(tmp_path: Path) -> None:
    dead_port = free_port()
    async with Receiver() as hook:
        channels = [
            {"type": "webhook", "name": "ok", "url": hook.url("/h")},
            {"type": "webhook", "name": "down", "url": f"http://127.0.0.1:{dead_port}/"},
        ]
        async with running(tmp_path, channels) as app, client(app) as http:
            sent = await http.post("/alerts/notifications/ok/test")
            failed = await http.post("/alerts/notifications/down/test")
            missing = await http.post("/alerts/notifications/nope/test")
            history = (await http.get("/alerts/alerts")).json()
    assert sent.status_code == 200 and sent.json()["state"] == "sent"
    assert hook.requests[0].json()["kind"] == "test"
    assert failed.status_code == 502 and failed.json()["state"] == "failed"
    assert failed.json()["attempts"] == 1
    assert missing.status_code == 404
    assert history["total"] == 0  # test sends are not alerts
