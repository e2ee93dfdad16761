"""A secret set in the vault never appears in a log line, the log file, or any response.

The vault module holds a Telegram bot token and a webhook HMAC key, set through its API. The
test logs them every way code might (message, format argument, bound extra, exception text),
makes alert deliveries fail with the token echoed back by the server, and then reads
everything a person could see: log files, the database, the logger's and the alerts' answers,
the health report and the live tail.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from loguru import logger

from tests.conftest import free_port, make_config
from tests.fakes.bitget_ws import eventually
from tests.fakes.receiver import Receiver
from tests.integration.modules.logger.conftest import logger_module, logging_to, serve
from viper.app import ViperApp
from viper.events import TradeRejected
from viper.logs import Redactor

TOKEN = "7300000000:AAE-very-secret-bot-token"
HMAC_KEY = "whsec-super-secret-hmac-key"
SECRETS = (TOKEN, HMAC_KEY)


def log_secrets_every_way() -> None:
    logger.bind(module="vault").info(f"connecting with token {TOKEN}")
    logger.bind(module="vault").info("calling https://api.telegram.org/bot{}/getMe", TOKEN)
    logger.bind(module="vault", value=HMAC_KEY).warning("bound the key as extra")
    try:
        raise RuntimeError(f"auth failed for {TOKEN} and {HMAC_KEY}")
    except RuntimeError:
        logger.bind(module="vault").exception("could not authenticate")


async def read_sse(url: str, seconds: float = 1.0) -> str:
    """Raw SSE text from /logger/stream for `seconds` (logging meanwhile)."""
    chunks: list[str] = []
    async with (
        httpx.AsyncClient(base_url=url, timeout=10) as http,
        http.stream("GET", "/logger/stream", params={"backlog": 100}) as response,
    ):

        async def collect() -> None:
            async for text in response.aiter_text():
                chunks.append(text)

        reader = asyncio.create_task(collect())
        await asyncio.sleep(0.2)
        log_secrets_every_way()
        await asyncio.sleep(seconds)
        reader.cancel()
    return "".join(chunks)


async def test_vault_secrets_never_reach_logs_files_or_responses(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "viper.jsonl"
    redactor = Redactor()
    echo = {"ok": False, "description": f"Unauthorized: bot{TOKEN} key {HMAC_KEY}"}
    with logging_to(log_file, redactor):
        async with Receiver(status=401, reply=echo) as telegram:
            channels = [
                {"type": "telegram", "chat_id": "1", "api_base": telegram.url("")},
                {"type": "webhook", "name": "ops", "url": f"http://127.0.0.1:{free_port()}/h"},
            ]
            config = make_config(
                tmp_path,
                modules={"enabled": ["vault", "logger", "alerts"]},
                logging={"file": str(log_file)},
                vault={"key_file": str(tmp_path / "vault.key")},
                alerts={
                    "channels": channels,
                    "retry_attempts": 2,
                    "retry_base_delay_seconds": 0.01,
                },
            )
            app = ViperApp(config, redactor=redactor)
            async with app.running():
                await set_secrets(app)
                seen = await exercise(app)
        logger.complete()
    # The token really went where it belongs: to the Telegram API, read from the vault.
    assert telegram.requests[0].path == f"/bot{TOKEN}/sendMessage"
    file_text = log_file.read_text()
    assert "connecting with token ***" in file_text
    for secret in SECRETS:
        assert secret not in file_text
        assert secret.encode() not in (tmp_path / "viper.db").read_bytes()
        for name, text in seen.items():
            assert secret not in text, f"{name} shows a secret"


async def set_secrets(app: ViperApp) -> None:
    transport = httpx.ASGITransport(app=app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://viper") as http:
        for name, value in (("alerts.telegram.token", TOKEN), ("alerts.ops.secret", HMAC_KEY)):
            body = {"name": name, "value": value, "kind": "alert"}
            response = await http.post("/vault/credentials", json=body)
            assert response.status_code in (200, 201), response.text


async def exercise(app: ViperApp) -> dict[str, str]:
    """Everything a person could read, by name, after secrets were logged and used."""
    seen: dict[str, str] = {}
    log_secrets_every_way()
    await app.bus.publish(TradeRejected(ts_ms=1, intent_id="i", symbol="BTC/USDT:USDT", reason="r"))
    alerts = app.modules["alerts"]
    await eventually(lambda: alerts.health().status == "degraded")  # type: ignore[attr-defined]
    await alerts.dispatcher.drain()  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://viper") as http:
        seen["test send"] = (await http.post("/alerts/notifications/telegram/test")).text
        logs = (await http.get("/logger/logs", params={"limit": 1000})).json()
        assert logs["total"] >= 5
        for path, params in (
            ("/logger/logs", {"limit": 1000}),
            ("/logger/search", {"q": "token"}),
            ("/logger/search", {"q": "AAE very secret"}),
            ("/logger/search", {"q": "authenticate"}),
            ("/alerts/alerts", {}),
            ("/alerts/notifications", {}),
            ("/alerts/health", {}),
            ("/vault/credentials", {}),
            ("/health", {}),
        ):
            seen[f"{path} {params}"] = (await http.get(path, params=params)).text
    async with serve(app) as url:
        seen["SSE"] = await read_sse(url)
    assert "connecting with token ***" in seen["SSE"]
    assert logger_module(app).health().checks["records"] > 0
    return seen
