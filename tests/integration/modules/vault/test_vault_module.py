"""The vault module in a running app: env key, wrong key, BITGET_API_* import, rotation without
a restart (SecretRotated), changes made by another process, and redacted logs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from loguru import logger

from tests.conftest import make_config
from viper.app import ViperApp
from viper.clock import LiveClock
from viper.config import Config, LoggingConfig
from viper.events import SecretRotated
from viper.logs import Redactor, setup_logging
from viper.modules.vault.module import VaultModule
from viper.protocols import SecretStore
from viper.runner import StartupError
from viper.store.sqlite import Database
from viper.vault.keys import ENV_VAR, MasterKey, load_master_key
from viper.vault.store import SecretVault

KEY = "bg_key_7c1f2e3d4a5b"
SECRET = "bg_secret_0a9b8c7d6e5f"
PASSWORD = "bg_pass_Qw3rTy"


def vault_config(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    sections.setdefault("vault", {}).setdefault("key_file", str(tmp_path / "vault.key"))
    return make_config(tmp_path, modules={"enabled": ["vault"]}, **sections)


async def stored(config: Config) -> dict[str, tuple[int, str | None]]:
    """Version and value of every secret, read the way `viper vault` reads them."""
    db = Database(config.store.database)
    await db.open()
    try:
        vault = await SecretVault.open(db, load_master_key(config.vault, {}), LiveClock())
        return {n: (v, await vault.get(n)) for n, v in (await vault.versions()).items()}
    finally:
        await db.close()


def rows(config: Config) -> list[tuple[Any, ...]]:
    """Every vault row, raw."""
    with contextlib.closing(sqlite3.connect(config.store.database)) as conn:
        return [
            row
            for t in ("vault_meta", "vault_secrets", "vault_tokens")
            for row in conn.execute(f"SELECT * FROM {t} ORDER BY 1")
        ]


async def test_env_key_is_used_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, MasterKey.generate().encoded())
    app = ViperApp(vault_config(tmp_path))
    async with app.running():
        assert app.modules["vault"].health().checks["key_source"] == "env"
    assert not (tmp_path / "vault.key").exists()


async def test_wrong_master_key_fails_the_start_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, MasterKey.generate().encoded())
    config = vault_config(tmp_path, exchange={"api_key": KEY})
    async with ViperApp(config).running():
        pass
    before = rows(config)
    assert before
    monkeypatch.setenv(ENV_VAR, MasterKey.generate().encoded())
    changed = vault_config(tmp_path, exchange={"api_key": KEY + "-changed"})
    with pytest.raises(StartupError) as info:
        async with ViperApp(changed).running():
            pass
    assert "module 'vault' failed to start" in info.value.detail
    assert ENV_VAR in info.value.detail and KEY not in info.value.detail
    assert rows(config) == before  # the changed BITGET_API_KEY was not imported


async def test_exchange_credentials_are_imported_only_when_set_and_changed(tmp_path: Path) -> None:
    first = vault_config(tmp_path, exchange={"api_key": KEY, "api_secret": SECRET})
    async with ViperApp(first).running() as app:
        assert await app.services.get(SecretStore).get("bitget.api_secret") == SECRET
    assert await stored(first) == {"bitget.api_key": (1, KEY), "bitget.api_secret": (1, SECRET)}
    async with ViperApp(first).running():
        pass  # the same values again: nothing written
    assert await stored(first) == {"bitget.api_key": (1, KEY), "bitget.api_secret": (1, SECRET)}
    second = vault_config(
        tmp_path, exchange={"api_key": KEY, "api_secret": SECRET + "2", "api_password": PASSWORD}
    )
    async with ViperApp(second).running():
        pass
    assert await stored(second) == {
        "bitget.api_key": (1, KEY),
        "bitget.api_secret": (2, SECRET + "2"),
        "bitget.api_password": (1, PASSWORD),
    }


async def test_import_can_be_switched_off(tmp_path: Path) -> None:
    config = vault_config(tmp_path, exchange={"api_key": KEY}, vault={"import_env": False})
    async with ViperApp(config).running():
        pass
    assert await stored(config) == {}


async def test_rotation_reaches_a_subscriber_without_a_restart(tmp_path: Path) -> None:
    app = ViperApp(vault_config(tmp_path, exchange={"api_key": KEY}))
    seen: list[tuple[SecretRotated, str | None]] = []
    arrived = asyncio.Event()
    async with app.running():
        store = app.services.get(SecretStore)

        async def on_rotated(event: SecretRotated) -> None:  # as the exchange connector would
            seen.append((event, await store.get(event.name)))
            arrived.set()

        app.bus.subscribe(SecretRotated, on_rotated, name="test.rotated")
        transport = httpx.ASGITransport(app=app.http)
        async with httpx.AsyncClient(transport=transport, base_url="http://v") as http:
            response = await http.post(
                "/vault/credentials/bitget.api_key/rotate", json={"value": KEY + "-rotated"}
            )
        assert response.status_code == 200
        await asyncio.wait_for(arrived.wait(), 5)
    event, value = seen[0]
    assert (event.name, event.version, event.removed) == ("bitget.api_key", 2, False)
    assert value == KEY + "-rotated"
    assert KEY not in msgspec.json.encode(event).decode()


async def test_changes_made_by_another_process_are_announced_and_redacted(tmp_path: Path) -> None:
    config = vault_config(tmp_path)
    redactor = Redactor()
    app = ViperApp(config, redactor=redactor)
    events: list[SecretRotated] = []
    async with app.running():

        async def on_rotated(event: SecretRotated) -> None:
            events.append(event)

        app.bus.subscribe(SecretRotated, on_rotated, name="test.rotated")
        db = Database(config.store.database)  # a second connection, as `viper vault set` has
        await db.open()
        other = await SecretVault.open(db, load_master_key(config.vault, {}), LiveClock())
        await other.set("slack.webhook", "https://hooks.example/T0/B0/xyzzy")
        await other.set("gone.soon", "value-to-delete")
        await other.delete("gone.soon")
        await db.close()
        module = app.modules["vault"]
        assert isinstance(module, VaultModule)
        assert await module.service.poll() == ["slack.webhook"]
        await asyncio.sleep(0.05)
        assert module.health().checks["secrets"] == 1
    assert [(e.name, e.version) for e in events] == [("slack.webhook", 1)]
    assert redactor.redact("posting to https://hooks.example/T0/B0/xyzzy") == "posting to ***"


async def test_logs_never_contain_a_stored_secret(tmp_path: Path) -> None:
    config = vault_config(tmp_path)
    pre = "preexisting-secret-4242"
    db = Database(config.store.database)
    await db.open()
    vault = await SecretVault.open(db, load_master_key(config.vault, {}), LiveClock())
    await vault.set("old.secret", pre)
    await db.close()
    log_file = tmp_path / "logs" / "viper.jsonl"
    redactor = Redactor()
    setup_logging(LoggingConfig(file=str(log_file), console=False), redactor)
    try:
        app = ViperApp(config, redactor=redactor)
        async with app.running():
            transport = httpx.ASGITransport(app=app.http)
            async with httpx.AsyncClient(transport=transport, base_url="http://v") as http:
                await http.post("/vault/credentials", json={"name": "new.secret", "value": KEY})
            logger.info("connecting with key {} and {}", KEY, pre)
            logger.bind(module="exchange").error(f"auth failed for {KEY}")
        logger.complete()
    finally:
        logger.remove()
    text = log_file.read_text()
    assert KEY not in text and pre not in text
    messages = [json.loads(line)["message"] for line in text.splitlines()]
    assert "connecting with key *** and ***" in messages
