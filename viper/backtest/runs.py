"""A backtest run from a request: validated against the candle store, executed, summarized.

`resolve` turns a `BacktestRequest` into a `BacktestSpec` (every default filled in, every
field checked, ValidationError naming the field otherwise); `execute` loads the spec's candles
and funding from the Parquet store and calls `run_backtest`. The backtester module runs
`execute` in a child process (`viper.backtest.child`), the CLI in-process: same candles, same
numbers. Strategy parameters named like `[signal]` keys (threshold, lookback, weights) default
to the config's values; `score_threshold` sets `threshold` unless `parameters` does; an unset
`exit_threshold` is capped at the threshold.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

import msgspec
import polars as pl

from viper.backtest.fees import FeeModel
from viper.backtest.metrics import BacktestResult
from viper.config import Config, RiskConfig, Section, SignalConfig, config_id
from viper.errors import NotFoundError, ValidationError
from viper.marketdata.frames import canonical_timeframe, iso_ms
from viper.protocols import BacktestRequest
from viper.store.backtests import BacktestSummary
from viper.store.candles import CandleStore
from viper.strategies import get_strategy
from viper.strategies.base import Strategy
from viper.timeframes import timeframe_ms

Sizing = Literal["risk", "fixed_fraction"]
Progress = Callable[[float], None]
LOAD_SHARE = 0.1  # share of the progress bar spent loading candles


class BacktestSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A validated backtest: everything a worker needs, nothing it must look up."""

    id: str
    source: str
    store_root: str
    exchange: str
    symbols: list[str]
    timeframe: str
    start_ms: int
    end_ms: int
    strategy: str
    params: dict[str, Any]
    initial_capital: float
    sizing: Sizing | None
    risk: RiskConfig
    fees: FeeModel = msgspec.field(default_factory=FeeModel)
    bars: int = 0


class RunSettings(Section, frozen=True):
    """What decides a run's numbers besides strategy, parameters and data (hashed by config_id)."""

    initial_capital: float
    sizing: Sizing
    risk: RiskConfig
    fees: FeeModel


class Outcome(NamedTuple):
    """An executed spec: the result (carrying the spec's id), the sizing actually used, the
    seconds it took, and the engine's own id of the inputs (equal for equal runs)."""

    result: BacktestResult
    sizing: Sizing
    seconds: float
    engine_id: str


def new_id() -> str:
    """A backtest id: unique, short, URL-safe."""
    return uuid.uuid4().hex[:16]


def parse_date(text: str, field: str) -> int:
    """An ISO 8601 date or time (UTC unless a zone is given) in milliseconds."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{field}: expected an ISO 8601 date such as 2025-01-01, got {text!r}", field=field
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def strategy_params(
    strategy: Strategy[Any], request: BacktestRequest, signal: SignalConfig
) -> dict[str, Any]:
    """The strategy's full, validated parameters; errors name `parameters.<name>`."""
    names = {f.name for f in msgspec.structs.fields(strategy.Params)}
    raw = dict(request.parameters)
    defaults = msgspec.structs.asdict(signal)
    if request.score_threshold is not None:
        defaults["threshold"] = request.score_threshold
    for name, value in defaults.items():
        if name in names and name not in raw:
            raw[name] = value
    threshold = raw.get("threshold")
    if "exit_threshold" in names and "exit_threshold" not in raw and _is_number(threshold):
        raw["exit_threshold"] = min(strategy.defaults()["exit_threshold"], threshold)
    try:
        return dict(msgspec.to_builtins(strategy.params(raw)))
    except ValidationError as exc:
        name = "parameters" if exc.field in (None, "params") else f"parameters.{exc.field}"
        detail = exc.detail.split(": ", 1)[-1].split(" - at ", 1)[0]
        if exc.field not in names and detail.startswith("Object contains unknown field"):
            known = ", ".join(sorted(names))
            detail = f"{strategy.name} has no such parameter; it has {known}"
        raise ValidationError(f"{name}: {detail}", field=name) from None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bars_in_range(
    store: CandleStore, exchange: str, symbol: str, timeframe: str, start: int, end: int
) -> int:
    """Bars of one symbol in [start, end), estimated from the stored span; errors name fields."""
    try:
        rows = store.row_count(exchange, symbol, timeframe)
    except ValidationError as exc:
        if exc.field != "symbol":
            raise
        raise ValidationError(f"symbols: {exc.detail}", field="symbols") from None
    if rows == 0:
        raise ValidationError(
            f"symbols: no {timeframe} candles stored for {symbol} on {exchange}", field="symbols"
        )
    first = store.first_timestamp(exchange, symbol, timeframe) or 0
    last = store.last_timestamp(exchange, symbol, timeframe) or 0
    step = timeframe_ms(timeframe)
    span = f"{symbol} {timeframe} candles are stored from {iso_ms(first)} to {iso_ms(last)}"
    if end <= first:
        raise ValidationError(f"end_date: no data before it; {span}", field="end_date")
    if start > last:
        raise ValidationError(f"start_date: no data after it; {span}", field="start_date")
    if store.read(exchange, symbol, timeframe, start, end, limit=1).is_empty():
        raise ValidationError(f"start_date: no data in the range; {span}", field="start_date")
    return max(1, (min(end, last + step) - max(start, first)) // step)


def resolve(
    request: BacktestRequest,
    config: Config,
    store: CandleStore,
    *,
    backtest_id: str,
    source: str = "api",
) -> BacktestSpec:
    """Check `request` against the config and the stored candles; blocking (store reads)."""
    strategy = get_strategy(request.strategy)
    params = strategy_params(strategy, request, config.signal)
    timeframe = canonical_timeframe(request.timeframe or config.trading.timeframe)
    start = parse_date(request.start_date, "start_date")
    end = parse_date(request.end_date, "end_date")
    if end <= start:
        raise ValidationError("end_date: must be after the start date", field="end_date")
    exchange = request.exchange or config.data.exchange or config.exchange.id
    symbols = list(dict.fromkeys(request.symbols))
    bars = sum(_bars_in_range(store, exchange, s, timeframe, start, end) for s in symbols)
    risk = config.risk
    if request.risk_per_trade is not None:
        risk = msgspec.structs.replace(risk, risk_per_trade=request.risk_per_trade)
    return BacktestSpec(
        id=backtest_id,
        source=source,
        store_root=str(store.root),
        exchange=exchange,
        symbols=symbols,
        timeframe=timeframe,
        start_ms=start,
        end_ms=end,
        strategy=strategy.name,
        params=params,
        initial_capital=request.initial_capital,
        sizing=request.sizing,
        risk=risk,
        bars=bars,
    )


def load(
    spec: BacktestSpec, progress: Progress | None = None
) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """The spec's candles and (where stored) funding rates, by symbol."""
    store = CandleStore(spec.store_root)
    frames, funding = {}, {}
    for i, symbol in enumerate(spec.symbols):
        frames[symbol] = store.read(
            spec.exchange, symbol, spec.timeframe, spec.start_ms, spec.end_ms
        )
        try:
            rates = store.read_funding(spec.exchange, symbol, spec.start_ms, spec.end_ms)
        except NotFoundError:
            rates = None
        if rates is not None and not rates.is_empty():
            funding[symbol] = rates
        if progress is not None:
            progress(LOAD_SHARE * (i + 1) / len(spec.symbols))
    return frames, funding


def execute(spec: BacktestSpec, progress: Progress | None = None) -> Outcome:
    """Load and run the spec; the result carries the spec's id. Blocking and CPU-bound."""
    from viper.backtest.portfolio import run_backtest  # numba: loads only in the job's process

    started = time.perf_counter()
    frames, funding = load(spec, progress)

    def scaled(fraction: float) -> None:
        if progress is not None:
            progress(LOAD_SHARE + (1.0 - LOAD_SHARE) * fraction)

    def run(sizing: Sizing) -> BacktestResult:
        return run_backtest(
            frames,
            spec.strategy,
            spec.params,
            risk=spec.risk,
            initial_capital=spec.initial_capital,
            timeframe=spec.timeframe,
            fees=spec.fees,
            sizing=sizing,
            funding=funding,
            progress=scaled,
        )

    sizing: Sizing = spec.sizing or "risk"
    try:
        result = run(sizing)
    except ValidationError as exc:
        if spec.sizing is not None or exc.field != "sizing":
            raise
        sizing = "fixed_fraction"  # the strategy set no stops: all equity at 1x
        result = run(sizing)
    engine_id = result.backtest_id
    result = msgspec.structs.replace(result, backtest_id=spec.id)
    return Outcome(result, sizing, time.perf_counter() - started, engine_id)


def settings_of(spec: BacktestSpec, sizing: Sizing) -> RunSettings:
    """The run's settings, as hashed into `config_id`."""
    return RunSettings(
        initial_capital=spec.initial_capital, sizing=sizing, risk=spec.risk, fees=spec.fees
    )


def summarize(
    spec: BacktestSpec, outcome: Outcome, *, created_ms: int, duration_seconds: float
) -> BacktestSummary:
    """The stored summary of one run."""
    settings = settings_of(spec, outcome.sizing)
    r = outcome.result
    return BacktestSummary(
        id=spec.id,
        created_ms=created_ms,
        source=spec.source,
        strategy=r.strategy,
        params=r.params,
        symbols=r.symbols,
        exchange=spec.exchange,
        timeframe=r.timeframe,
        start_ms=spec.start_ms,
        end_ms=spec.end_ms,
        period_start=r.period.start,
        period_end=r.period.end,
        initial_capital=r.initial_capital,
        final_capital=r.final_capital,
        total_return=r.total_return,
        win_rate=r.win_rate,
        max_drawdown=r.max_drawdown,
        total_trades=r.total_trades,
        sharpe_ratio=r.sharpe_ratio,
        sortino_ratio=r.sortino_ratio,
        profit_factor=r.profit_factor,
        cagr=r.cagr,
        calmar=r.calmar,
        exposure=r.exposure,
        total_fees=r.total_fees,
        total_funding=r.total_funding,
        liquidations=r.liquidations,
        bars=r.bars,
        settings=msgspec.to_builtins(settings),
        config_id=config_id(settings),
        result_hash=outcome.engine_id,
        duration_seconds=round(duration_seconds, 3),
    )
