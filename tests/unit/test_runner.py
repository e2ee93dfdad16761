"""Module runner: dependency order, the state machine, failures named, teardown in reverse."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from loguru import logger
from starlette.routing import BaseRoute

from viper.bus import InMemoryBus
from viper.clock import TestClock
from viper.config import Config
from viper.errors import ConfigError
from viper.events import ModuleStateChanged
from viper.modules.base import Health, Module, ModuleContext, Services
from viper.runner import ModuleRunner, StartupError, start_order
from viper.store.sqlite import Database


class Probe:
    """A module that records what happened to it."""

    def __init__(
        self,
        name: str,
        requires: tuple[str, ...] = (),
        journal: list[str] | None = None,
        fail_start: Exception | None = None,
        fail_stop: Exception | None = None,
        start_delay: float = 0.0,
    ) -> None:
        self.name = name
        self.requires = requires
        self.journal = journal if journal is not None else []
        self.fail_start = fail_start
        self.fail_stop = fail_stop
        self.start_delay = start_delay

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return []

    async def start(self, ctx: ModuleContext) -> None:
        self.journal.append(f"start {self.name}")
        if self.start_delay:
            await asyncio.sleep(self.start_delay)
        if self.fail_start:
            raise self.fail_start

    async def stop(self) -> None:
        self.journal.append(f"stop {self.name}")
        if self.fail_stop:
            raise self.fail_stop

    def health(self) -> Health:
        return Health()


def make_runner(
    modules: list[Probe], bus: InMemoryBus | None = None, **kwargs: float
) -> ModuleRunner:
    clock = TestClock()
    bus = bus or InMemoryBus()
    by_name: dict[str, Module] = {m.name: m for m in modules}

    def context(module: Module) -> ModuleContext:
        return ModuleContext(
            name=module.name,
            section=None,
            config=Config(),
            bus=bus,
            clock=clock,
            store=Database(":memory:"),
            metrics=None,  # type: ignore[arg-type]
            logger=logger,
            services=Services(),
        )

    return ModuleRunner(
        by_name, context, bus=bus, clock=clock, all_names=[*by_name, "ghost"], **kwargs
    )


def test_start_order_puts_requirements_first_and_keeps_given_order_otherwise() -> None:
    modules: dict[str, Module] = {
        m.name: m
        for m in [
            Probe("live", ("signal", "order")),
            Probe("signal"),
            Probe("order", ("exchange",)),
            Probe("exchange"),
        ]
    }
    assert start_order(modules, list(modules)) == ["signal", "exchange", "order", "live"]


def test_a_required_module_that_is_off_is_a_config_error_naming_both() -> None:
    modules: dict[str, Module] = {"live": Probe("live", ("risk",))}
    with pytest.raises(ConfigError, match="module 'live' requires 'risk', which is not enabled"):
        start_order(modules, ["live"])


def test_a_dependency_cycle_is_a_config_error() -> None:
    modules: dict[str, Module] = {"a": Probe("a", ("b",)), "b": Probe("b", ("a",))}
    with pytest.raises(ConfigError, match="cycle"):
        start_order(modules, ["a", "b"])


async def test_starts_in_order_stops_in_reverse_and_publishes_each_state() -> None:
    journal: list[str] = []
    bus = InMemoryBus()
    changes: list[tuple[str, str, str]] = []

    async def record(event: ModuleStateChanged) -> None:
        changes.append((event.module, event.old, event.new))

    bus.subscribe(ModuleStateChanged, record, name="test")
    runner = make_runner([Probe("b", ("a",), journal), Probe("a", (), journal)], bus)
    await bus.start()
    await runner.start()
    assert runner.states == {"a": "running", "b": "running"}
    await runner.stop()
    await bus.stop()
    assert journal == ["start a", "start b", "stop b", "stop a"]
    assert changes[:4] == [
        ("a", "created", "starting"),
        ("a", "starting", "running"),
        ("b", "created", "starting"),
        ("b", "starting", "running"),
    ]
    assert changes[-2:] == [("a", "running", "stopping"), ("a", "stopping", "stopped")]


async def test_failed_start_names_the_module_and_stops_those_already_started() -> None:
    journal: list[str] = []
    runner = make_runner(
        [
            Probe("a", (), journal),
            Probe("b", ("a",), journal, fail_start=OSError("port 8005 in use")),
            Probe("c", ("b",), journal),
        ]
    )
    with pytest.raises(
        StartupError, match=r"module 'b' failed to start: OSError: port 8005 in use"
    ):
        await runner.start()
    assert journal == ["start a", "start b", "stop b", "stop a"]
    assert runner.states == {"a": "stopped", "b": "stopped", "c": "created"}
    assert runner.errors["b"] == "OSError: port 8005 in use"


async def test_a_module_that_hangs_at_start_fails_after_the_timeout() -> None:
    runner = make_runner([Probe("slow", start_delay=5)], start_timeout=0.05)
    with pytest.raises(StartupError, match=r"did not start within 0\.05 s"):
        await runner.start()


async def test_stop_goes_on_past_a_failing_module_and_reports_every_error() -> None:
    journal: list[str] = []
    runner = make_runner(
        [
            Probe("a", (), journal, fail_stop=RuntimeError("a broke")),
            Probe("b", (), journal),
            Probe("c", (), journal, fail_stop=RuntimeError("c broke")),
        ]
    )
    await runner.start()
    problems = await runner.stop()
    assert journal[-3:] == ["stop c", "stop b", "stop a"]
    assert problems == ["c: RuntimeError: c broke", "a: RuntimeError: a broke"]
    assert runner.states == {"a": "failed", "b": "stopped", "c": "failed"}


async def test_stop_twice_is_harmless() -> None:
    journal: list[str] = []
    runner = make_runner([Probe("a", (), journal)])
    await runner.start()
    await runner.stop()
    await runner.stop()
    assert journal == ["start a", "stop a"]


async def test_status_lists_disabled_modules_too() -> None:
    runner = make_runner([Probe("a")])
    await runner.start()
    status = {s.name: s for s in runner.status()}
    assert status["a"].enabled and status["a"].state == "running"
    assert status["a"].health == Health()
    assert not status["ghost"].enabled and status["ghost"].state is None
    await runner.stop()


def test_refused_transition_is_not_executed() -> None:
    runner = make_runner([Probe("a")])
    assert runner._move("a", "running") is False
    assert runner.states["a"] == "created"


def test_after_hints_order_enabled_modules_and_ignore_disabled_ones() -> None:
    exchange = Probe("exchange")
    exchange.after = ("vault",)  # type: ignore[attr-defined]
    with_vault: dict[str, Module] = {"exchange": exchange, "vault": Probe("vault")}
    assert start_order(with_vault, ["exchange", "vault"]) == ["vault", "exchange"]
    without_vault: dict[str, Module] = {"exchange": exchange}
    assert start_order(without_vault, ["exchange"]) == ["exchange"]
