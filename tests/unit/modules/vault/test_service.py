"""The vault service remembers verified tokens briefly: a revocation here counts at once, one
made by another process within seconds, and an expiry on time; a first admin token once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.unit.vault.conftest import file_key
from viper.clock import TestClock
from viper.errors import AuthError
from viper.logs import Redactor
from viper.modules.vault.service import VERIFIED_SECONDS, VaultService
from viper.store.sqlite import Database
from viper.vault.store import SecretVault
from viper.vault.tokens import DAY_MS, TokenStore


async def _announce(name: str, version: int, removed: bool) -> None:
    return None


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "viper.db")
    await database.open()
    yield database
    await database.close()


@pytest.fixture
async def service(db: Database, tmp_path: Path, clock: TestClock) -> VaultService:
    vault = await SecretVault.open(db, file_key(tmp_path), clock)
    tokens = TokenStore(db, vault.pepper, clock)
    return VaultService(vault, tokens, Redactor(), _announce, clock)


async def test_a_revocation_through_the_service_counts_at_once(service: VaultService) -> None:
    issued = await service.issue_token("ops", ["trade"], None)
    assert (await service.verify(issued.token)).id == issued.id
    await service.revoke_token(issued.id)
    with pytest.raises(AuthError) as caught:
        await service.verify(issued.token)
    assert caught.value.extra["reason"] == "revoked"


async def test_a_revocation_by_another_process_counts_within_seconds(
    service: VaultService, db: Database, clock: TestClock
) -> None:
    issued = await service.issue_token("ops", ["read"], None)
    await service.verify(issued.token)
    await db.execute("UPDATE vault_tokens SET revoked_ms = 1 WHERE id = ?", (issued.id,))
    assert (await service.verify(issued.token)).id == issued.id  # still remembered
    clock.advance(VERIFIED_SECONDS)
    with pytest.raises(AuthError) as caught:
        await service.verify(issued.token)
    assert caught.value.extra["reason"] == "revoked"


async def test_a_remembered_token_still_expires_on_time(
    service: VaultService, clock: TestClock
) -> None:
    issued = await service.issue_token("ops", ["read"], 1)
    clock.advance(DAY_MS / 1000 - 1)
    await service.verify(issued.token)
    clock.advance(1)
    with pytest.raises(AuthError) as caught:
        await service.verify(issued.token)
    assert caught.value.extra["reason"] == "expired"


async def test_the_first_admin_token_is_issued_only_without_an_active_one(
    service: VaultService,
) -> None:
    first = await service.first_admin_token()
    assert first is not None and first.scopes == ["admin"]
    assert await service.first_admin_token() is None
    await service.revoke_token(first.id)
    assert await service.first_admin_token() is not None
