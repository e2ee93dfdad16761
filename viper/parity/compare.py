"""Pairing live and backtest trades, and explaining every difference.

Pairs are made per symbol and side: the same entry bar first, then the nearest entry within
`NEAR_BARS`. A pair differs when its entry or exit bar, its exit reason, or a price beyond the
modelled slippage differs; a size apart by more than `SIZE_TOLERANCE` is reported (the equity
path differs) without making the pair differ.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from viper.backtest import BacktestResult
from viper.parity.models import ParitySummary, ParityTrade, Rejection, Status, TradePair

NEAR_BARS = 3  # an entry this many bars away still pairs (as "entry time differs")
SIZE_TOLERANCE = 0.01
TICK_BPS = 0.5  # allowance beyond the slippage for prices rounded to the market's tick


def backtest_trades(result: BacktestResult) -> list[ParityTrade]:
    """The backtest's trades in parity's shape."""
    return [
        ParityTrade(
            symbol=t.symbol,
            side=t.side,
            entry_ms=t.entry_ms,
            entry_price=t.entry_price,
            size=t.size,
            exit_ms=t.exit_ms,
            exit_price=t.exit_price,
            exit_reason=t.exit_reason,
            fees=t.entry_fee + t.exit_fee,
        )
        for t in result.trades
    ]


def _pair(
    live: list[ParityTrade], backtest: list[ParityTrade], tf_ms: int
) -> tuple[list[tuple[ParityTrade, ParityTrade]], list[ParityTrade], list[ParityTrade]]:
    """Pairs of one symbol: the same entry bar first, then the nearest within NEAR_BARS."""
    left = list(live)
    pairs: list[tuple[ParityTrade, ParityTrade]] = []
    unpaired: list[ParityTrade] = []
    for exact in (True, False):
        todo, unpaired = (backtest if exact else unpaired), []
        for b in todo:
            near = [
                t
                for t in left
                if t.side == b.side
                and (
                    t.entry_ms == b.entry_ms
                    if exact
                    else abs(t.entry_ms - b.entry_ms) <= NEAR_BARS * tf_ms
                )
            ]
            if not near:
                unpaired.append(b)
                continue
            best = min(near, key=lambda t: abs(t.entry_ms - b.entry_ms))
            left.remove(best)
            pairs.append((best, b))
    return pairs, unpaired, left


def _bps(a: float, b: float) -> float:
    return (a / b - 1.0) * 10_000 if b else 0.0


def _differences(live: ParityTrade, bt: ParityTrade, tf_ms: int, slippage: float) -> list[str]:
    """What differs between a live trade and its backtest pair, each as a short sentence."""
    found: list[str] = []
    tolerance = slippage * 10_000 + TICK_BPS
    if live.entry_ms != bt.entry_ms:
        found.append(f"entry_time: {(live.entry_ms - bt.entry_ms) // tf_ms:+d} bars")
    if abs(_bps(live.entry_price, bt.entry_price)) > tolerance:
        found.append(
            f"entry_price: {_bps(live.entry_price, bt.entry_price):+.1f} bps (slippage/fees)"
        )
    if live.exit_ms is not None and bt.exit_reason != "end_of_data":
        if live.exit_ms != bt.exit_ms and bt.exit_ms is not None:
            found.append(f"exit_time: {(live.exit_ms - bt.exit_ms) // tf_ms:+d} bars")
        if live.exit_reason != bt.exit_reason:
            found.append(f"exit_reason: {live.exit_reason} vs {bt.exit_reason}")
        if live.exit_price is not None and bt.exit_price is not None:
            moved = _bps(live.exit_price, bt.exit_price)
            if abs(moved) > tolerance:
                found.append(f"exit_price: {moved:+.1f} bps (slippage/fees)")
    if bt.size and abs(live.size / bt.size - 1.0) > SIZE_TOLERANCE:
        found.append(f"size: {live.size / bt.size - 1.0:+.1%} (equity path)")
    return found


def _status(live: ParityTrade, bt: ParityTrade, found: list[str]) -> Status:
    if live.exit_ms is None and bt.exit_reason == "end_of_data":
        return "open"
    material = [d for d in found if not d.startswith("size")]
    if material:
        return "differs"
    return "match" if found else "exact"


def _missing_in_live(
    bt: ParityTrade,
    live: list[ParityTrade],
    refused: list[Rejection],
    gaps: Sequence[tuple[int, int]],
    tf_ms: int,
) -> str:
    """Why the live side has no trade where the backtest has one."""
    near = [r for r in refused if abs(r.ts_ms - bt.entry_ms) <= tf_ms]
    if near:
        return f"rejected by risk ({near[0].reason})"
    window = bt.entry_ms - NEAR_BARS * tf_ms
    holes = [(a, b) for a, b in gaps if a <= bt.entry_ms and b >= window]
    if holes:
        return f"data gap: {(holes[0][1] - holes[0][0]) // tf_ms} bars missing before the entry"
    for t in live:
        if t.entry_ms <= bt.entry_ms and (t.exit_ms is None or t.exit_ms > bt.entry_ms):
            return "live was still in an earlier position (see the difference before)"
    if not live or max(t.entry_ms for t in live) < bt.entry_ms:
        return "live was not trading then (stopped, paused, reduce-only or not running)"
    return "no live entry at that bar (stopped, paused, reduce-only, or a data gap)"


def _missing_in_backtest(t: ParityTrade, bt: list[ParityTrade], refusals: Mapping[str, int]) -> str:
    """Why the backtest has no trade where live has one."""
    if t.exit_reason == "manual":
        return "manual trade"
    for b in bt:
        if b.entry_ms <= t.entry_ms and (b.exit_ms is None or b.exit_ms > t.entry_ms):
            return "backtest was still in an earlier position (see the difference before)"
    if refusals:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(refusals.items()))
        return f"not in backtest (its risk rules refused entries: {reasons})"
    return "not in backtest (no backtest decision at that bar)"


def _paired(symbol: str, live: ParityTrade, bt: ParityTrade, tf_ms: int, slip: float) -> TradePair:
    found = _differences(live, bt, tf_ms, slip)
    status = _status(live, bt, found)
    note = "still open in live; the backtest closes at the end of data" if status == "open" else ""
    return TradePair(
        symbol=symbol,
        side=bt.side,
        status=status,
        live=live,
        backtest=bt,
        differences=found,
        explanation=note or "; ".join(found),
    )


def _alone(trade: ParityTrade, status: Status, why: str) -> TradePair:
    live = status == "missing_in_backtest"
    return TradePair(
        symbol=trade.symbol,
        side=trade.side,
        status=status,
        live=trade if live else None,
        backtest=None if live else trade,
        differences=[status],
        explanation=why,
    )


def compare(
    live: Sequence[ParityTrade],
    backtest: Sequence[ParityTrade],
    *,
    refused: Sequence[Rejection] = (),
    backtest_refusals: Mapping[str, int] | None = None,
    gaps: Mapping[str, Sequence[tuple[int, int]]] | None = None,
    tf_ms: int,
    slippage: float,
) -> list[TradePair]:
    """Every trade of either side, paired and explained, by entry time."""
    out: list[TradePair] = []
    for symbol in sorted({t.symbol for t in (*live, *backtest)}):
        mine = [t for t in live if t.symbol == symbol]
        theirs = [t for t in backtest if t.symbol == symbol]
        rejected = [r for r in refused if r.symbol == symbol]
        holes = (gaps or {}).get(symbol, ())
        pairs, only_bt, only_live = _pair(mine, theirs, tf_ms)
        out += [_paired(symbol, lt, bt, tf_ms, slippage) for lt, bt in pairs]
        out += [
            _alone(bt, "missing_in_live", _missing_in_live(bt, mine, rejected, holes, tf_ms))
            for bt in only_bt
        ]
        out += [
            _alone(
                lt, "missing_in_backtest", _missing_in_backtest(lt, theirs, backtest_refusals or {})
            )
            for lt in only_live
        ]
    return sorted(out, key=_entry_key)


def _entry_key(pair: TradePair) -> tuple[int, str]:
    trade = pair.backtest if pair.backtest is not None else pair.live
    return (trade.entry_ms if trade is not None else 0, pair.symbol)


def summarize(pairs: Sequence[TradePair]) -> ParitySummary:
    """Counts by status and by kind of difference."""
    kinds: dict[str, int] = {}
    for pair in pairs:
        for difference in pair.differences:
            kind = difference.split(":", 1)[0]
            kinds[kind] = kinds.get(kind, 0) + 1
    count = Counter(p.status for p in pairs)
    return ParitySummary(
        live_trades=sum(1 for p in pairs if p.live is not None),
        backtest_trades=sum(1 for p in pairs if p.backtest is not None),
        exact=count["exact"],
        matched=count["exact"] + count["match"],
        differs=count["differs"],
        open=count["open"],
        missing_in_live=count["missing_in_live"],
        missing_in_backtest=count["missing_in_backtest"],
        differences=kinds,
    )
