"""The vault as this process uses it: every value it holds goes to the log redactor, and every
change is announced by name and version (never the value), including changes made by
`viper vault` in another process, which `poll` notices.

Verified tokens are remembered for a few seconds, so an authenticated request costs no
database read; a revocation here takes effect at once, one made by another process (the
CLI) within `VERIFIED_SECONDS`, as quickly as a secret changed there is noticed. Requests
that present the same token while it is being checked wait for that one check, so a burst
of requests when the memory of a token runs out costs one database read, not one each.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable

from viper.auth.first_token import FIRST_TOKEN_NAME
from viper.clock import Clock
from viper.config import ExchangeConfig
from viper.protocols import SecretRedactor, TokenInfo
from viper.vault.crypto import SecretUnreadableError
from viper.vault.models import IssuedToken, SecretInfo, SecretMeta
from viper.vault.store import SecretVault
from viper.vault.tokens import TokenStore

# (vault name, ExchangeConfig field, the environment variable behind it)
EXCHANGE_IMPORTS: tuple[tuple[str, str, str], ...] = (
    ("bitget.api_key", "api_key", "BITGET_API_KEY"),
    ("bitget.api_secret", "api_secret", "BITGET_API_SECRET"),
    ("bitget.api_password", "api_password", "BITGET_API_PASSWORD"),
)
Announce = Callable[[str, int, bool], Awaitable[None]]
VERIFIED_SECONDS = 5.0
MAX_VERIFIED = 10_000


class VaultService:
    """Secrets and tokens for the routes, and the SecretStore, TokenVerifier and TokenBootstrap
    protocols."""

    def __init__(
        self,
        vault: SecretVault,
        tokens: TokenStore,
        redactor: SecretRedactor,
        announce: Announce,
        clock: Clock,
    ) -> None:
        self.vault = vault
        self.tokens = tokens
        self._clock = clock
        # sha256(token) -> (its info, when it was checked); the token itself is not kept.
        self._verified: dict[bytes, tuple[TokenInfo, float]] = {}
        self._checking: dict[bytes, asyncio.Future[TokenInfo]] = {}
        self._revocations = 0  # a check that spans a revocation is not remembered
        self._redactor = redactor
        self._announce = announce
        self._versions: dict[str, int] = {}
        self._lock = asyncio.Lock()  # changes and polls one at a time: versions stay in order
        self.unreadable: list[str] = []
        self.token_count = 0

    @property
    def secret_count(self) -> int:
        return len(self._versions)

    async def load(self) -> None:
        """Hide every stored value from the logs and remember each secret's version."""
        async with self._lock:
            values, self.unreadable = await self.vault.values()
            self._redactor.add(*values.values())
            self._versions = await self.vault.versions()
            self.token_count = await self.tokens.active()

    async def get(self, name: str) -> str | None:
        """The current value of `name` (SecretStore)."""
        return await self.vault.get(name)

    async def verify(self, token: str) -> TokenInfo:
        """The info of a valid token (TokenVerifier); AuthError with a reason otherwise."""
        key = hashlib.sha256(token.encode("utf-8", "replace")).digest()
        hit = self._verified.get(key)
        now = self._clock.monotonic()
        if hit is not None and now - hit[1] < VERIFIED_SECONDS:
            info = hit[0]
            if info.expires_ms is None or self._clock.now_ms() < info.expires_ms:
                return info
        checking = self._checking.get(key)
        if checking is None:
            checking = asyncio.ensure_future(self._check(key, token))
            self._checking[key] = checking
            checking.add_done_callback(lambda done: self._checked(key, done))
        # shielded: a caller that gives up does not cancel the check the others wait for
        return await asyncio.shield(checking)

    async def _check(self, key: bytes, token: str) -> TokenInfo:
        revocations = self._revocations
        info = await self.tokens.verify(token)  # AuthError: nothing is remembered
        if revocations == self._revocations:
            if len(self._verified) >= MAX_VERIFIED:
                self._verified.clear()
            self._verified[key] = (info, self._clock.monotonic())
        return info

    def _checked(self, key: bytes, done: asyncio.Future[TokenInfo]) -> None:
        if self._checking.get(key) is done:
            del self._checking[key]
        if not done.cancelled():
            done.exception()  # retrieved: an AuthError nobody awaited any more is not logged

    async def set(
        self, name: str, value: str, meta: SecretMeta | None = None
    ) -> tuple[SecretInfo, bool]:
        """Store a new version of `name`; returns it and whether the secret is new."""
        async with self._lock:
            info, created = await self.vault.set(name, value, meta)
            await self._changed(info, value)
        return info, created

    async def rotate(self, name: str, value: str) -> SecretInfo:
        """Replace the value of an existing secret."""
        async with self._lock:
            info = await self.vault.rotate(name, value)
            await self._changed(info, value)
        return info

    async def delete(self, name: str) -> SecretInfo:
        """Remove a secret."""
        async with self._lock:
            info = await self.vault.delete(name)
            self._versions.pop(info.name, None)
            await self._announce(info.name, info.version, True)
        return info

    async def list_secrets(self) -> list[SecretInfo]:
        return await self.vault.listing()

    async def import_exchange(self, exchange: ExchangeConfig) -> list[SecretInfo]:
        """Import the exchange credentials given through the config (BITGET_API_*), each only
        when set and different from the vault's; returns the versions written."""
        written: list[SecretInfo] = []
        for name, field, variable in EXCHANGE_IMPORTS:
            value = getattr(exchange, field).reveal()
            if not value:
                continue
            meta = SecretMeta(kind="exchange", description=f"imported from {variable}")
            async with self._lock:
                info = await self.vault.import_value(name, value, meta)
                if info is not None:
                    await self._changed(info, value)
                    written.append(info)
        return written

    async def _changed(self, info: SecretInfo, value: str) -> None:
        self._redactor.add(value)
        self._versions[info.name] = info.version
        if info.name in self.unreadable:
            self.unreadable = [n for n in self.unreadable if n != info.name]
        await self._announce(info.name, info.version, False)

    async def poll(self) -> list[str]:
        """Notice changes made by other processes: hide new values, announce each change;
        returns the names that changed."""
        async with self._lock:
            current = await self.vault.versions()
            changed = [n for n, v in current.items() if self._versions.get(n) != v]
            for name in changed:
                await self._reload(name, current[name])
            removed = sorted(set(self._versions) - set(current))
            for name in removed:
                await self._announce(name, self._versions.pop(name), True)
            self.unreadable = [n for n in self.unreadable if n in current]
            self.token_count = await self.tokens.active()
        return sorted([*changed, *removed])

    async def _reload(self, name: str, version: int) -> None:
        try:
            value = await self.vault.get(name)
        except SecretUnreadableError:
            self.unreadable = sorted({*self.unreadable, name})
        else:
            if value is not None:
                self._redactor.add(value)
            self.unreadable = [n for n in self.unreadable if n != name]
        self._versions[name] = version
        await self._announce(name, version, False)

    async def issue_token(
        self, name: str, scopes: list[str], expires_in_days: int | None
    ) -> IssuedToken:
        """A new token, hidden from the logs from now on."""
        issued = await self.tokens.issue(name, scopes, expires_in_days)
        self._redactor.add(issued.token)
        self.token_count = await self.tokens.active()
        return issued

    async def first_admin_token(self) -> IssuedToken | None:
        """An admin token issued now when no token is active (TokenBootstrap); else None."""
        if await self.tokens.active():
            return None
        return await self.issue_token(FIRST_TOKEN_NAME, ["admin"], None)

    async def list_tokens(self) -> list[TokenInfo]:
        return await self.tokens.listing()

    async def revoke_token(self, token_id: str) -> TokenInfo:
        info = await self.tokens.revoke(token_id)
        self._revocations += 1
        self._checking.clear()  # later requests check again; a check already begun is forgotten
        self._verified = {k: v for k, v in self._verified.items() if v[0].id != token_id}
        self.token_count = await self.tokens.active()
        return info
