"""Assemble a `BacktestResult` from the kernel's outputs (figures defined in `metrics`)."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import numpy as np

from viper import risk_rules
from viper.backtest import metrics
from viper.backtest.layout import (
    A_EXPOSED_BARS,
    A_MAX_DD,
    A_RET_DOWN2,
    A_RET_M2,
    A_RET_MEAN,
    A_RET_N,
    EXIT_REASONS,
    T_ENTRY_FEE,
    T_ENTRY_PRICE,
    T_ENTRY_TS,
    T_EXIT_FEE,
    T_EXIT_PRICE,
    T_EXIT_TS,
    T_FUNDING,
    T_LEVERAGE,
    T_PNL,
    T_REASON,
    T_SIDE,
    T_SIZE,
    T_SYMBOL,
)
from viper.backtest.metrics import BacktestResult, Period, Trade
from viper.marketdata.frames import timeframe_from_ms


def backtest_id(strategy: str, params: Any, settings: Any, fingerprint: list[Any]) -> str:
    """A stable id of the request and its data: equal inputs give equal ids."""
    payload = msgspec.json.encode(
        {"strategy": strategy, "params": params, "settings": settings, "data": fingerprint}
    )
    return hashlib.sha256(payload).hexdigest()[:16]


def _names(codes: np.ndarray, names: list[str] | tuple[str, ...]) -> list[str]:
    return np.asarray(names, dtype=object)[codes.astype(np.int64)].tolist() if codes.size else []


def trade_list(trades: np.ndarray, net: np.ndarray, symbols: list[str]) -> list[Trade]:
    """Trade records as Structs, built in chunks to keep the temporary lists small."""
    out: list[Trade] = []
    for start in range(0, trades.shape[0], _CHUNK):
        end = start + _CHUNK
        out.extend(_trade_chunk(trades[start:end], net[start:end], symbols))
    return out


_CHUNK = 20_000


def _trade_chunk(trades: np.ndarray, net: np.ndarray, symbols: list[str]) -> list[Trade]:
    """Trade records as Structs (positional, in `Trade`'s field order)."""
    entry_ms = trades[:, T_ENTRY_TS].astype(np.int64)
    exit_ms = trades[:, T_EXIT_TS].astype(np.int64)
    times = metrics.iso(np.concatenate([entry_ms, exit_ms]))  # shared times formatted once
    rows = zip(
        _names(trades[:, T_SYMBOL], symbols),
        _names((trades[:, T_SIDE] < 0).astype(np.int64), ("long", "short")),
        times[: entry_ms.shape[0]],
        times[entry_ms.shape[0] :],
        entry_ms.tolist(),
        exit_ms.tolist(),
        *(trades[:, c].tolist() for c in _PRICED),
        net.tolist(),
        _names(trades[:, T_REASON], EXIT_REASONS),
        strict=True,
    )
    return [Trade(*row) for row in rows]


_PRICED = (
    T_ENTRY_PRICE,
    T_EXIT_PRICE,
    T_SIZE,
    T_LEVERAGE,
    T_ENTRY_FEE,
    T_EXIT_FEE,
    T_FUNDING,
    T_PNL,
)


def build_result(
    *,
    strategy: str,
    params: Any,
    settings: Any,
    symbols: list[str],
    ts: np.ndarray,
    bar_ms: int,
    fingerprint: list[Any],
    trades: np.ndarray,
    equity: np.ndarray,
    drawdown: np.ndarray,
    rejects: np.ndarray,
    acct: np.ndarray,
    include_trades: bool = True,
) -> BacktestResult:
    """The result of one run (`include_trades=False` leaves the trade list empty)."""
    initial = float(settings.initial_capital)
    final = float(equity[-1]) if equity.size else initial
    net = metrics.net_pnl(trades)
    win_rate, factor, average = metrics.trade_stats(net)
    max_dd = float(acct[A_MAX_DD])
    sharpe, sortino = metrics.return_ratios(
        int(acct[A_RET_N]),
        float(acct[A_RET_MEAN]),
        float(acct[A_RET_M2]),
        float(acct[A_RET_DOWN2]),
        bar_ms,
    )
    years = ts.shape[0] * bar_ms / (365.25 * 86_400_000)
    cagr, calmar = metrics.growth(final, initial, years, max_dd)
    plain_params = msgspec.to_builtins(params)
    plain_settings = msgspec.to_builtins(settings)
    start = metrics.iso(ts[:1])[0] if ts.size else ""
    end = metrics.iso(ts[-1:] + bar_ms)[0] if ts.size else ""
    return BacktestResult(
        backtest_id=backtest_id(strategy, plain_params, plain_settings, fingerprint),
        strategy=strategy,
        params=plain_params,
        symbols=symbols,
        timeframe=timeframe_from_ms(bar_ms),
        period=Period(start=start, end=end),
        initial_capital=initial,
        final_capital=final,
        total_return=final / initial - 1.0,
        win_rate=win_rate,
        max_drawdown=max_dd,
        total_trades=int(trades.shape[0]),
        sharpe_ratio=sharpe,
        sortino_ratio=sortino,
        profit_factor=factor,
        cagr=cagr,
        calmar=calmar,
        exposure=float(acct[A_EXPOSED_BARS]) / ts.shape[0] if ts.size else 0.0,
        average_trade=average,
        total_fees=float((trades[:, T_ENTRY_FEE] + trades[:, T_EXIT_FEE]).sum()),
        total_funding=float(trades[:, T_FUNDING].sum()),
        liquidations=metrics.liquidations(trades),
        bars=int(ts.shape[0]),
        rejections={risk_rules.REASONS[i]: int(c) for i, c in enumerate(rejects.tolist()) if c},
        exit_reasons=metrics.exit_reasons(trades),
        per_symbol=metrics.per_symbol(trades, net, symbols),
        trades=trade_list(trades, net, symbols) if include_trades else [],
        equity_curve=metrics.curve(ts, equity, drawdown, settings.curve_points),
    )
