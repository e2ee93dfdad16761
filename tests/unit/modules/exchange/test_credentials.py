"""Credentials come from the vault's SecretStore when it holds them, else from the config."""

from __future__ import annotations

from viper.config import ExchangeConfig, Secret
from viper.modules.base import Services
from viper.modules.exchange.credentials import load_credentials
from viper.protocols import SecretStore

CONFIG = ExchangeConfig(
    api_key=Secret("cfg-key"), api_secret=Secret("cfg-secret"), api_password=Secret("cfg-pass")
)


class Vault:
    """A SecretStore holding `values`."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: list[str] = []

    async def get(self, name: str) -> str | None:
        self.asked.append(name)
        return self.values.get(name)


def services_with(vault: Vault) -> Services:
    services = Services()
    services.provide(SecretStore, vault)
    return services


async def test_without_a_vault_the_config_secrets_are_used() -> None:
    found = await load_credentials(Services(), CONFIG)

    assert found.source == "config"
    assert found.api_key.reveal() == "cfg-key"
    assert "cfg-secret" not in repr(found)


async def test_the_vault_wins_when_it_holds_a_key() -> None:
    vault = Vault(
        {
            "bitget.api_key": "v-key",
            "bitget.api_secret": "v-secret",
            "bitget.api_password": "v-pass",
        }
    )

    found = await load_credentials(services_with(vault), CONFIG)

    assert found.source == "vault"
    assert (found.api_key.reveal(), found.api_secret.reveal(), found.api_password.reveal()) == (
        "v-key",
        "v-secret",
        "v-pass",
    )
    assert vault.asked == ["bitget.api_key", "bitget.api_secret", "bitget.api_password"]
    assert not found.same_as(await load_credentials(Services(), CONFIG))


async def test_an_empty_vault_falls_back_to_the_config() -> None:
    found = await load_credentials(services_with(Vault({})), CONFIG)

    assert found.source == "config"
