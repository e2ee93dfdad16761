"""The module contract: what every module is, what it is given, and how it says it is well.

A module is a class with a `name` (its config key and mount), what it `requires`, its
`routes`, `start(ctx)`, `stop()` and `health()`. `ModuleContext` hands it everything it may
use; it looks nothing up by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

import msgspec
from starlette.routing import BaseRoute

from viper.errors import ConfigError

if TYPE_CHECKING:
    import loguru
    from prometheus_client import CollectorRegistry

    from viper.bus import EventBus
    from viper.clock import Clock
    from viper.config import Config, Section
    from viper.store.sqlite import Database

T = TypeVar("T")
HealthState = Literal["ok", "degraded", "down"]


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """A module's own view of its health."""

    status: HealthState = "ok"
    detail: str = ""
    checks: dict[str, Any] = msgspec.field(default_factory=dict)


@runtime_checkable
class Module(Protocol):
    """What the runner needs of a module."""

    name: str
    requires: tuple[str, ...]

    @property
    def routes(self) -> Sequence[BaseRoute]:
        """Routes served under `/<name>`."""
        ...

    async def start(self, ctx: ModuleContext) -> None:
        """Acquire resources, subscribe, start named tasks."""
        ...

    async def stop(self) -> None:
        """Release everything; safe twice and after a failed start."""
        ...

    def health(self) -> Health:
        """Cheap, synchronous health check."""
        ...


class Services:
    """The narrow protocols the core declares (Exchange, RiskGate, ...) and their providers.

    A module that provides a protocol registers it in `start`; modules that require that
    module start later and find it here.
    """

    def __init__(self) -> None:
        self._impls: dict[type, object] = {}

    def provide(self, protocol: type[T], impl: T) -> None:
        """Register `impl` as the provider of `protocol`."""
        self._impls[protocol] = impl

    def withdraw(self, protocol: type) -> None:
        """Forget the provider of `protocol` (on stop)."""
        self._impls.pop(protocol, None)

    def get(self, protocol: type[T]) -> T:
        """The provider of `protocol`; a ConfigError names the missing piece."""
        impl = self._impls.get(protocol)
        if impl is None:
            raise ConfigError(f"no enabled module provides {protocol.__name__}")
        return impl  # type: ignore[return-value]

    def maybe(self, protocol: type[T]) -> T | None:
        """The provider of `protocol`, or None when no enabled module provides it."""
        return self._impls.get(protocol)  # type: ignore[return-value]


class ModuleContext:
    """Everything a module is handed at start."""

    def __init__(
        self,
        *,
        name: str,
        section: Section | None,
        config: Config,
        bus: EventBus,
        clock: Clock,
        store: Database,
        metrics: CollectorRegistry,
        logger: loguru.Logger,
        services: Services,
    ) -> None:
        self.name = name
        self.section = section
        self.config = config
        self.bus = bus
        self.clock = clock
        self.store = store
        self.metrics = metrics
        self.logger = logger
        self.services = services
