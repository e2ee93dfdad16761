"""The backtest kernel: one numba loop over aligned bars of a portfolio of USDT-M perpetuals.

Arrays are (symbols, bars), NaN where a symbol has no bar; a decision made at a symbol's bar
acts at that symbol's next bar. Per bar, in this order:

1. day roll (UTC): the day's starting equity is reset and the daily-loss block lifted;
2. funding, on positions held into the bar that contains a funding event;
3. at the open: liquidation or stop gapped through, take-profit gapped through, then exits
   on the previous bar's signals (an exit flag or the opposite entry);
4. entries on the previous bar's decisions, gated and sized by `viper.risk_rules` on the
   current (mark-to-market at this open) equity, filled at the open plus slippage;
5. inside the bar: liquidation, stop (fixed or trailing), take-profit; the stop first when
   both are touched (pessimistic); trailing extremes move only after the bar;
6. at the close: mark-to-market equity, then the kill switch (flatten at the close, halt)
   and the daily loss limit (no entries until the next UTC day).

Open positions are closed at the last close at the end ("end_of_data"). The per-bar path
stays in `run_kernel` and calls only scalar helpers: passing arrays to a call costs
reference counting on every bar, so helpers that take arrays run only when something happens.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from viper import risk_rules as rr
from viper.backtest.fees import fill_price, funding_payment
from viper.backtest.fills import (
    acts_at_open,
    entry_row,
    intrabar,
    market_exit,
    open_exits,
    open_position,
    size_of,
    stop_of,
    touched,
    wanted_side,
)
from viper.backtest.layout import (
    A_BLOCKED,
    A_CASH,
    A_DAY,
    A_DAY_START,
    A_EQUITY,
    A_EXPOSED_BARS,
    A_FUNDING_EVENTS,
    A_HALTED,
    A_MAX_DD,
    A_OPEN,
    A_PEAK,
    A_RET_DOWN2,
    A_RET_M2,
    A_RET_MEAN,
    A_RET_N,
    C_DAILY_LIMIT,
    C_INITIAL,
    C_MAX_DD,
    C_MAX_OPEN,
    C_SLIPPAGE,
    C_TF_MS,
    DAY_MS,
    ENTRY_ANY,
    N_ACCT,
    N_POS,
    P_BEST,
    P_EFF,
    P_EFF_X,
    P_ENTRY,
    P_FUNDING,
    P_LIQ,
    P_MARGIN,
    P_SIDE,
    P_SIZE,
    P_STOP,
    P_TP,
    P_TRAIL,
    X_END,
    X_KILL_SWITCH,
)
from viper.jit import compile_namespace

compile_namespace(globals())  # the rules and fills this kernel calls, compiled


@njit(cache=True)
def _funding(pos, acct, open_, funding, fp, t):  # type: ignore[no-untyped-def]
    """Charge the funding events of bar t; returns the next event's index."""
    f_bar, f_sym, f_rate = funding
    while fp < f_bar.shape[0] and f_bar[fp] <= t:
        s = f_sym[fp]
        price = open_[s, t]
        if f_bar[fp] == t and pos[s, P_SIDE] != 0.0 and price == price:
            pay = funding_payment(pos[s, P_SIZE], price, pos[s, P_SIDE], f_rate[fp])
            acct[A_CASH] -= pay
            pos[s, P_FUNDING] += pay
            acct[A_FUNDING_EVENTS] += 1
        fp += 1
    return fp


@njit(cache=True)
def _mark(pos, acct, open_, last, t):  # type: ignore[no-untyped-def]
    """(equity, used margin, exposure) at bar t's open (last close where t has no bar)."""
    equity, used, exposure = acct[A_CASH], 0.0, 0.0
    for s in range(pos.shape[0]):
        side = pos[s, P_SIDE]
        if side != 0.0:
            price = open_[s, t] if open_[s, t] == open_[s, t] else last[s]
            equity += pos[s, P_SIZE] * (price - pos[s, P_ENTRY]) * side
            used += pos[s, P_MARGIN]
            exposure += pos[s, P_SIZE] * price
    return equity, used, exposure


@njit(cache=True)
def _entries(pos, acct, cfg, market, flags, entries, open_, last, prev, ecur, rejects, t, ts):  # type: ignore[no-untyped-def]
    """Open the positions that the previous bars' decisions ask for, in symbol order."""
    equity, used, exposure = _mark(pos, acct, open_, last, t)
    for s in range(pos.shape[0]):
        o, d = open_[s, t], prev[s]
        if o != o or d < 0 or pos[s, P_SIDE] != 0.0:
            continue
        side = wanted_side(flags[s, d])
        if side == 0:
            continue
        dist = entries[2][entry_row(entries[0], entries[1], ecur, s, d)]  # -1: the NaN row
        gate = rr.entry_gate(
            int(acct[A_OPEN]), int(cfg[C_MAX_OPEN]), acct[A_BLOCKED] != 0.0, acct[A_HALTED] != 0.0
        )
        if gate != rr.OK:
            rejects[gate] += 1
            continue
        px = fill_price(o, side > 0, cfg[C_SLIPPAGE])
        size, code = size_of(cfg, market, s, side, px, dist, equity, equity - used, exposure)
        if code != rr.OK:
            rejects[code] += 1
            continue
        equity -= open_position(pos, acct, cfg, market, s, side, ts, px, size, dist)
        used += pos[s, P_MARGIN]
        exposure += size * px


@njit(cache=True)
def _flatten(pos, trades, acct, cfg, last, exit_ts, reason):  # type: ignore[no-untyped-def]
    """Close every open position at its last close; returns the cash."""
    for s in range(pos.shape[0]):
        if pos[s, P_SIDE] != 0.0:
            market_exit(pos, trades, acct, cfg, s, exit_ts, last[s], reason)
    return acct[A_CASH]


@njit(cache=True)
def _curve_stats(equity, drawdown, acct, initial):  # type: ignore[no-untyped-def]
    """Drawdown per bar and the per-bar return moments (two passes: no division chain)."""
    n = equity.shape[0]
    returns = np.empty(n)
    peak, prev, total, down2, worst = initial, initial, 0.0, 0.0, 0.0
    for t in range(n):
        e = equity[t]
        peak = max(peak, e)
        drawdown[t] = 1.0 - e / peak if peak > 0.0 else 0.0
        worst = max(worst, drawdown[t])
        r = e / prev - 1.0 if prev > 0.0 else 0.0
        returns[t] = r
        total += r
        down2 += min(r, 0.0) ** 2
        prev = e
    mean = total / n if n else 0.0
    m2 = 0.0
    for t in range(n):
        m2 += (returns[t] - mean) ** 2
    acct[A_RET_N], acct[A_RET_MEAN], acct[A_RET_M2] = n, mean, m2
    acct[A_RET_DOWN2], acct[A_MAX_DD] = down2, worst


@njit(cache=True)
def _new_account(cfg, n_sym, ts0):  # type: ignore[no-untyped-def]
    acct = np.zeros(N_ACCT)
    for field in (A_CASH, A_EQUITY, A_PEAK, A_DAY_START):
        acct[field] = cfg[C_INITIAL]
    acct[A_DAY] = ts0 // DAY_MS
    return acct, np.zeros((n_sym, N_POS)), np.full(n_sym, -1, np.int64), np.full(n_sym, np.nan)


@njit(cache=True)
def run_kernel(  # type: ignore[no-untyped-def]
    ts,
    open_,
    high,
    low,
    close,
    flags,
    entries,
    funding,
    market,
    cfg,
    trades,
    equity,
    drawdown,
    rejects,
):
    """Simulate the portfolio into `trades`, `equity` and `drawdown` (per bar) and `rejects`.

    `entries` = (offsets per symbol, decision bar, (stop, take-profit, trail) distances) of every
    entry flag; `funding` = (bar, symbol, rate) of every funding event, sorted by bar.
    Returns the final account (`viper.backtest.layout` A_* fields).
    """
    n_sym, n_bar = open_.shape
    acct, pos, prev, last = _new_account(cfg, n_sym, ts[0] if n_bar else 0)
    ecur, fp, n_fund = entries[0][:-1].copy(), 0, funding[0].shape[0]
    next_day = (acct[A_DAY] + 1) * DAY_MS  # compare, not divide, on every bar
    for t in range(n_bar):
        if ts[t] >= next_day:
            acct[A_DAY], acct[A_DAY_START], acct[A_BLOCKED] = ts[t] // DAY_MS, acct[A_EQUITY], 0.0
            next_day = (acct[A_DAY] + 1) * DAY_MS
        if fp < n_fund and funding[0][fp] <= t:
            fp = _funding(pos, acct, open_, funding, fp, t)
        want = False
        for s in range(n_sym):
            o, d = open_[s, t], prev[s]
            if o != o or d < 0:
                continue
            side, f = pos[s, P_SIDE], flags[s, d]
            if side != 0.0 and acts_at_open(side, o, pos[s, P_LIQ], pos[s, P_EFF], pos[s, P_TP], f):
                open_exits(pos, trades, acct, cfg, s, ts[t], o)
            want = want or (pos[s, P_SIDE] == 0.0 and (f & ENTRY_ANY) != 0)
        if want:
            _entries(
                pos, acct, cfg, market, flags, entries, open_, last, prev, ecur, rejects, t, ts[t]
            )
        if acct[A_OPEN] > 0:
            acct[A_EXPOSED_BARS] += 1
        for s in range(n_sym):
            o = open_[s, t]
            if o == o:
                side = pos[s, P_SIDE]
                if side != 0.0:
                    h, lo = high[s, t], low[s, t]
                    if touched(side, h, lo, pos[s, P_LIQ], pos[s, P_EFF], pos[s, P_TP]):
                        intrabar(pos, trades, acct, cfg, s, ts[t], o, h, lo)
                    elif ((h if side > 0 else lo) - pos[s, P_BEST]) * side > 0.0:
                        pos[s, P_BEST] = h if side > 0 else lo
                        pos[s, P_EFF], pos[s, P_EFF_X] = stop_of(
                            side, pos[s, P_STOP], pos[s, P_TRAIL], pos[s, P_BEST]
                        )
                last[s], prev[s] = close[s, t], t
        value = acct[A_CASH]
        for s in range(n_sym):
            if pos[s, P_SIDE] != 0.0:
                value += pos[s, P_SIZE] * (last[s] - pos[s, P_ENTRY]) * pos[s, P_SIDE]
        acct[A_PEAK] = max(acct[A_PEAK], value)
        if acct[A_HALTED] == 0.0 and rr.kill_switch_hit(value, acct[A_PEAK], cfg[C_MAX_DD]):
            value = _flatten(pos, trades, acct, cfg, last, ts[t] + cfg[C_TF_MS], X_KILL_SWITCH)
            acct[A_HALTED] = 1.0
        if acct[A_BLOCKED] == 0.0 and rr.daily_loss_hit(
            acct[A_DAY_START], value, cfg[C_DAILY_LIMIT]
        ):
            acct[A_BLOCKED] = 1.0
        acct[A_EQUITY] = equity[t] = value
    for s in range(n_sym):
        if pos[s, P_SIDE] != 0.0:
            market_exit(pos, trades, acct, cfg, s, ts[prev[s]] + cfg[C_TF_MS], last[s], X_END)
    if n_bar > 0:
        acct[A_EQUITY] = equity[n_bar - 1] = acct[A_CASH]
    _curve_stats(equity, drawdown, acct, cfg[C_INITIAL])
    return acct
