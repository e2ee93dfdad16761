"""Figures derived for monitoring: the risk score, job counts, request rate, and samples read
back from the Prometheus registry, so the JSON summary says what a scrape would say."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from prometheus_client import CollectorRegistry

from viper.protocols import BusFigures, RiskStatus
from viper.runner import ModuleStatus

# Modules that run jobs, the job kind they report, and the health checks that count them.
JOB_MODULES: dict[str, str] = {"backtester": "backtest", "optimizer": "optimize"}
JOB_STATES: tuple[str, ...] = ("queued", "running")
RATE_WINDOW_SECONDS = 60.0

Samples = dict[str, list[tuple[dict[str, str], float]]]


def risk_score(status: RiskStatus) -> float:
    """0..100: the share of the most used risk limit; 100 while the kill switch holds."""
    if status.halted:
        return 100.0
    used = max((use.fraction for use in status.limits.values()), default=0.0)
    return round(min(max(used, 0.0), 1.0) * 100.0, 2)


def job_counts(statuses: Iterable[ModuleStatus]) -> dict[str, dict[str, int]]:
    """Jobs queued and running per kind, from the health checks of the modules that run them."""
    counts: dict[str, dict[str, int]] = {}
    for status in statuses:
        kind = JOB_MODULES.get(status.name)
        if kind is None or status.health is None:
            continue
        checks = status.health.checks
        found = {s: int(checks[s]) for s in JOB_STATES if isinstance(checks.get(s), int | float)}
        if found:
            counts[kind] = found
    return counts


def read_samples(registry: CollectorRegistry, names: Iterable[str]) -> Samples:
    """Current samples of the named series (sample names, `_total` included)."""
    wanted = set(names)
    found: Samples = {name: [] for name in wanted}
    for family in registry.restricted_registry(wanted).collect():
        for sample in family.samples:
            if sample.name in wanted:
                found[sample.name].append((dict(sample.labels), float(sample.value)))
    return found


def total(samples: Samples, name: str) -> float:
    return sum(value for _, value in samples.get(name, ()))


def bus_figures(samples: Samples) -> BusFigures:
    depths = [value for _, value in samples.get("viper_bus_queue_depth", ())]
    return BusFigures(
        published=int(total(samples, "viper_bus_published_total")),
        queue_depth=int(sum(depths)),
        max_queue_depth=int(max(depths, default=0)),
        dropped=int(total(samples, "viper_bus_dropped_total")),
        handler_failures=int(total(samples, "viper_bus_handler_failures_total")),
    )


def server_errors(samples: Samples) -> int:
    """HTTP requests answered with a 5xx."""
    return int(
        sum(
            value
            for labels, value in samples.get("viper_http_requests_total", ())
            if labels.get("status", "").startswith("5")
        )
    )


class RateWindow:
    """Events per second over about the last `window` seconds, from readings of a total.

    Each `rate` call is a reading; the first one (no earlier reading) gives the rate since
    `origin`.
    """

    def __init__(self, origin: float, window: float = RATE_WINDOW_SECONDS) -> None:
        self._origin = origin
        self._window = window
        self._readings: deque[tuple[float, float]] = deque()

    def rate(self, now: float, count: float) -> float:
        readings = self._readings
        # Keep the newest reading older than the window as the base, and all within it.
        while len(readings) > 1 and readings[1][0] <= now - self._window:
            readings.popleft()
        base_time, base_count = readings[0] if readings else (self._origin, 0.0)
        readings.append((now, count))
        elapsed = now - base_time
        return round((count - base_count) / elapsed, 4) if elapsed > 0 else 0.0
