"""The optimizer module: strategy optimizer: parameter search and walk-forward validation."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from viper.modules.optimizer.routes import routes
from viper.modules.skeleton import SkeletonModule


class OptimizerModule(SkeletonModule):
    """Strategy optimizer: parameter search and walk-forward validation."""

    name = "optimizer"
    requires: tuple[str, ...] = ("data",)

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes
