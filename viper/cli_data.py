"""`viper data ...`: import files, download from an exchange, list datasets, show gaps."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from viper.clock import LiveClock
from viper.config import Config
from viper.errors import ValidationError
from viper.marketdata.frames import iso_ms
from viper.store.candles import CandleStore
from viper.timeframes import parse_time

EXIT_OK = 0


def add_data_commands(commands: argparse._SubParsersAction, add_config: object) -> None:
    """Register `viper data import | download | list | gaps`."""
    data = commands.add_parser("data", help="manage stored candles: import, download, list, gaps")
    actions = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    imp = actions.add_parser(
        "import", help="import candle files (freqtrade json/json.gz/feather, CSV)"
    )
    imp.add_argument("paths", nargs="+", metavar="PATH", help="files to import")
    imp.add_argument(
        "--exchange", default=None, help="exchange to file them under (default: [exchange] id)"
    )
    imp.add_argument("--symbol", help="ccxt symbol (default: from freqtrade file names)")
    imp.add_argument("--timeframe", help="bar size (default: from the file name or the data)")
    imp.set_defaults(handler=_import, with_config=True)

    down = actions.add_parser(
        "download", help="download candles through ccxt (resumes automatically)"
    )
    down.add_argument("--exchange", default=None, help="ccxt exchange id (default: [exchange] id)")
    down.add_argument(
        "--symbols", required=True, help="comma-separated, e.g. BTC/USDT:USDT,ETH/USDT:USDT"
    )
    down.add_argument("--timeframe", default="1m", help="bar size (default 1m)")
    down.add_argument("--since", help="first day or time (ISO 8601); needed when nothing is stored")
    down.add_argument("--until", help="stop before this time (ISO 8601; default: now)")
    down.set_defaults(handler=_download, with_config=True)

    listing = actions.add_parser("list", help="list stored datasets")
    listing.set_defaults(handler=_list, with_config=True)

    gaps = actions.add_parser("gaps", help="show missing bars of one dataset")
    gaps.add_argument("--exchange", default=None)
    gaps.add_argument("--symbol", required=True)
    gaps.add_argument("--timeframe", required=True)
    gaps.set_defaults(handler=_gaps, with_config=True)
    for parser in (imp, down, listing, gaps):
        add_config(parser)  # type: ignore[operator]


def _span(first: int | None, last: int | None, empty: str = "-") -> str:
    if first is None or last is None:
        return empty
    return f"{iso_ms(first)} .. {iso_ms(last)}"


def _store(config: Config) -> CandleStore:
    return CandleStore(config.store.candles_dir)


def _exchange(config: Config, given: str | None) -> str:
    return given or config.data.exchange or config.exchange.id


def _import(args: argparse.Namespace, config: Config) -> int:
    from viper.marketdata.importers import import_file  # imported late: keeps --help fast

    store, exchange = _store(config), _exchange(config, args.exchange)
    for path in args.paths:
        result = import_file(store, path, exchange, args.symbol, args.timeframe)
        span = _span(result.first_ms, result.last_ms)
        counts = f"{result.rows_in} rows read, {result.rows_added} new, {result.rows_total} stored"
        print(f"{path}: {counts} ({span})")
    return EXIT_OK


def _download(args: argparse.Namespace, config: Config) -> int:
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    since, until = parse_time(args.since, "--since"), parse_time(args.until, "--until")
    return asyncio.run(
        _download_async(
            config, _exchange(config, args.exchange), symbols, args.timeframe, since, until
        )
    )


async def _download_async(
    config: Config,
    exchange_id: str,
    symbols: Sequence[str],
    timeframe: str,
    since: int | None,
    until: int | None,
) -> int:
    from viper.marketdata.download import download_many, make_exchange  # late: heavy import

    store = _store(config)
    resume = {
        s: ts
        for s in symbols
        if (ts := store.last_timestamp(exchange_id, s, timeframe)) is not None
    }
    missing = [s for s in symbols if s not in resume and since is None]
    if missing:
        raise ValidationError(
            f"--since: nothing stored yet for {', '.join(missing)}; give a start date",
            field="since",
        )
    exchange = make_exchange(
        exchange_id,
        api_url=config.exchange.api_url or None,
        timeout_ms=int(config.exchange.timeout_seconds * 1000),
    )

    def writer_for(symbol: str) -> object:
        return lambda frame: store.write(exchange_id, symbol, timeframe, frame)

    try:
        results = await download_many(
            exchange,
            writer_for,  # type: ignore[arg-type]
            symbols,
            timeframe,
            since if since is not None else 0,
            until,
            clock=LiveClock(),
            resume_from=resume,
            page_size=config.data.page_size,
            progress=True,
        )
    finally:
        await exchange.close()
    for r in results:
        span = _span(r.first_ms, r.last_ms, "up to date")
        print(
            f"{r.symbol} {r.timeframe}: {r.candles} candles in {r.pages} pages ({span}), ", end=""
        )
        print(f"{r.retries} retries")
    return EXIT_OK


def _list(args: argparse.Namespace, config: Config) -> int:
    datasets = _store(config).datasets()
    if not datasets:
        print(f"no datasets under {config.store.candles_dir}")
        return EXIT_OK
    print(f"{'exchange':<10} {'symbol':<18} {'tf':<5} {'kind':<8} {'span':<44} {'rows':>10} gaps")
    for d in datasets:
        span = _span(d.first_ms, d.last_ms)
        error = f"  ERROR {d.error}" if d.error else ""
        name = f"{d.exchange:<10} {d.symbol:<18} {d.timeframe or '-':<5} {d.kind:<8}"
        print(f"{name} {span:<44} {d.rows:>10} {d.gaps:>4}{error}")
    return EXIT_OK


def _gaps(args: argparse.Namespace, config: Config) -> int:
    found = _store(config).gaps(_exchange(config, args.exchange), args.symbol, args.timeframe)
    for gap in found:
        print(f"{iso_ms(gap.start_ms)} .. {iso_ms(gap.end_ms)}: {gap.missing} missing")
    print(f"{len(found)} gaps, {sum(g.missing for g in found)} missing bars")
    return EXIT_OK
