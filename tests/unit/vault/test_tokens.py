"""API tokens: shown once, stored as a peppered hash, verified with a reason for every refusal."""

from __future__ import annotations

import hashlib

import pytest

from viper.clock import TestClock
from viper.errors import AuthError, NotFoundError, ValidationError
from viper.protocols import TokenInfo
from viper.store.sqlite import Database
from viper.vault.store import SecretVault
from viper.vault.tokens import DAY_MS, TokenStore, check_scopes


@pytest.fixture
def tokens(vault: SecretVault, db: Database, clock: TestClock) -> TokenStore:
    return TokenStore(db, vault.pepper, clock)


async def reason(tokens: TokenStore, token: str) -> str:
    with pytest.raises(AuthError) as info:
        await tokens.verify(token)
    assert info.value.status == 401
    return str(info.value.extra["reason"])


async def test_issued_token_verifies_and_is_stored_only_as_a_keyed_hash(
    tokens: TokenStore, db: Database
) -> None:
    issued = await tokens.issue("dashboard", ["trade", "read", "trade"])
    assert issued.token.startswith("vpr_") and len(issued.token) == 47
    assert issued.scopes == ["read", "trade"]
    assert issued.token not in repr(issued) and issued.token not in str(issued)
    info = await tokens.verify(issued.token)
    assert info.id == issued.id and info.name == "dashboard" and info.allows("read")
    assert not info.allows("admin")
    raw = repr(await db.execute("SELECT * FROM vault_tokens"))
    assert issued.token not in raw
    assert hashlib.sha256(issued.token.encode()).hexdigest() not in raw  # peppered, not bare
    listed = await tokens.listing()
    assert [t.id for t in listed] == [issued.id] and type(listed[0]) is TokenInfo
    assert issued.token not in repr(listed)


async def test_verify_records_last_use_at_most_once_a_minute(
    tokens: TokenStore, clock: TestClock
) -> None:
    issued = await tokens.issue("bot", ["read"])
    first = await tokens.verify(issued.token)
    assert first.last_used_ms == clock.now_ms()
    clock.advance(10)
    assert (await tokens.verify(issued.token)).last_used_ms == first.last_used_ms
    clock.advance(60)
    assert (await tokens.verify(issued.token)).last_used_ms == clock.now_ms()


@pytest.mark.parametrize(
    "token",
    [
        "",
        "vpr_",
        "abc",
        "vpr_" + "a" * 42,
        "vpr_" + "a" * 44,
        "tok_" + "a" * 43,
        "vpr_" + "a" * 42 + "!",
        "Bearer vpr_" + "a" * 43,
    ],
)
async def test_malformed_tokens_are_refused_as_malformed(tokens: TokenStore, token: str) -> None:
    assert await reason(tokens, token) == "malformed"


async def test_unknown_revoked_and_expired_tokens_say_why(
    tokens: TokenStore, clock: TestClock
) -> None:
    assert await reason(tokens, "vpr_" + "A" * 43) == "unknown"
    revoked = await tokens.issue("old", ["admin"])
    info = await tokens.revoke(revoked.id)
    assert info.revoked_ms == clock.now_ms()
    assert (await tokens.revoke(revoked.id)).revoked_ms == info.revoked_ms  # again is harmless
    assert await reason(tokens, revoked.token) == "revoked"
    short = await tokens.issue("short", ["read"], expires_in_days=1)
    assert short.expires_ms == clock.now_ms() + DAY_MS
    await tokens.verify(short.token)
    clock.advance(86_400)
    assert await reason(tokens, short.token) == "expired"
    assert await tokens.active() == 0


async def test_a_token_of_another_vault_is_unknown(
    tokens: TokenStore, db: Database, clock: TestClock
) -> None:
    issued = await tokens.issue("ci", ["read"])
    other = TokenStore(db, b"another pepper of thirty-two b!!", clock)
    assert await reason(other, issued.token) == "unknown"


async def test_revoking_an_unknown_id_is_not_found(tokens: TokenStore) -> None:
    with pytest.raises(NotFoundError):
        await tokens.revoke("0123456789abcdef")


@pytest.mark.parametrize(
    ("name", "scopes", "days", "field"),
    [
        ("", ["read"], None, "name"),
        ("x" * 65, ["read"], None, "name"),
        ("ok", [], None, "scopes"),
        ("ok", ["root"], None, "scopes"),
        ("ok", ["read"], 0, "expires_in_days"),
        ("ok", ["read"], 5000, "expires_in_days"),
    ],
)
async def test_bad_issue_requests_name_the_field(
    tokens: TokenStore, name: str, scopes: list[str], days: int | None, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await tokens.issue(name, scopes, days)
    assert info.value.field == field


def test_scopes_rank_admin_over_trade_over_read() -> None:
    assert check_scopes([" admin", "read "]) == ["read", "admin"]
    info = TokenInfo(id="x", name="x", scopes=["trade"], created_ms=0)
    assert info.allows("read") and info.allows("trade") and not info.allows("admin")
