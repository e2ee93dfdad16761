"""A parity report: the journal's live trades against a backtest of the same stored candles.

The backtest runs the configured strategy with the live engine's parameters, the `[risk]`
limits and the backtester's fee model on the candles given (which should start where the live
engine's history started: its warmup), with the order-size rules the live engine recorded.
Only trades entered in [since, until) are compared.

The parameters are those the live engine traded at `since`: a set applied through the
optimizer by then (the newest, the symbol's own or `*`), else the configured one
(`viper.strategies.live_params`). A set applied later in the period, or symbols trading
different sets at `since`, are named in the report's notes: trades after such a change are
compared against the reference set and may differ for that reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import msgspec
import polars as pl

from viper.backtest import BacktestResult, FeeModel, run_backtest
from viper.config import Config
from viper.marketdata.frames import iso_ms
from viper.optimizer.store import AppliedParameters, in_effect
from viper.parity.compare import backtest_trades, compare, summarize
from viper.parity.journal import applied_parameters, live_trades, market_specs, rejections
from viper.parity.models import ParityReport, ParityTrade, TradePair
from viper.risk_rules import MarketSpec
from viper.strategies import live_params
from viper.timeframes import timeframe_ms


def data_gaps(frame: pl.DataFrame, tf_ms: int) -> list[tuple[int, int]]:
    """(first missing open, next present open) of each hole in a candle frame."""
    stamps = frame["timestamp"].to_list()
    return [(a + tf_ms, b) for a, b in pairwise(stamps) if b - a > tf_ms]


def _described(applied: AppliedParameters) -> str:
    source = f"job {applied.source_job}" if applied.source_job else "the API"
    return f"applied {iso_ms(applied.applied_ms)} from {source} by {applied.actor or 'unknown'}"


def reference_params(
    config: Config,
    applied: Sequence[AppliedParameters],
    symbols: Sequence[str],
    since_ms: int,
    until_ms: int | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The parameters the live engine traded at `since_ms`, and notes on applied sets.

    `applied` in the order applied; per symbol the newest set applied by `since_ms` counts
    (its own over `*` at the same time), as the live engine chooses at start."""
    configured = live_params(config)
    chosen = {symbol: in_effect(applied, symbol, since_ms) for symbol in symbols}
    notes: list[str] = []
    distinct = {None if a is None else msgspec.json.encode(a.params) for a in chosen.values()}
    first = next(iter(chosen.values()), None)
    if len(distinct) > 1:
        params = configured
        own = ", ".join(f"{s} ({_described(a)})" for s, a in chosen.items() if a is not None)
        notes.append(
            f"symbols traded different parameter sets at the start ({own}; the others the "
            "configured set): the reference backtest uses the configured set"
        )
    elif first is not None:
        params = first.params
        notes.append(f"the reference backtest uses the parameters {_described(first)}")
    else:
        params = configured
    end = until_ms if until_ms is not None else 2**62
    for a in applied:
        if since_ms < a.applied_ms < end and (a.symbol == "*" or a.symbol in symbols):
            notes.append(
                f"parameters {_described(a)} for {a.symbol}: trades after then are compared "
                "against the reference set"
            )
    return params, notes


def reference_backtest(
    config: Config,
    frames: Mapping[str, pl.DataFrame],
    fees: FeeModel,
    markets: Mapping[str, MarketSpec],
    initial_capital: float | None = None,
    params: Mapping[str, Any] | None = None,
) -> BacktestResult:
    """The configured strategy with `params` (default: the configured parameters) and `[risk]`,
    on `frames`."""
    return run_backtest(
        frames,
        config.trading.strategy,
        dict(params) if params is not None else live_params(config),
        risk=config.risk,
        initial_capital=initial_capital or config.exchange.paper_balance,
        timeframe=config.trading.timeframe,
        fees=fees,
        markets=markets,
    )


def build_report(
    config: Config,
    frames: Mapping[str, pl.DataFrame],
    *,
    db_path: str | Path,
    since_ms: int,
    until_ms: int | None = None,
    initial_capital: float | None = None,
    fees: FeeModel | None = None,
) -> ParityReport:
    """Backtest `frames`, read the journal, pair and explain every trade in the period.

    `fees` is the backtest's exchange model (default: the backtester's, with no slippage for a
    paper account, whose fills have none); prices further apart than its slippage (and a tick)
    are reported as differences.
    """
    tf_ms, symbols = timeframe_ms(config.trading.timeframe), list(frames)
    if fees is None:
        fees = FeeModel(slippage_bps=0.0) if config.exchange.mode == "paper" else FeeModel()
    markets = market_specs(db_path, symbols)
    applied = applied_parameters(db_path, config.trading.strategy)
    params, notes = reference_params(config, applied, symbols, since_ms, until_ms)
    result = reference_backtest(config, frames, fees, markets, initial_capital, params)
    end = until_ms if until_ms is not None else 2**62

    def inside(trades: Sequence[ParityTrade]) -> list[ParityTrade]:
        return [t for t in trades if since_ms <= t.entry_ms < end]

    pairs = compare(
        inside(live_trades(db_path, symbols, tf_ms)),
        inside(backtest_trades(result)),
        refused=rejections(db_path, symbols),
        backtest_refusals=result.rejections,
        gaps={s: data_gaps(f, tf_ms) for s, f in frames.items()},
        tf_ms=tf_ms,
        slippage=fees.slippage,
    )
    return ParityReport(
        since_ms=since_ms,
        until_ms=until_ms,
        symbols=symbols,
        strategy=config.trading.strategy,
        summary=summarize(pairs),
        pairs=pairs,
        params=params,
        notes=notes,
    )


def _time(ms: int | None) -> str:
    return iso_ms(ms)[5:16].replace("T", " ") if ms is not None else "open"


def _price(value: float | None) -> str:
    return f"{value:.6g}" if value is not None else "-"


def _row(pair: TradePair) -> str:
    bt, live = pair.backtest, pair.live
    ref = bt if bt is not None else live
    entry = _time(ref.entry_ms if ref else None)
    exit_ = _time(ref.exit_ms if ref else None)
    prices = (
        f"{_price(bt.entry_price if bt else None)}/{_price(live.entry_price if live else None)}"
    )
    name = pair.symbol.split("/")[0]
    return (
        f"{name:<6} {pair.side:<5} {entry:<12} {exit_:<12} {prices:<24} "
        f"{pair.status:<19} {pair.explanation}"
    )


def format_report(report: ParityReport) -> str:
    """The report as a table and a summary, for a terminal."""
    head = (
        f"{'symbol':<6} {'side':<5} {'entry':<12} {'exit':<12} {'entry bt/live':<24} "
        f"{'status':<19} explanation"
    )
    s = report.summary
    lines = [head, "-" * len(head), *(_row(p) for p in report.pairs), ""]
    lines.append(
        f"{s.backtest_trades} backtest trades, {s.live_trades} live trades: {s.exact} exact, "
        f"{s.matched - s.exact} matching within tolerance, {s.differs} differing, {s.open} open, "
        f"{s.missing_in_live} missing in live, {s.missing_in_backtest} missing in the backtest"
    )
    if s.differences:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(s.differences.items()))
        lines.append(f"differences: {kinds}")
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)
