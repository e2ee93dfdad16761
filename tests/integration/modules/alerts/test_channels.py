"""Each channel delivers to a real local server: signed webhook, Telegram, Discord, SMTP."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from tests.fakes.receiver import Receiver
from tests.fakes.smtp import SmtpServer
from tests.fakes.vault import FakeVault
from tests.integration.modules.alerts.conftest import client, module, rejected, running, settle
from viper.events import KillSwitchChanged

TS = 1_700_000_000_000


async def test_webhook_posts_json_signed_with_the_vault_secret(tmp_path: Path) -> None:
    vault = FakeVault(alerts__ops__secret="hmac-key-from-vault")
    async with Receiver() as hook:
        channel = {"type": "webhook", "name": "ops", "url": hook.url("/hooks/viper")}
        async with running(tmp_path, [channel], vault=vault) as app:
            await app.bus.publish(rejected())
            await settle(app, 1)
    [request] = hook.requests
    assert request.method == "POST" and request.path == "/hooks/viper"
    expected = hmac.new(b"hmac-key-from-vault", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Viper-Signature"] == f"sha256={expected}"
    body = request.json()
    assert body["rule"] == "order_rejected" and body["severity"] == "warning"
    assert body["key"] == "BTC/USDT:USDT:daily_loss_limit" and "deliveries" not in body
    assert "alerts.ops.secret" in vault.reads


async def test_webhook_falls_back_to_the_configured_secret_without_a_vault(
    tmp_path: Path,
) -> None:
    async with Receiver() as hook:
        channel = {"type": "webhook", "url": hook.url("/h"), "secret": "config-secret-1"}
        async with running(tmp_path, [channel]) as app:
            await app.bus.publish(rejected())
            await settle(app, 1)
    [request] = hook.requests
    expected = hmac.new(b"config-secret-1", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Viper-Signature"] == f"sha256={expected}"


async def test_telegram_calls_send_message_with_the_bot_token(tmp_path: Path) -> None:
    vault = FakeVault(alerts__telegram__token="123456:bot-token-abc")
    async with Receiver(reply={"ok": True, "result": {}}) as api:
        channel = {"type": "telegram", "chat_id": "-10042", "api_base": api.url("")}
        async with running(tmp_path, [channel], vault=vault) as app:
            await app.bus.publish(KillSwitchChanged(ts_ms=TS, halted=True, reason="drawdown 16%"))
            await settle(app, 1)
    [request] = api.requests
    assert request.path == "/bot123456:bot-token-abc/sendMessage"
    body = request.json()
    assert body["chat_id"] == "-10042"
    assert body["text"].startswith("[VIPER] CRITICAL kill_switch")
    assert "drawdown 16%" in body["text"]


async def test_telegram_refusal_is_recorded_without_retrying(tmp_path: Path) -> None:
    vault = FakeVault(alerts__telegram__token="123456:bot-token-abc")
    reply = {"ok": False, "description": "Bad Request: chat not found"}
    async with Receiver(status=400, reply=reply) as api:
        channel = {"type": "telegram", "chat_id": "1", "api_base": api.url("")}
        async with running(tmp_path, [channel], vault=vault) as app:
            await app.bus.publish(rejected())
            await settle(app, 1)
            async with client(app) as http:
                [alert] = (await http.get("/alerts/alerts")).json()["alerts"]
    delivery = alert["deliveries"]["telegram"]
    assert delivery["state"] == "failed" and delivery["attempts"] == 1
    assert "HTTP 400" in delivery["error"] and "chat not found" in delivery["error"]
    assert len(api.requests) == 1


async def test_discord_posts_content_to_the_webhook_url(tmp_path: Path) -> None:
    async with Receiver(status=204) as discord:
        url = discord.url("/api/webhooks/1/discord-token")
        channel = {"type": "discord", "url": url, "min_severity": "info"}
        async with running(tmp_path, [channel]) as app:
            await app.bus.publish(rejected(symbol="ETH/USDT:USDT"))
            await settle(app, 1)
            status = module(app).notifications()[0]
    [request] = discord.requests
    assert request.path == "/api/webhooks/1/discord-token"
    content = request.json()["content"]
    assert content.startswith("[VIPER] WARNING order_rejected") and "ETH/USDT:USDT" in content
    assert status.last_state == "sent" and status.target == "discord webhook"


async def test_email_is_sent_over_smtp_with_the_vault_password(tmp_path: Path) -> None:
    vault = FakeVault(alerts__mail__password="smtp-pass-123")
    async with SmtpServer(password="smtp-pass-123") as smtp:
        channel = {
            "type": "email",
            "name": "mail",
            "to": ["ops@example.com", "cto@example.com"],
            "sender": "viper@example.com",
            "host": "127.0.0.1",
            "port": smtp.port,
            "username": "viper",
        }
        async with running(tmp_path, [channel], vault=vault) as app:
            await app.bus.publish(KillSwitchChanged(ts_ms=TS, halted=True, reason="drawdown"))
            await settle(app, 1)
    [mail] = smtp.messages
    assert mail.login == ("viper", "smtp-pass-123")
    assert mail.recipients == ["ops@example.com", "cto@example.com"]
    assert mail.message["Subject"].startswith("[VIPER] CRITICAL kill_switch")
    assert "kill switch tripped" in mail.message.get_payload()


async def test_wrong_smtp_password_is_a_refusal(tmp_path: Path) -> None:
    async with SmtpServer(password="right") as smtp:
        channel = {
            "type": "email",
            "to": ["ops@example.com"],
            "port": smtp.port,
            "username": "viper",
            "password": "wrong-password",
        }
        async with running(tmp_path, [channel]) as app:
            await app.bus.publish(rejected())
            await settle(app, 1)
            status = module(app).notifications()[0]
    assert status.last_state == "failed" and "SMTPAuthenticationError" in status.last_error
    assert smtp.messages == []


async def test_min_severity_filters_what_a_channel_gets(tmp_path: Path) -> None:
    async with Receiver() as hook:
        channels = [{"type": "webhook", "url": hook.url("/h"), "min_severity": "critical"}]
        async with running(tmp_path, channels) as app:
            await app.bus.publish(rejected())  # warning: not for this channel
            await app.bus.publish(KillSwitchChanged(ts_ms=TS, halted=True, reason="dd"))
            await settle(app, 2)
    assert [r.json()["rule"] for r in hook.requests] == ["kill_switch"]
