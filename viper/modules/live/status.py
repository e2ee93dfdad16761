"""What `/live/trade` reports: trading state, reduce-only reasons, strategy and counters."""

from __future__ import annotations

from typing import Any

import msgspec

from viper.modules.live.engine import LiveEngine


class ParamsSource(msgspec.Struct, frozen=True, kw_only=True):
    """Where a symbol's applied parameters came from: the optimization, who, when."""

    source_job: str
    actor: str
    applied_ms: int


class LiveStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The engine's state, why it may only reduce, and what it has done.

    `params` are the configured parameters; `symbol_params` what each symbol trades now, and
    `applied` the source of those that came from the optimizer instead of the config."""

    state: str
    reduce_only: bool
    reasons: list[str]
    strategy: str
    params: dict[str, Any]
    symbol_params: dict[str, dict[str, Any]]
    applied: dict[str, ParamsSource]
    symbols: list[str]
    timeframe: str
    stops: str
    warmup_bars: int
    bars: dict[str, int]
    positions: int
    counts: dict[str, int]
    last_bar_ms: dict[str, int | None]


def live_status(
    engine: LiveEngine, params: Any, applied: dict[str, ParamsSource], timeframe: str
) -> LiveStatus:
    """The status of `engine`."""
    return LiveStatus(
        state=engine.state,
        reduce_only=bool(engine.reduce_only),
        reasons=sorted(engine.reduce_only.values()),
        strategy=engine.strategy,
        params=msgspec.to_builtins(params),
        symbol_params={s: msgspec.to_builtins(r.params) for s, r in engine.runners.items()},
        applied=dict(sorted(applied.items())),
        symbols=list(engine.runners),
        timeframe=timeframe,
        stops=engine.stops,
        warmup_bars=engine.warmup_bars,
        bars={s: r.bars for s, r in engine.runners.items()},
        positions=len(engine.positions),
        counts=dict(engine.counts),
        last_bar_ms={s: r.last_ms for s, r in engine.runners.items()},
    )
