"""The vault module: credential vault: encrypted secrets and API tokens."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.skeleton import SkeletonModule
from viper.modules.vault.routes import routes


class VaultModule(SkeletonModule):
    """Credential vault: encrypted secrets and API tokens."""

    name = "vault"
    requires: tuple[str, ...] = ()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
