"""Channel secrets: from the vault by name (`alerts.<channel>.<key>`), else from the channel.

Read at every delivery, so a rotated value is used at once. Every value read is handed to the
log redactor, so it never shows in a log line, and scrubbed from delivery errors.
"""

from __future__ import annotations

from collections.abc import Callable

from viper.config import AlertChannel
from viper.errors import ViperError
from viper.logs import MASK
from viper.modules.alerts.channels import DeliveryFailed, channel_name, channel_type
from viper.protocols import SecretRedactor, SecretStore

SECRET_FIELD: dict[str, str] = {
    "webhook": "secret",
    "telegram": "token",
    "discord": "url",
    "email": "password",
}


def vault_key(channel: AlertChannel) -> str:
    """The vault name of the channel's secret, e.g. `alerts.telegram.token`."""
    return f"alerts.{channel_name(channel)}.{SECRET_FIELD[channel_type(channel)]}"


def configured_secret(channel: AlertChannel) -> str:
    """The secret given in the config or the API body ('' when none)."""
    value = getattr(channel, SECRET_FIELD[channel_type(channel)])
    return str(value.reveal()) if value else ""


class SecretResolver:
    """Finds each channel's secret and makes sure the logs never show it.

    `store` is asked for the vault at each read, so it does not matter which module started
    first, and a vault switched off is simply not asked.
    """

    def __init__(
        self, store: Callable[[], SecretStore | None], redactor: SecretRedactor | None
    ) -> None:
        self._store = store
        self._redactor = redactor
        self._known: set[str] = set()

    def remember(self, *values: str) -> None:
        """Hide `values` from the logs and from delivery errors."""
        fresh = [v for v in values if v and v not in self._known]
        if not fresh:
            return
        self._known.update(fresh)
        if self._redactor is not None:
            self._redactor.add(*fresh)

    async def get(self, channel: AlertChannel) -> str:
        """The vault's value when it has one, else the configured one ('' when neither)."""
        value: str | None = None
        store = self._store()
        if store is not None:
            try:
                value = await store.get(vault_key(channel))
            except ViperError as exc:
                raise DeliveryFailed(f"vault: {exc.code}") from None
        if not value:
            value = configured_secret(channel)
        self.remember(value)
        return value

    def scrub(self, text: str) -> str:
        """`text` with every known secret masked (longest first)."""
        for secret in sorted(self._known, key=len, reverse=True):
            if len(secret) >= 4 and secret in text:
                text = text.replace(secret, MASK)
        return text
