"""`run_backtest`: candle frames and a strategy in, a `BacktestResult` out.

This is what the backtester module, the optimizer and the CLI call. It validates the
request, runs the strategy on each symbol, lays the decisions on the aligned bar grid,
runs the numba kernel (`viper.backtest.engine`) and assembles the result (`metrics`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

import msgspec
import numpy as np
import polars as pl

from viper import risk_rules
from viper.backtest import inputs
from viper.backtest.engine import run_kernel
from viper.backtest.fees import FeeModel
from viper.backtest.layout import (
    A_NTRADES,
    C_DAILY_LIMIT,
    C_FRACTION,
    C_INITIAL,
    C_LEVERAGE,
    C_MAKER,
    C_MAX_DD,
    C_MAX_EXPOSURE,
    C_MAX_LEVERAGE,
    C_MAX_NOTIONAL,
    C_MAX_OPEN,
    C_RISK,
    C_SIZING,
    C_SLIPPAGE,
    C_TAKER,
    C_TF_MS,
    M_MIN_AMOUNT,
    M_MIN_NOTIONAL,
    M_MMR,
    M_STEP,
    N_CFG,
    N_MARKET,
    N_TRADE,
    SIZING_FIXED_FRACTION,
    SIZING_RISK,
)
from viper.backtest.metrics import BacktestResult
from viper.backtest.report import build_result
from viper.backtest.settings import BacktestSettings
from viper.config import RiskConfig
from viper.errors import ValidationError
from viper.risk_rules import MarketSpec
from viper.strategies import get_strategy
from viper.strategies.base import Strategy
from viper.timeframes import timeframe_ms

Progress = Callable[[float], None]


class Prepared(NamedTuple):
    """The kernel's inputs for one run."""

    symbols: list[str]
    ts: np.ndarray
    prices: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    flags: np.ndarray
    entries: inputs.Entries
    funding: inputs.FundingEvents
    bar_ms: int
    fingerprint: list[Any]


class Outputs(NamedTuple):
    """The kernel's outputs: trade records, equity per bar, rejections, final account."""

    trades: np.ndarray
    equity: np.ndarray
    drawdown: np.ndarray
    rejects: np.ndarray
    acct: np.ndarray


def _decide_all(
    frames: Mapping[str, pl.DataFrame],
    strategy: Strategy[Any],
    params: Any,
    tf_ms: int | None,
    funding: Mapping[str, pl.DataFrame] | None,
    progress: Progress | None,
) -> tuple[list[dict[str, np.ndarray]], list[inputs.SymbolDecisions], int]:
    """Each symbol's columns and compact decisions (one symbol's full arrays alive at a time)."""
    cols = [inputs.columns(symbol, frame) for symbol, frame in frames.items()]
    bar = inputs.bar_ms([c["timestamp"] for c in cols], tf_ms)
    decided = []
    for i, (symbol, c) in enumerate(zip(frames, cols, strict=True)):
        n = c["timestamp"].shape[0]
        events = inputs.funding_bars(c["timestamp"], bar, (funding or {}).get(symbol))
        bars = inputs.make_bars(c, inputs.funding_per_bar(n, *events))
        fast = strategy.packed(bars, params)
        if fast is not None:
            decided.append(inputs.SymbolDecisions(*fast, *events))
        else:
            out = strategy.decide(bars, params)
            inputs.check_decisions(symbol, out, n)
            decided.append(inputs.compact(out, events))
            del out
        del bars
        if progress is not None:
            progress(0.8 * (i + 1) / len(cols))
    return cols, decided, bar


def prepare(
    frames: Mapping[str, pl.DataFrame],
    strategy: Strategy[Any],
    params: Any,
    settings: BacktestSettings,
    funding: Mapping[str, pl.DataFrame] | None = None,
    progress: Progress | None = None,
) -> Prepared:
    """Run the strategy on every symbol and lay everything out for the kernel."""
    if not frames:
        raise ValidationError("frames: at least one symbol is needed", field="frames")
    tf = None if settings.timeframe is None else timeframe_ms(settings.timeframe)
    cols, decided, bar = _decide_all(frames, strategy, params, tf, funding, progress)
    ts, where = inputs.grid([c["timestamp"] for c in cols])
    n = ts.shape[0]
    prices = tuple(inputs.place([c[k] for c in cols], where, n) for k in inputs.COLUMNS[1:5])
    flags = np.zeros((len(cols), n), dtype=np.int8)
    offsets, e_bars, e_dist = [0], [], []
    f_bars, f_syms, f_rates = [], [], []
    for s, (d, w) in enumerate(zip(decided, where, strict=True)):
        flags[s, slice(None) if w is None else w] = d.flags
        e_bars.append(inputs.on_grid(d.entry_bars, w))
        e_dist.append(d.distances)
        offsets.append(offsets[-1] + d.entry_bars.shape[0])
        f_bars.append(inputs.on_grid(d.funding_bars, w))
        f_syms.append(np.full(d.funding_bars.shape[0], s, dtype=np.int64))
        f_rates.append(d.funding_rates)
    order = np.argsort(np.concatenate(f_bars), kind="stable")
    fingerprint = [
        [sym, int(c["timestamp"].shape[0]), int(c["timestamp"][0]), float(c["close"].sum())]
        for sym, c in zip(frames, cols, strict=True)
        if c["timestamp"].shape[0]
    ]
    return Prepared(
        symbols=list(frames),
        ts=ts,
        prices=prices,  # type: ignore[arg-type]
        flags=flags,
        entries=inputs.Entries(
            np.asarray(offsets, dtype=np.int64),
            np.concatenate(e_bars),
            np.concatenate([*e_dist, np.full((1, 3), np.nan)]),  # row -1: no distances
        ),
        funding=inputs.FundingEvents(
            np.concatenate(f_bars)[order],
            np.concatenate(f_syms)[order],
            np.concatenate(f_rates)[order],
        ),
        bar_ms=bar,
        fingerprint=fingerprint,
    )


def _config_vector(settings: BacktestSettings, bar: int) -> np.ndarray:
    risk, fees = settings.risk, settings.fees
    cfg = np.zeros(N_CFG)
    cfg[C_INITIAL] = settings.initial_capital
    cfg[C_SIZING] = SIZING_RISK if settings.sizing == "risk" else SIZING_FIXED_FRACTION
    cfg[C_RISK] = risk.risk_per_trade
    cfg[C_FRACTION] = settings.fraction
    cfg[C_LEVERAGE] = settings.position_leverage()
    cfg[C_MAX_LEVERAGE] = risk.max_leverage
    cfg[C_MAX_OPEN] = risk.max_open_positions
    cfg[C_DAILY_LIMIT] = risk.daily_loss_limit
    cfg[C_MAX_DD] = risk.max_drawdown
    cfg[C_MAX_EXPOSURE] = risk.max_total_exposure
    cfg[C_MAX_NOTIONAL] = risk.max_notional_per_symbol
    cfg[C_TAKER] = fees.taker_fee
    cfg[C_MAKER] = fees.maker_fee
    cfg[C_SLIPPAGE] = fees.slippage
    cfg[C_TF_MS] = bar
    return cfg


def _market_matrix(symbols: list[str], settings: BacktestSettings) -> np.ndarray:
    market = np.zeros((len(symbols), N_MARKET))
    for s, symbol in enumerate(symbols):
        spec = settings.markets.get(symbol, MarketSpec())
        mmr = spec.maintenance_margin_rate
        market[s, M_STEP] = spec.amount_step
        market[s, M_MIN_AMOUNT] = spec.min_amount
        market[s, M_MIN_NOTIONAL] = spec.min_notional
        market[s, M_MMR] = settings.fees.maintenance_margin_rate if mmr is None else mmr
    return market


def simulate(prepared: Prepared, settings: BacktestSettings) -> Outputs:
    """Run the numba kernel on prepared inputs."""
    unknown = sorted(set(settings.markets) - set(prepared.symbols))
    if unknown:
        raise ValidationError(f"markets: no candles for {', '.join(unknown)}", field="markets")
    funding = (
        prepared.funding
        if settings.fees.funding
        else inputs.FundingEvents(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    )
    trades = np.zeros((prepared.entries.bars.shape[0], N_TRADE))
    equity = np.empty(prepared.ts.shape[0])
    drawdown = np.empty(prepared.ts.shape[0])
    rejects = np.zeros(len(risk_rules.REASONS), dtype=np.int64)
    op, hi, lo, cl = prepared.prices
    acct = run_kernel(
        prepared.ts,
        op,
        hi,
        lo,
        cl,
        prepared.flags,
        tuple(prepared.entries),
        tuple(funding),
        _market_matrix(prepared.symbols, settings),
        _config_vector(settings, prepared.bar_ms),
        trades,
        equity,
        drawdown,
        rejects,
    )
    return Outputs(trades[: int(acct[A_NTRADES])], equity, drawdown, rejects, acct)


def _has_stops(prepared: Prepared) -> bool:
    stops = prepared.entries.distances[:-1, 0]  # the last row is the all-NaN sentinel
    return stops.size == 0 or bool(np.any(stops > 0))


def run_backtest(
    frames: Mapping[str, pl.DataFrame],
    strategy: str,
    params: Mapping[str, Any] | None = None,
    *,
    risk: RiskConfig | None = None,
    initial_capital: float = 10_000.0,
    timeframe: str | None = None,
    fees: FeeModel | None = None,
    sizing: Literal["risk", "fixed_fraction"] = "risk",
    fraction: float = 1.0,
    leverage: float | None = None,
    markets: Mapping[str, MarketSpec] | None = None,
    funding: Mapping[str, pl.DataFrame] | None = None,
    progress: Progress | None = None,
    curve_points: int = 2000,
    include_trades: bool = True,
) -> BacktestResult:
    """Backtest `strategy` with `params` on `frames` (symbol -> candles in the store schema).

    `funding` maps symbols to funding-rate frames (`timestamp`, `rate`); `progress` is called
    with the fraction done; `include_trades=False` skips building the trade list (the
    optimizer's case). Raises ValidationError naming the bad field or parameter.
    """
    chosen = get_strategy(strategy)
    parsed = chosen.params(params)
    try:
        settings = msgspec.convert(
            {
                "initial_capital": initial_capital,
                "timeframe": timeframe,
                "sizing": sizing,
                "fraction": fraction,
                "leverage": leverage,
                "risk": risk or RiskConfig(),
                "fees": fees or FeeModel(),
                "markets": dict(markets or {}),
                "curve_points": curve_points,
            },
            BacktestSettings,
            from_attributes=True,
        )
    except msgspec.ValidationError as exc:
        raise ValidationError(str(exc), field=_field_of(str(exc))) from exc
    return backtest(
        frames,
        chosen,
        parsed,
        settings,
        funding=funding,
        progress=progress,
        include_trades=include_trades,
    )


def backtest(
    frames: Mapping[str, pl.DataFrame],
    strategy: Strategy[Any],
    params: Any,
    settings: BacktestSettings,
    *,
    funding: Mapping[str, pl.DataFrame] | None = None,
    progress: Progress | None = None,
    include_trades: bool = True,
) -> BacktestResult:
    """`run_backtest` with the strategy, its parameters and the settings already validated."""
    prepared = prepare(frames, strategy, params, settings, funding, progress)
    if settings.sizing == "risk" and not _has_stops(prepared):
        raise ValidationError(
            f"sizing: {strategy.name} gave no stop distance, so risk sizing cannot size its "
            "entries; set a stop parameter or use sizing='fixed_fraction'",
            field="sizing",
        )
    out = simulate(prepared, settings)
    symbols, ts, bar, fingerprint = (
        prepared.symbols,
        prepared.ts,
        prepared.bar_ms,
        prepared.fingerprint,
    )
    del prepared  # its (symbols, bars) price grid is the largest array alive; the result needs none
    if progress is not None:
        progress(0.95)
    result = build_result(
        strategy=strategy.name,
        params=params,
        settings=settings,
        symbols=symbols,
        ts=ts,
        bar_ms=bar,
        fingerprint=fingerprint,
        trades=out.trades,
        equity=out.equity,
        drawdown=out.drawdown,
        rejects=out.rejects,
        acct=out.acct,
        include_trades=include_trades,
    )
    if progress is not None:
        progress(1.0)
    return result


def _field_of(message: str) -> str:
    marker = "at `$."
    if marker not in message:
        return "settings"
    return message.split(marker, 1)[1].split("`", 1)[0].split(".", 1)[0].split("[", 1)[0]
