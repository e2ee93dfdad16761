"""The vault module: encrypted secrets and API tokens behind /vault; provides SecretStore,
TokenVerifier and TokenBootstrap, and announces each change as a `SecretRotated` event."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.auth.first_token import TokenBootstrap
from viper.errors import ViperError
from viper.events import SecretRotated
from viper.logs import Redactor
from viper.modules.base import Health, ModuleContext
from viper.modules.vault.routes import routes
from viper.modules.vault.service import VaultService
from viper.protocols import SecretRedactor, SecretStore, TokenVerifier
from viper.vault.keys import load_master_key
from viper.vault.store import SecretVault
from viper.vault.tokens import TokenStore

# How often changes made by other processes (`viper vault ...`) are looked for.
WATCH_SECONDS = 5.0


class VaultModule:
    """Opens the vault at start (refusing a wrong master key), imports the exchange
    credentials from the config when asked, and serves secrets and tokens."""

    name = "vault"
    requires: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._service: VaultService | None = None
        self._ctx: ModuleContext | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    async def start(self, ctx: ModuleContext) -> None:
        self._ctx = ctx
        loaded = load_master_key(ctx.config.vault, os.environ)
        vault = await SecretVault.open(ctx.store, loaded, ctx.clock)
        if loaded.created:
            ctx.logger.warning(
                "created a new master key in {} (0600): back it up, the vault needs it", loaded.path
            )
        redactor = ctx.services.maybe(SecretRedactor)
        if redactor is None:  # no app-wide redactor (a bare test harness): keep a private one
            redactor = Redactor()
        service = VaultService(
            vault,
            TokenStore(ctx.store, vault.pepper, ctx.clock),
            redactor,
            self._announce,
            ctx.clock,
        )
        await service.load()
        if service.unreadable:
            ctx.logger.error(
                "secrets failing authentication (altered or swapped rows): {}",
                ", ".join(service.unreadable),
            )
        if ctx.config.vault.import_env:
            for info in await service.import_exchange(ctx.config.exchange):
                ctx.logger.info("imported {} from the config (version {})", info.name, info.version)
        self._service = service
        ctx.services.provide(SecretStore, service)
        ctx.services.provide(TokenVerifier, service)
        ctx.services.provide(TokenBootstrap, service)
        self._task = asyncio.create_task(self._watch(ctx, service), name="vault.watch")

    async def _announce(self, name: str, version: int, removed: bool) -> None:
        if self._ctx is None:
            return
        event = SecretRotated(
            ts_ms=self._ctx.clock.now_ms(), name=name, version=version, removed=removed
        )
        await self._ctx.bus.publish(event)

    async def _watch(self, ctx: ModuleContext, service: VaultService) -> None:
        """Pick up secrets changed by other processes, so rotation needs no restart."""
        while True:
            await ctx.clock.sleep(WATCH_SECONDS)
            try:
                changed = await service.poll()
            except ViperError as exc:
                ctx.logger.warning("vault watch: {}", exc.detail)
            except Exception as exc:  # keep watching: the next round may succeed
                ctx.logger.warning("vault watch failed: {}", type(exc).__name__)
            else:
                if changed:
                    ctx.logger.info("secrets changed elsewhere: {}", ", ".join(changed))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._ctx is not None:
            self._ctx.services.withdraw(SecretStore)
            self._ctx.services.withdraw(TokenVerifier)
            self._ctx.services.withdraw(TokenBootstrap)
        self._service = None

    def health(self) -> Health:
        service = self._service
        if service is None:
            return Health(status="down", detail="not started")
        checks = {
            "secrets": service.secret_count,
            "tokens": service.token_count,
            "key_source": service.vault.source,
        }
        if service.unreadable:
            detail = f"secrets failing authentication: {', '.join(service.unreadable)}"
            return Health(status="degraded", detail=detail, checks=checks)
        return Health(status="ok", checks=checks)

    @property
    def service(self) -> VaultService:
        if self._service is None:
            raise RuntimeError("vault module not started")
        return self._service
