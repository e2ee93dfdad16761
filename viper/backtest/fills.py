"""Fills of the backtest kernel: a position's exits (open gaps, signals, inside the bar) and entry.

Kernels (`viper.jit`) on the engine's arrays (`viper.backtest.layout` names their columns); prices,
fees and liquidation follow `viper.backtest.fees`, sizes `viper.risk_rules`.
"""

from __future__ import annotations

import numpy as np

from viper import risk_rules as rr
from viper.backtest.fees import fee, fill_price, liquidation_price
from viper.backtest.layout import (
    A_CASH,
    A_NTRADES,
    A_OPEN,
    C_FRACTION,
    C_LEVERAGE,
    C_MAKER,
    C_MAX_EXPOSURE,
    C_MAX_LEVERAGE,
    C_MAX_NOTIONAL,
    C_RISK,
    C_SIZING,
    C_SLIPPAGE,
    C_TAKER,
    ENTRY_LONG,
    ENTRY_SHORT,
    EXIT_LONG,
    EXIT_SHORT,
    M_MIN_AMOUNT,
    M_MIN_NOTIONAL,
    M_MMR,
    M_STEP,
    P_BEST,
    P_EFF,
    P_EFF_X,
    P_ENTRY,
    P_ENTRY_FEE,
    P_ENTRY_TS,
    P_FUNDING,
    P_LEVERAGE,
    P_LIQ,
    P_MARGIN,
    P_SIDE,
    P_SIZE,
    P_STOP,
    P_TP,
    P_TRAIL,
    SIZING_RISK,
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
    X_LIQUIDATION,
    X_SIGNAL,
    X_STOP,
    X_TAKE_PROFIT,
    X_TRAIL,
)
from viper.jit import kernel


@kernel()
def _close(pos, trades, acct, s, exit_ts, price, exit_fee, reason):  # type: ignore[no-untyped-def]
    """Book the exit of symbol `s`'s position at `price` as one trade record."""
    k = int(acct[A_NTRADES])
    side, size = pos[s, P_SIDE], pos[s, P_SIZE]
    pnl = size * (price - pos[s, P_ENTRY]) * side
    row = trades[k]
    row[T_SYMBOL], row[T_SIDE], row[T_SIZE] = s, side, size
    row[T_ENTRY_TS], row[T_EXIT_TS] = pos[s, P_ENTRY_TS], exit_ts
    row[T_ENTRY_PRICE], row[T_EXIT_PRICE] = pos[s, P_ENTRY], price
    row[T_ENTRY_FEE], row[T_EXIT_FEE] = pos[s, P_ENTRY_FEE], exit_fee
    row[T_FUNDING], row[T_PNL], row[T_REASON] = pos[s, P_FUNDING], pnl, reason
    row[T_LEVERAGE] = pos[s, P_LEVERAGE]
    acct[A_CASH] += pnl - exit_fee
    acct[A_NTRADES] = k + 1
    acct[A_OPEN] -= 1
    pos[s, P_SIDE] = 0.0


@kernel()
def market_exit(pos, trades, acct, cfg, s, exit_ts, price, reason):  # type: ignore[no-untyped-def]
    """Exit at `price` with a taker fill (slippage against the trader)."""
    px = fill_price(price, pos[s, P_SIDE] < 0, cfg[C_SLIPPAGE])
    _close(pos, trades, acct, s, exit_ts, px, fee(pos[s, P_SIZE], px, cfg[C_TAKER]), reason)


@kernel()
def _limit_exit(pos, trades, acct, cfg, s, exit_ts, price):  # type: ignore[no-untyped-def]
    """Take-profit exit at `price` with a maker fill (no slippage)."""
    exit_fee = fee(pos[s, P_SIZE], price, cfg[C_MAKER])
    _close(pos, trades, acct, s, exit_ts, price, exit_fee, X_TAKE_PROFIT)


@kernel()
def _liquidate(pos, trades, acct, s, exit_ts):  # type: ignore[no-untyped-def]
    """Liquidation: exit at the liquidation price; the rest of the margin is forfeited."""
    price = pos[s, P_LIQ]
    pnl = pos[s, P_SIZE] * (price - pos[s, P_ENTRY]) * pos[s, P_SIDE]
    forfeited = max(pos[s, P_MARGIN] + pnl, 0.0)
    _close(pos, trades, acct, s, exit_ts, price, forfeited, X_LIQUIDATION)


@kernel()
def stop_of(side, stop, trail, best):  # type: ignore[no-untyped-def]
    """The binding stop (fixed, or trailing `trail` behind `best`; NaN if none) and its reason."""
    if trail == trail:
        trailing = best - side * trail
        if stop != stop or (trailing - stop) * side > 0.0:
            return trailing, X_TRAIL
    return stop, X_STOP


@kernel()
def _beyond(price, level, side):  # type: ignore[no-untyped-def]
    """Whether `price` is at or past `level` against a position of `side` (NaN: never)."""
    return level == level and (price - level) * side <= 0.0


@kernel()
def acts_at_open(side, o, liq, stop, tp, f):  # type: ignore[no-untyped-def]
    """Whether a position must exit at this open: a gap through a level, or a signal."""
    if _beyond(o, liq, side) or _beyond(o, stop, side) or (tp == tp and (o - tp) * side >= 0.0):
        return True
    if side > 0:
        return (f & (EXIT_LONG | ENTRY_SHORT)) != 0
    return (f & (EXIT_SHORT | ENTRY_LONG)) != 0


@kernel()
def touched(side, h, lo, liq, stop, tp):  # type: ignore[no-untyped-def]
    """Whether the bar reaches the liquidation price, the stop or the take-profit."""
    worst, best = (lo, h) if side > 0 else (h, lo)
    return (
        _beyond(worst, liq, side)
        or _beyond(worst, stop, side)
        or (tp == tp and (best - tp) * side >= 0.0)
    )


@kernel()
def open_exits(pos, trades, acct, cfg, s, ts, o):  # type: ignore[no-untyped-def]
    """Exit at the open (after `acts_at_open`): liquidation, stop, take-profit, else signal."""
    side = pos[s, P_SIDE]
    if _beyond(o, pos[s, P_LIQ], side):
        _liquidate(pos, trades, acct, s, ts)
    elif _beyond(o, pos[s, P_EFF], side):
        market_exit(pos, trades, acct, cfg, s, ts, o, pos[s, P_EFF_X])
    elif pos[s, P_TP] == pos[s, P_TP] and (o - pos[s, P_TP]) * side >= 0.0:
        _limit_exit(pos, trades, acct, cfg, s, ts, o)
    else:
        market_exit(pos, trades, acct, cfg, s, ts, o, X_SIGNAL)


@kernel()
def intrabar(pos, trades, acct, cfg, s, ts, o, h, lo):  # type: ignore[no-untyped-def]
    """Exit inside the bar (after `touched`): liquidation, then the stop, then the take-profit."""
    side = pos[s, P_SIDE]
    worst = lo if side > 0 else h
    stop = pos[s, P_EFF]
    if _beyond(worst, pos[s, P_LIQ], side):
        _liquidate(pos, trades, acct, s, ts)
    elif _beyond(worst, stop, side):
        level = min(o, stop) if side > 0 else max(o, stop)
        market_exit(pos, trades, acct, cfg, s, ts, level, pos[s, P_EFF_X])
    else:
        tp = pos[s, P_TP]
        _limit_exit(pos, trades, acct, cfg, s, ts, max(o, tp) if side > 0 else min(o, tp))


@kernel()
def wanted_side(f):  # type: ignore[no-untyped-def]
    """+1 / -1 for an unambiguous entry flag, 0 for none or a contradiction."""
    if (f & ENTRY_LONG) != 0 and (f & (ENTRY_SHORT | EXIT_LONG)) == 0:
        return 1
    if (f & ENTRY_SHORT) != 0 and (f & (ENTRY_LONG | EXIT_SHORT)) == 0:
        return -1
    return 0


@kernel()
def entry_row(ent_offsets, ent_bar, ecur, s, prev):  # type: ignore[no-untyped-def]
    """Index of symbol `s`'s entry distances for decision bar `prev` (-1 if none)."""
    k, end = ecur[s], ent_offsets[s + 1]
    while k < end and ent_bar[k] < prev:
        k += 1
    ecur[s] = k
    return k if k < end and ent_bar[k] == prev else -1


@kernel()
def size_of(cfg, market, s, side, px, dist, equity, avail, exposure):  # type: ignore[no-untyped-def]
    """(size, reason code) of a new position through the shared risk rules."""
    if cfg[C_SIZING] == SIZING_RISK:
        if not dist[0] > 0.0:
            return 0.0, rr.NO_STOP
        base = rr.risk_size(equity, px, dist[0], side, cfg[C_RISK], cfg[C_TAKER], cfg[C_SLIPPAGE])
    else:
        base = rr.fixed_fraction_size(equity, px, cfg[C_FRACTION], cfg[C_TAKER])
    return rr.position_size(
        base,
        equity,
        px,
        cfg[C_LEVERAGE],
        cfg[C_MAX_LEVERAGE],
        cfg[C_MAX_NOTIONAL],
        avail,
        cfg[C_TAKER],
        exposure,
        cfg[C_MAX_EXPOSURE],
        market[s, M_STEP],
        market[s, M_MIN_AMOUNT],
        market[s, M_MIN_NOTIONAL],
    )


@kernel()
def open_position(pos, acct, cfg, market, s, side, ts, px, size, dist):  # type: ignore[no-untyped-def]
    """Open symbol `s`'s position: pay the entry fee, set stops, margin and liquidation price."""
    lev = cfg[C_LEVERAGE]
    entry_fee = fee(size, px, cfg[C_TAKER])
    acct[A_CASH] -= entry_fee
    acct[A_OPEN] += 1
    p = pos[s]
    p[P_SIDE], p[P_SIZE], p[P_ENTRY], p[P_ENTRY_TS] = side, size, px, ts
    p[P_STOP] = px - side * dist[0] if dist[0] > 0.0 else np.nan
    p[P_TP] = px + side * dist[1] if dist[1] > 0.0 else np.nan
    p[P_TRAIL] = dist[2] if dist[2] > 0.0 else np.nan
    p[P_BEST], p[P_MARGIN], p[P_ENTRY_FEE], p[P_FUNDING] = px, size * px / lev, entry_fee, 0.0
    p[P_LIQ] = liquidation_price(px, side, lev, market[s, M_MMR], cfg[C_TAKER])
    p[P_LEVERAGE] = lev
    p[P_EFF], p[P_EFF_X] = stop_of(side, p[P_STOP], p[P_TRAIL], px)
    return entry_fee
