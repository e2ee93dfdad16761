"""The vault service remembers verified tokens briefly: a revocation here counts at once, one
made by another process within seconds, and an expiry on time; a first admin token once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.unit.vault.conftest import file_key
from viper.clock import TestClock
from viper.errors import AuthError
from viper.logs import Redactor
from viper.modules.vault.service import VERIFIED_SECONDS, VaultService
from viper.protocols import TokenInfo
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


class CountedChecks:
    """Wraps the token store's verify: counts the database checks and can hold each one,
    after its read, until `release` is set."""

    def __init__(self, service: VaultService, hold: bool = False) -> None:
        self.calls = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        if not hold:
            self.release.set()
        self._verify = service.tokens.verify
        service.tokens.verify = self  # type: ignore[method-assign]

    async def __call__(self, token: str) -> TokenInfo:
        self.calls += 1
        try:
            return await self._verify(token)
        finally:
            self.started.set()
            await self.release.wait()


async def test_concurrent_requests_with_one_token_share_one_check(
    service: VaultService, clock: TestClock
) -> None:
    issued = await service.issue_token("ops", ["read"], None)
    checks = CountedChecks(service)
    infos = await asyncio.gather(*(service.verify(issued.token) for _ in range(20)))
    assert {info.id for info in infos} == {issued.id}
    assert checks.calls == 1
    clock.advance(VERIFIED_SECONDS)  # forgotten: the next burst checks once more
    await asyncio.gather(*(service.verify(issued.token) for _ in range(20)))
    assert checks.calls == 2


async def test_a_refused_token_is_refused_to_every_waiter_and_not_remembered(
    service: VaultService,
) -> None:
    checks = CountedChecks(service)
    token = "vpr_" + "A" * 43
    results = await asyncio.gather(
        *(service.verify(token) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, AuthError) and r.extra["reason"] == "unknown" for r in results)
    assert checks.calls == 1
    with pytest.raises(AuthError):
        await service.verify(token)
    assert checks.calls == 2


async def test_a_caller_that_gives_up_does_not_cancel_the_check_others_wait_for(
    service: VaultService,
) -> None:
    issued = await service.issue_token("ops", ["read"], None)
    checks = CountedChecks(service, hold=True)
    impatient = asyncio.create_task(service.verify(issued.token))
    await checks.started.wait()
    patient = asyncio.create_task(service.verify(issued.token))
    await asyncio.sleep(0)
    impatient.cancel()
    checks.release.set()
    assert (await patient).id == issued.id
    assert impatient.cancelled() and checks.calls == 1


async def test_a_check_that_spans_a_revocation_is_not_remembered(service: VaultService) -> None:
    issued = await service.issue_token("ops", ["read"], None)
    checks = CountedChecks(service, hold=True)
    begun = asyncio.create_task(service.verify(issued.token))
    await checks.started.wait()  # read before the revocation, answered after it
    await service.revoke_token(issued.id)
    checks.release.set()
    assert (await begun).id == issued.id
    with pytest.raises(AuthError) as caught:
        await service.verify(issued.token)
    assert caught.value.extra["reason"] == "revoked"
    assert checks.calls == 2
