"""Runs the enabled modules: dependency order, a state machine per module, clean teardown.

created -> starting -> running -> stopping -> stopped, or failed. Each change is published as
a `ModuleStateChanged` event. Stopping goes on past a failing module and reports every error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import msgspec
from loguru import logger

from viper.bus import EventBus
from viper.clock import Clock
from viper.errors import ConfigError, ViperError
from viper.events import ModuleStateChanged, ModuleStateName
from viper.modules.base import Health, Module, ModuleContext

ALLOWED: Mapping[ModuleStateName, frozenset[ModuleStateName]] = {
    "created": frozenset({"starting", "stopped"}),
    "starting": frozenset({"running", "failed"}),
    "running": frozenset({"stopping", "failed"}),
    "stopping": frozenset({"stopped", "failed"}),
    "stopped": frozenset({"starting"}),
    "failed": frozenset({"stopping", "stopped"}),
}


class StartupError(ViperError):
    """A module could not start; the process must not run half-built."""

    code = "startup_failed"


class ModuleStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What /health and /api/services/status say of one module."""

    name: str
    enabled: bool
    state: ModuleStateName | None
    health: Health | None = None
    requires: tuple[str, ...] = ()
    since_ms: int | None = None
    error: str = ""


def _before(module: Module, enabled: Mapping[str, Module]) -> tuple[str, ...]:
    """What must start before `module`: its requirements, then its `after` hints when enabled."""
    hints = tuple(name for name in getattr(module, "after", ()) if name in enabled)
    return (*module.requires, *hints)


def start_order(modules: Mapping[str, Module], names: Sequence[str]) -> list[str]:
    """Enabled modules in dependency order (ties keep `names` order).

    A module's `requires` must be enabled; its optional `after` names start first only when
    they are enabled. Raises ConfigError when a required module is not enabled, or on a cycle.
    """
    for name in names:
        for req in modules[name].requires:
            if req not in modules:
                raise ConfigError(
                    f"modules.enabled: module '{name}' requires '{req}', which is not enabled"
                )
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            raise ConfigError(f"modules.enabled: dependency cycle through '{name}'")
        visiting.add(name)
        for req in _before(modules[name], modules):
            visit(req)
        visiting.discard(name)
        ordered.append(name)

    for name in names:
        visit(name)
    return ordered


class ModuleRunner:
    """Starts modules in dependency order, stops them in reverse, and tracks their states."""

    def __init__(
        self,
        modules: Mapping[str, Module],
        make_context: Callable[[Module], ModuleContext],
        *,
        bus: EventBus,
        clock: Clock,
        all_names: Iterable[str],
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.modules = dict(modules)
        self.order = start_order(self.modules, list(self.modules))
        self.all_names = tuple(all_names)
        self._make_context = make_context
        self._bus = bus
        self._clock = clock
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self.states: dict[str, ModuleStateName] = dict.fromkeys(self.modules, "created")
        self.since_ms: dict[str, int] = dict.fromkeys(self.modules, clock.now_ms())
        self.errors: dict[str, str] = {}
        self.started_at: float | None = None
        self.transitions = (
            0  # module state changes so far (a snapshot of them is stale once this moves)
        )

    def _move(self, name: str, new: ModuleStateName, reason: str = "") -> bool:
        old = self.states[name]
        if new not in ALLOWED[old]:
            logger.warning("module {}: refused transition {} -> {}", name, old, new)
            return False
        self.states[name] = new
        self.transitions += 1
        self.since_ms[name] = self._clock.now_ms()
        self._bus.publish_nowait(
            ModuleStateChanged(
                ts_ms=self._clock.now_ms(), module=name, old=old, new=new, reason=reason
            )
        )
        return True

    async def start(self) -> None:
        """Start every module in order; on a failure stop those started and raise StartupError."""
        t0 = time.perf_counter()
        for name in self.order:
            module = self.modules[name]
            if not self._move(name, "starting"):
                continue
            try:
                await asyncio.wait_for(
                    module.start(self._make_context(module)), self._start_timeout
                )
            except Exception as exc:
                cause = (
                    f"did not start within {self._start_timeout:g} s"
                    if isinstance(exc, TimeoutError)
                    else _describe(exc)
                )
                self.errors[name] = cause
                self._move(name, "failed", cause)
                await self.stop()
                raise StartupError(f"module '{name}' failed to start: {cause}") from exc
            self._move(name, "running")
        self.started_at = time.time()
        logger.info(
            "{} modules running in {:.0f} ms: {}",
            len(self.order),
            1000 * (time.perf_counter() - t0),
            ", ".join(self.order),
        )

    async def stop(self) -> list[str]:
        """Stop every started module in reverse order; returns (and logs) every error."""
        problems: list[str] = []
        stopped: list[str] = []
        for name in reversed(self.order):
            state = self.states[name]
            if state in ("created", "stopped"):
                continue
            if state == "running" or state == "failed":
                self._move(name, "stopping")
            try:
                await asyncio.wait_for(self.modules[name].stop(), self._stop_timeout)
            except Exception as exc:
                cause = (
                    f"did not stop within {self._stop_timeout:g} s"
                    if isinstance(exc, TimeoutError)
                    else _describe(exc)
                )
                problems.append(f"{name}: {cause}")
                self.errors[name] = cause
                self._move(name, "failed", cause)
                logger.error("module {} failed to stop: {}", name, cause)
                continue
            self._move(name, "stopped")
            stopped.append(name)
        if stopped:
            logger.info("modules stopped: {}", ", ".join(stopped))
        return problems

    def status(self) -> list[ModuleStatus]:
        """Every known module, enabled or not, with its state and health."""
        result = []
        for name in self.all_names:
            module = self.modules.get(name)
            if module is None:
                result.append(ModuleStatus(name=name, enabled=False, state=None))
                continue
            state = self.states[name]
            result.append(
                ModuleStatus(
                    name=name,
                    enabled=True,
                    state=state,
                    health=_safe_health(module) if state == "running" else None,
                    requires=module.requires,
                    since_ms=self.since_ms[name],
                    error=self.errors.get(name, ""),
                )
            )
        return result


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, ViperError) else f"{type(exc).__name__}: {text}"


def _safe_health(module: Module) -> Health:
    try:
        return module.health()
    except Exception as exc:
        return Health(status="down", detail=f"health check failed: {_describe(exc)}")
