"""Backtest results: the result Structs and the statistics computed from trades and equity.

Ratios are fractions (0.12 = 12%). Returns are per bar, r_t = E_t / E_{t-1} - 1 with E_{-1}
the initial capital, annualised for markets that trade all year: k = 365 days / bar length.

    sharpe_ratio   mean(r) / std(r, ddof=1) * sqrt(k)                  (risk-free rate 0)
    sortino_ratio  mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(k)
    max_drawdown   max over t of 1 - E_t / max(initial, E_0..E_t)
    cagr           (final / initial) ^ (1 / years) - 1, years = bars * bar length / 365.25 days
    calmar         cagr / max_drawdown
    exposure       share of bars with at least one position held
    trade figures  net = pnl - entry fee - exit fee - funding; win rate = share of net > 0;
                   profit factor = sum of gains / sum of losses (None without losses)

Undefined figures (no variance, no losses, no drawdown) are None.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import msgspec
import numpy as np

from viper.backtest.layout import (
    EXIT_REASONS,
    T_ENTRY_FEE,
    T_EXIT_FEE,
    T_FUNDING,
    T_PNL,
    T_REASON,
    T_SYMBOL,
    X_LIQUIDATION,
)

YEAR_MS = 365 * 86_400_000


class Trade(msgspec.Struct, frozen=True, gc=False):
    """One closed trade; `net_pnl` = pnl - fees - funding (funding > 0 = paid).

    Positional (in this field order) because results may hold many thousands of them.
    """

    symbol: str
    side: Literal["long", "short"]
    entry_time: str
    exit_time: str
    entry_ms: int
    exit_ms: int
    entry_price: float
    exit_price: float
    size: float
    leverage: float
    entry_fee: float
    exit_fee: float
    funding: float
    pnl: float
    net_pnl: float
    exit_reason: str


class Period(msgspec.Struct, frozen=True, kw_only=True):
    """First bar's open and last bar's close, ISO 8601 UTC."""

    start: str
    end: str


class SymbolStats(msgspec.Struct, frozen=True, kw_only=True):
    """One symbol's share of the result."""

    total_trades: int
    win_rate: float
    net_pnl: float
    fees: float
    funding: float
    profit_factor: float | None
    average_trade: float


class EquityCurve(msgspec.Struct, frozen=True, kw_only=True):
    """Equity at bar closes (bar open times) and its drawdown from the running peak."""

    timestamps: list[int]
    equity: list[float]
    drawdown: list[float]


class BacktestResult(msgspec.Struct, frozen=True, kw_only=True):
    """A backtest's outcome in the original system's format, plus the newer figures."""

    backtest_id: str
    strategy: str
    params: dict[str, Any]
    symbols: list[str]
    timeframe: str
    period: Period
    initial_capital: float
    final_capital: float
    total_return: float
    win_rate: float
    max_drawdown: float
    total_trades: int
    sharpe_ratio: float | None
    sortino_ratio: float | None
    profit_factor: float | None
    cagr: float | None
    calmar: float | None
    exposure: float
    average_trade: float
    total_fees: float
    total_funding: float
    liquidations: int
    bars: int
    rejections: dict[str, int]
    exit_reasons: dict[str, int]
    per_symbol: dict[str, SymbolStats]
    trades: list[Trade]
    equity_curve: EquityCurve


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def iso(ms: np.ndarray) -> list[str]:
    """Millisecond timestamps as ISO 8601 UTC strings to the second ("2024-01-02T03:04:05Z"),
    as `np.datetime_as_string` writes them (years 0..9999), each distinct second formatted once
    (a trade list repeats its times: one trade's exit bar is often the next one's entry)."""
    seconds = np.floor_divide(np.asarray(ms, dtype=np.int64), 1000)
    if seconds.shape[0] < 64:
        return _iso_seconds(seconds).tolist()
    distinct, where = np.unique(seconds, return_inverse=True)
    text: list[str] = _iso_seconds(distinct).astype(object)[where].tolist()
    return text


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01 in the proleptic Gregorian calendar."""
    z = days + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097  # day of the 400-year era, 0..146096
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153  # month counted from March
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, doy - (153 * mp + 2) // 5 + 1


def _iso_seconds(seconds: np.ndarray) -> np.ndarray:
    """ISO strings (a NumPy unicode array) of seconds since the epoch, written digit by digit."""
    days = np.floor_divide(seconds, 86_400)
    second_of_day = seconds - days * 86_400
    year, month, day = _civil(days)
    fields = (
        (year, 4, 0),
        (month, 2, 5),
        (day, 2, 8),
        (second_of_day // 3_600, 2, 11),
        (second_of_day // 60 % 60, 2, 14),
        (second_of_day % 60, 2, 17),
    )
    out = np.empty((seconds.shape[0], 20), dtype=np.uint8)
    out[:] = np.frombuffer(b"0000-00-00T00:00:00Z", dtype=np.uint8)
    for value, width, at in fields:
        for k in range(width):
            out[:, at + k] += (value // 10 ** (width - 1 - k) % 10).astype(np.uint8)
    return out.view("S20").ravel().astype("U20")


def net_pnl(trades: np.ndarray) -> np.ndarray:
    """Net result of each trade record."""
    return trades[:, T_PNL] - trades[:, T_ENTRY_FEE] - trades[:, T_EXIT_FEE] - trades[:, T_FUNDING]


def trade_stats(net: np.ndarray) -> tuple[float, float | None, float]:
    """(win rate, profit factor, average net result) of some trades."""
    if net.size == 0:
        return 0.0, None, 0.0
    gains, losses = float(net[net > 0].sum()), float(-net[net < 0].sum())
    factor = gains / losses if losses > 0 else None
    return float((net > 0).mean()), factor, float(net.mean())


def return_ratios(
    n: int, mean: float, m2: float, down2: float, bar_ms: int
) -> tuple[float | None, float | None]:
    """(sharpe, sortino) from the per-bar return moments: count, mean, sum of squared
    deviations, sum of squared negative returns."""
    if n < 2:
        return None, None
    scale = math.sqrt(YEAR_MS / bar_ms)
    std = math.sqrt(m2 / (n - 1))
    downside = math.sqrt(down2 / n)
    sharpe = mean / std * scale if std > 0 else None
    sortino = mean / downside * scale if downside > 0 else None
    return sharpe, sortino


def growth(final: float, initial: float, years: float, max_dd: float) -> tuple[float | None, ...]:
    """(cagr, calmar)."""
    if years <= 0 or initial <= 0:
        return None, None
    cagr = (final / initial) ** (1.0 / years) - 1.0 if final > 0 else -1.0
    calmar = cagr / max_dd if max_dd > 0 else None
    return _finite(cagr), calmar


def curve(ts: np.ndarray, equity: np.ndarray, dd: np.ndarray, points: int) -> EquityCurve:
    """The equity curve, thinned to about `points` bars (0 = all) keeping the deepest drawdown."""
    n = equity.shape[0]
    if points <= 0 or n <= points:
        idx = np.arange(n)
    else:
        idx = np.unique(
            np.append(np.linspace(0, n - 1, points).round().astype(np.int64), dd.argmax())
        )
    return EquityCurve(
        timestamps=ts[idx].tolist(), equity=equity[idx].tolist(), drawdown=dd[idx].tolist()
    )


def per_symbol(trades: np.ndarray, net: np.ndarray, symbols: list[str]) -> dict[str, SymbolStats]:
    """Each symbol's trade figures."""
    out: dict[str, SymbolStats] = {}
    for i, symbol in enumerate(symbols):
        mine = trades[:, T_SYMBOL] == i
        win_rate, factor, average = trade_stats(net[mine])
        out[symbol] = SymbolStats(
            total_trades=int(mine.sum()),
            win_rate=win_rate,
            net_pnl=float(net[mine].sum()),
            fees=float((trades[mine, T_ENTRY_FEE] + trades[mine, T_EXIT_FEE]).sum()),
            funding=float(trades[mine, T_FUNDING].sum()),
            profit_factor=factor,
            average_trade=average,
        )
    return out


def counts(codes: np.ndarray, names: tuple[str, ...]) -> dict[str, int]:
    """How often each code occurs, by name (codes that never occur are left out)."""
    found = np.bincount(codes.astype(np.int64), minlength=len(names))
    return {names[i]: int(c) for i, c in enumerate(found.tolist()) if c}


def liquidations(trades: np.ndarray) -> int:
    """Trades that ended in liquidation."""
    return int((trades[:, T_REASON] == X_LIQUIDATION).sum())


def exit_reasons(trades: np.ndarray) -> dict[str, int]:
    """Trades by exit reason."""
    return counts(trades[:, T_REASON], EXIT_REASONS)
