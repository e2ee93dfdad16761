"""Where the exchange's API credentials come from: the vault when it holds them, else the config.

The lookup lives in `load_credentials` alone. Values stay wrapped in `Secret` (masked in every
repr and log line) until `reveal()` hands them to the ccxt client.
"""

from __future__ import annotations

import msgspec

from viper.config import ExchangeConfig, Secret
from viper.modules.base import Services
from viper.protocols import SecretStore

NAMES = ("api_key", "api_secret", "api_password")


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    """An API key, its secret and passphrase; `source` says where they were read."""

    api_key: Secret
    api_secret: Secret
    api_password: Secret
    source: str

    @property
    def complete(self) -> bool:
        return bool(self.api_key and self.api_secret)

    def same_as(self, other: Credentials) -> bool:
        """Whether both hold the same values (wherever they came from)."""
        mine = (self.api_key, self.api_secret, self.api_password)
        return mine == (other.api_key, other.api_secret, other.api_password)


async def load_credentials(services: Services, config: ExchangeConfig) -> Credentials:
    """`<exchange>.api_key`, `.api_secret`, `.api_password` from the vault's `SecretStore`
    when one runs and holds a key, else the config's secrets (env `BITGET_API_*`)."""
    store = services.maybe(SecretStore)
    if store is not None:
        values = [Secret(await store.get(f"{config.id}.{name}") or "") for name in NAMES]
        if values[0]:
            return Credentials(
                api_key=values[0], api_secret=values[1], api_password=values[2], source="vault"
            )
    return Credentials(
        api_key=config.api_key,
        api_secret=config.api_secret,
        api_password=config.api_password,
        source="config",
    )
