"""The async ccxt client for live or demo trading: credentials, demo mode, extra error codes.

Demo trading, per exchange: Bitget has no separate demo host; ccxt's `set_sandbox_mode(True)`
(also reached through `enable_demo_trading`) adds the header `PAPTRADING: 1` to every request,
which routes it to the demo account. Exchanges with a ccxt `demo` URL (Binance, Bybit) switch
hosts with `enable_demo_trading(True)`; those with only a `test` URL use `set_sandbox_mode`.
"""

from __future__ import annotations

from collections.abc import Mapping

import ccxt.async_support as ccxt

from viper.config import ExchangeConfig
from viper.errors import ConfigError
from viper.marketdata.download import make_exchange, rebase_urls
from viper.modules.exchange.credentials import Credentials

# Codes ccxt leaves generic but VIPER must tell apart: a used client order id means "look the
# order up", never "send it again".
EXTRA_ERRORS: Mapping[str, Mapping[str, type[Exception]]] = {
    "bitget": {"40786": ccxt.DuplicateOrderId},  # "Duplicate clientOid"
}
# Sent with every new order: VIPER trades isolated margin, as the paper exchange simulates.
ORDER_PARAMS: Mapping[str, Mapping[str, object]] = {
    "bitget": {"marginMode": "isolated"},
}


def enable_demo(client: ccxt.Exchange) -> str:
    """Point `client` at the exchange's demo trading; returns how, for logs and health."""
    overridden = type(client).enable_demo_trading is not ccxt.Exchange.enable_demo_trading
    if overridden or "demo" in client.urls:
        client.enable_demo_trading(True)
        if client.options.get("sandboxMode"):
            return "PAPTRADING header (ccxt sandbox mode)"
        return "demo host (ccxt enable_demo_trading)"
    if "test" in client.urls:
        client.set_sandbox_mode(True)
        return "sandbox host"
    raise ConfigError(
        f"exchange.mode: {client.id} has no demo trading in ccxt; use mode 'paper'",
        field="mode",
    )


def apply_credentials(client: ccxt.Exchange, credentials: Credentials) -> None:
    """Hand the (revealed) credentials to the client, the one place that must send them."""
    client.apiKey = credentials.api_key.reveal()
    client.secret = credentials.api_secret.reveal()
    client.password = credentials.api_password.reveal()


def build_client(
    config: ExchangeConfig, credentials: Credentials, *, rate_limit_ms: float | None = None
) -> tuple[ccxt.Exchange, str]:
    """The ccxt client for `config` (live or demo) and a note on how demo mode is reached.

    Credentials may still be missing (the vault starts after this module): private calls then
    fail with an auth error until `apply_credentials` hands over the vault's.
    """
    if config.mode == "paper":
        raise ConfigError("exchange.mode: paper trading does not use a ccxt client", field="mode")
    options = {"defaultType": config.market_type}
    client = make_exchange(
        config.id,
        api_url=config.api_url or None,
        timeout_ms=int(config.timeout_seconds * 1000),
        options=options,
        rate_limit_ms=rate_limit_ms,
    )
    note = "live"
    if config.mode == "demo":
        note = enable_demo(client)
        if config.api_url:  # a sandbox may have swapped hosts: the override still wins
            client.urls["api"] = rebase_urls(client.urls["api"], config.api_url)
    apply_credentials(client, credentials)
    exact = client.exceptions.setdefault("exact", {})
    exact.update(EXTRA_ERRORS.get(config.id, {}))
    return client, note
