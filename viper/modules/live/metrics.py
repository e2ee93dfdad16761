"""Prometheus figures of the live engine, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from viper.modules.live.module import LiveModule

STATES = ("running", "paused", "stopped")


class LiveCollector(Collector):
    """State, reduce-only flag, managed positions and intents by kind."""

    def __init__(self, module: LiveModule) -> None:
        self._module = module

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        engine = self._module.engine_or_none
        state = GaugeMetricFamily("viper_live_state", "1 for the engine's state", labels=["state"])
        reduce_only = GaugeMetricFamily("viper_live_reduce_only", "1 while only exits are sent")
        positions = GaugeMetricFamily("viper_live_positions", "Positions the engine manages")
        intents = CounterMetricFamily("viper_live_intents", "Intents by kind", labels=["kind"])
        if engine is not None:
            for name in STATES:
                state.add_metric([name], 1.0 if engine.state == name else 0.0)
            reduce_only.add_metric([], 1.0 if engine.reduce_only else 0.0)
            positions.add_metric([], len(engine.positions))
            for kind, count in engine.counts.items():
                intents.add_metric([kind], count)
        yield from (state, reduce_only, positions, intents)
