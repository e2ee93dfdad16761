"""What other processes on the bus run: kept from their `NodeStatus` heartbeats."""

from __future__ import annotations

import msgspec

from viper.clock import Clock
from viper.events import ModuleStateName, NodeStatus

# A node that missed this many heartbeats is forgotten.
MISSED_BEATS = 3


class NodeView(msgspec.Struct, frozen=True, kw_only=True):
    """Another process and the state of each module it runs."""

    node: str
    modules: dict[str, ModuleStateName]
    last_seen_ms: int
    age_seconds: float


class NodeTable:
    """Heartbeats of other processes, forgetting those that went quiet."""

    def __init__(self, own_node: str, clock: Clock) -> None:
        self._own = own_node
        self._clock = clock
        self._seen: dict[str, tuple[NodeStatus, float]] = {}

    def record(self, status: NodeStatus) -> None:
        """Remember a heartbeat (our own are ignored)."""
        if status.node != self._own:
            self._seen[status.node] = (status, self._clock.monotonic())

    def views(self) -> list[NodeView]:
        """Every node heard from recently, by name."""
        now = self._clock.monotonic()
        views = []
        for name, (status, seen) in sorted(self._seen.items()):
            age = now - seen
            if age > MISSED_BEATS * status.interval_seconds:
                del self._seen[name]
                continue
            views.append(
                NodeView(
                    node=name,
                    modules=dict(status.modules),
                    last_seen_ms=status.ts_ms,
                    age_seconds=round(age, 3),
                )
            )
        return views
