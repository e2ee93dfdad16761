"""The four ways an alert leaves the process: a signed webhook, Telegram, Discord, e-mail.

Each sender makes one attempt. Failures are mapped here, at the boundary, to two errors:
`DeliveryFailed` (a TemporaryError: worth retrying) and `DeliveryRefused` (the other side
said no; retrying unchanged will not help). Their messages never carry the channel's secret
or a URL that holds one (Telegram's and Discord's do).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

import aiohttp
import msgspec

from viper.config import (
    AlertChannel,
    DiscordChannel,
    EmailChannel,
    TelegramChannel,
    WebhookChannel,
)
from viper.errors import RejectedError, TemporaryError
from viper.modules.alerts.models import Alert, text, title

SIGNATURE_HEADER = "X-Viper-Signature"
DISCORD_LIMIT = 2000  # characters Discord accepts in `content`
TELEGRAM_LIMIT = 4096
_encoder = msgspec.json.Encoder()


class DeliveryFailed(TemporaryError):
    """The channel could not be reached or failed for now; retry with backoff."""

    code = "delivery_failed"


class DeliveryRefused(RejectedError):
    """The channel refused the alert (bad credentials, bad address); do not retry."""

    code = "delivery_refused"


def channel_type(channel: AlertChannel) -> str:
    """webhook, telegram, discord or email (the tag; msgspec keeps it on the class)."""
    return str(type(channel).__struct_config__.tag)


def channel_name(channel: AlertChannel) -> str:
    """The channel's name: as configured, else its type."""
    return channel.name or channel_type(channel)


def sign(body: bytes, secret: str) -> str:
    """The `X-Viper-Signature` value: `sha256=` and the hex HMAC-SHA256 of the body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def payload(alert: Alert) -> bytes:
    """The webhook body: the alert without its delivery states."""
    fields = msgspec.to_builtins(alert)
    fields.pop("deliveries", None)
    return _encoder.encode(fields)


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    *,
    what: str,
    seconds: float,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """POST JSON; 429 and 5xx raise DeliveryFailed, other 4xx DeliveryRefused."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    try:
        async with session.post(
            url, data=body, headers=all_headers, timeout=aiohttp.ClientTimeout(total=seconds)
        ) as response:
            content = await response.content.read(4096)
            status = response.status
    except aiohttp.ClientConnectorError as exc:
        raise DeliveryFailed(f"{what}: cannot connect to {exc.host}:{exc.port}") from None
    except aiohttp.ClientError as exc:
        raise DeliveryFailed(f"{what}: {type(exc).__name__}") from None
    except TimeoutError:
        raise DeliveryFailed(f"{what}: no answer within {seconds:g} s") from None
    if status == 429 or status >= 500:
        raise DeliveryFailed(f"{what}: HTTP {status}")
    if status >= 400:
        raise DeliveryRefused(f"{what}: HTTP {status}: {_snippet(content)}")
    return status, content


def _snippet(content: bytes) -> str:
    return content[:200].decode("utf-8", "replace").replace("\n", " ")


async def send_webhook(
    session: aiohttp.ClientSession, channel: WebhookChannel, alert: Alert, secret: str
) -> None:
    """POST the alert as JSON, signed with the channel's secret when it has one."""
    body = payload(alert)
    headers = {SIGNATURE_HEADER: sign(body, secret)} if secret else {}
    await _post(
        session,
        channel.url,
        body,
        what="webhook",
        seconds=channel.timeout_seconds,
        headers=headers,
    )


async def send_telegram(
    session: aiohttp.ClientSession, channel: TelegramChannel, alert: Alert, token: str
) -> None:
    """`sendMessage` through the Bot API; the API's `ok: false` counts as a refusal."""
    if not token:
        raise DeliveryRefused(
            f"telegram: no bot token (vault alerts.{channel_name(channel)}.token)"
        )
    url = f"{channel.api_base.rstrip('/')}/bot{token}/sendMessage"
    body = _encoder.encode({"chat_id": channel.chat_id, "text": text(alert)[:TELEGRAM_LIMIT]})
    _, content = await _post(session, url, body, what="telegram", seconds=channel.timeout_seconds)
    answer: Any = _decode(content)
    if isinstance(answer, dict) and answer.get("ok") is False:
        raise DeliveryRefused(f"telegram: {answer.get('description', 'refused')}")


async def send_discord(
    session: aiohttp.ClientSession, channel: DiscordChannel, alert: Alert, url: str
) -> None:
    """POST `{"content": ...}` to the Discord webhook."""
    if not url:
        raise DeliveryRefused(f"discord: no webhook URL (vault alerts.{channel_name(channel)}.url)")
    body = _encoder.encode({"content": text(alert)[:DISCORD_LIMIT]})
    await _post(session, url, body, what="discord", seconds=channel.timeout_seconds)


async def send_email(channel: EmailChannel, alert: Alert, password: str) -> None:
    """One message over SMTP (smtplib, in a worker thread)."""
    message = EmailMessage()
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message["Subject"] = title(alert)
    message.set_content(f"{alert.message}\n\nrule: {alert.rule}\nalert id: {alert.id}\n")
    await asyncio.to_thread(_smtp_send, channel, message, password)


def _smtp_send(channel: EmailChannel, message: EmailMessage, password: str) -> None:
    where = f"smtp {channel.host}:{channel.port}"
    try:
        smtp_class = smtplib.SMTP_SSL if channel.ssl else smtplib.SMTP
        with smtp_class(channel.host, channel.port, timeout=channel.timeout_seconds) as smtp:
            if channel.starttls and not channel.ssl:
                smtp.starttls(context=ssl.create_default_context())
            if channel.username:
                smtp.login(channel.username, password)
            smtp.send_message(message)
    except (smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused) as exc:
        raise DeliveryRefused(f"{where}: {type(exc).__name__}") from None
    except smtplib.SMTPResponseException as exc:
        error = DeliveryFailed if 400 <= exc.smtp_code < 500 else DeliveryRefused
        raise error(f"{where}: SMTP {exc.smtp_code}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"{where}: {type(exc).__name__}") from None


def _decode(content: bytes) -> object:
    try:
        return msgspec.json.decode(content)
    except msgspec.DecodeError:
        return None


async def send(
    session: aiohttp.ClientSession, channel: AlertChannel, alert: Alert, secret: str
) -> None:
    """One attempt to deliver `alert` over `channel`."""
    match channel:
        case WebhookChannel():
            await send_webhook(session, channel, alert, secret)
        case TelegramChannel():
            await send_telegram(session, channel, alert, secret)
        case DiscordChannel():
            await send_discord(session, channel, alert, secret)
        case EmailChannel():
            await send_email(channel, alert, secret)
