"""Prometheus metrics of the process: one registry per app, never the global one."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import psutil
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_statm: tuple[int, int] | None = None  # (pid, open fd of its /proc/<pid>/statm)


def rss_bytes() -> int:
    """Resident memory of this process, bytes: /proc/self/statm read through one open file
    (a few microseconds; `/health` asks on every request), psutil where there is no /proc."""
    global _statm
    pid = os.getpid()
    try:
        if _statm is None or _statm[0] != pid:  # a forked child opens its own
            _statm = (pid, os.open(f"/proc/{pid}/statm", os.O_RDONLY))
        return int(os.pread(_statm[1], 128, 0).split()[1]) * _PAGE_BYTES
    except (OSError, ValueError, IndexError):
        return int(psutil.Process(pid).memory_info().rss)


LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class HttpMetrics:
    """Requests by route and status, and their latency."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "viper_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "viper_response_time_seconds",
            "HTTP response time by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Callable[[], None], Callable]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and record its latency."""
        key = (method, route, status)
        pair = self._children.get(key)
        if pair is None:
            pair = (
                self.requests.labels(method, route, str(status)).inc,
                self.latency.labels(method, route).observe,
            )
            self._children[key] = pair
        pair[0]()
        pair[1](seconds)


class ModuleStateCollector(Collector):
    """`viper_module_up{module}`: 1 running, 0 otherwise; and the process RSS."""

    def __init__(self, states: Callable[[], dict[str, str]]) -> None:
        self._states = states

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("viper_module_up", "1 when the module is running", labels=["module"])
        for name, state in self._states().items():
            up.add_metric([name], 1.0 if state == "running" else 0.0)
        yield up
        memory = GaugeMetricFamily("viper_memory_usage", "Resident memory of the process, bytes")
        memory.add_metric([], float(rss_bytes()))
        yield memory


def new_registry() -> CollectorRegistry:
    """A registry with process and platform metrics."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


class BreakerMetrics:
    """Circuit breaker state (0 closed, 1 half-open, 2 open) and how often each opened."""

    CODES: dict[str, float] = {"closed": 0.0, "half_open": 1.0, "open": 2.0}

    def __init__(self, registry: CollectorRegistry) -> None:
        self.state = Gauge(
            "viper_circuit_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open",
            ["breaker"],
            registry=registry,
        )
        self.opened = Counter(
            "viper_circuit_opened", "Times a circuit breaker opened", ["breaker"], registry=registry
        )

    def on_change(self, name: str, old: str, new: str) -> None:
        """Pass as a CircuitBreaker's `on_change`."""
        self.state.labels(name).set(self.CODES.get(new, -1.0))
        if new == "open":
            self.opened.labels(name).inc()
