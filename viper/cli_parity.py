"""`viper parity`: live or paper trades of a period against a backtest of the same stored candles.

The backtest starts `--warmup-bars` before `--since` (default: the streamer's warmup, the
history the live engine saw before it traded), so both sides' indicators agree.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import msgspec
import polars as pl

from viper.config import Config
from viper.errors import NotFoundError, ValidationError
from viper.store.candles import CandleStore
from viper.timeframes import parse_time, timeframe_ms

EXIT_OK, EXIT_DIFFERENT = 0, 3


def add_parity_commands(
    commands: argparse._SubParsersAction, add_config: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Register `viper parity`."""
    parity = commands.add_parser(
        "parity", help="compare live or paper trades with a backtest of the same candles"
    )
    parity.add_argument("--since", required=True, help="start of the period (ISO 8601 or ms)")
    parity.add_argument("--until", help="end of the period (default: now)")
    parity.add_argument(
        "--symbols", nargs="+", help="symbols (default: [trading] symbols); commas also work"
    )
    parity.add_argument("--exchange", help="exchange of the stored candles (default: [data])")
    parity.add_argument(
        "--warmup-bars", type=int, help="history before --since (default: [streamer] warmup)"
    )
    parity.add_argument("--capital", type=float, help="equity at --since (default: paper balance)")
    parity.add_argument("--json", action="store_true", help="machine-readable output")
    parity.add_argument(
        "--strict", action="store_true", help=f"exit {EXIT_DIFFERENT} when any trade differs"
    )
    parity.set_defaults(handler=_parity, with_config=True)
    add_config(parity)


def _symbols(args: argparse.Namespace, config: Config) -> list[str]:
    if not args.symbols:
        return list(config.trading.symbols)
    return [s.strip() for item in args.symbols for s in item.split(",") if s.strip()]


def _frames(
    config: Config, exchange: str, symbols: list[str], start: int, end: int | None
) -> dict[str, pl.DataFrame]:
    store, tf = CandleStore(config.store.candles_dir), config.trading.timeframe
    frames = {}
    for symbol in symbols:
        if store.row_count(exchange, symbol, tf) == 0:
            raise NotFoundError(f"no stored {tf} candles for {symbol} on {exchange}")
        frames[symbol] = store.read(exchange, symbol, tf, start, end)
        if frames[symbol].is_empty():
            raise NotFoundError(f"no {tf} candles for {symbol} in the period")
    return frames


def _parity(args: argparse.Namespace, config: Config) -> int:
    from viper.parity import build_report, format_report  # imported late: numba is heavy

    since = parse_time(args.since, "--since")
    until = parse_time(args.until, "--until")
    if since is None:
        raise ValidationError("--since: give the start of the period", field="since")
    if until is not None and until <= since:
        raise ValidationError("--until: must be after --since", field="until")
    if not Path(config.store.database).exists():
        raise NotFoundError(f"no database at {config.store.database}: nothing was traded")
    warmup = args.warmup_bars if args.warmup_bars is not None else config.streamer.warmup_bars
    start = since - warmup * timeframe_ms(config.trading.timeframe)
    exchange = args.exchange or config.data.exchange or config.exchange.id
    frames = _frames(config, exchange, _symbols(args, config), start, until)
    report = build_report(
        config,
        frames,
        db_path=config.store.database,
        since_ms=since,
        until_ms=until,
        initial_capital=args.capital,
    )
    if args.json:
        print(msgspec.json.format(msgspec.json.encode(report), indent=2).decode())
    else:
        print(format_report(report))
    different = report.summary.differs + report.summary.missing_in_live
    return (
        EXIT_DIFFERENT
        if args.strict and different + report.summary.missing_in_backtest
        else EXIT_OK
    )
