"""`viper backtest`: run a backtest in this process on stored candles, print it, store it.

The request is validated exactly as `POST /backtester/backtest` validates it (errors name
the flag; exit 2), candles are read from the configured store, and the result is stored in
the configured SQLite database, so `/backtester/results` lists it too.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from viper.config import Config
from viper.errors import ValidationError

EXIT_OK = 0
FLAGS = {
    "symbols": "--symbols",
    "start_date": "--start",
    "end_date": "--end",
    "initial_capital": "--capital",
    "risk_per_trade": "--risk",
    "score_threshold": "--threshold",
    "strategy": "--strategy",
    "timeframe": "--timeframe",
    "exchange": "--exchange",
    "sizing": "--sizing",
    "parameters": "--param",
}


def add_backtest_commands(commands: argparse._SubParsersAction, add_config: object) -> None:
    """Register `viper backtest`."""
    run = commands.add_parser(
        "backtest", help="backtest a strategy on stored candles (no server needed)"
    )
    run.add_argument("--strategy", default="viper", help="strategy name (default viper)")
    run.add_argument("--symbols", required=True, help="comma-separated, e.g. BTC/USDT:USDT")
    run.add_argument("--timeframe", help="bar size (default: [trading] timeframe)")
    run.add_argument("--start", required=True, help="first day (ISO 8601, UTC)")
    run.add_argument("--end", required=True, help="end, exclusive (ISO 8601, UTC)")
    run.add_argument("--capital", default="10000", help="initial capital in USDT (default 10000)")
    run.add_argument("--risk", help="risk per trade, 0 < r <= 0.1 (default: [risk])")
    run.add_argument("--threshold", help="score threshold 0..100 (default: [signal])")
    run.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="strategy parameter"
    )
    run.add_argument("--exchange", help="exchange of the stored candles (default: [data])")
    run.add_argument("--sizing", help="risk or fixed_fraction (default: risk if stops are set)")
    run.add_argument("--report", metavar="PATH", help="also write an HTML report to PATH")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(handler=_backtest, with_config=True)
    add_config(run)  # type: ignore[operator]


def parse_param(text: str) -> tuple[str, Any]:
    """`NAME=VALUE`, the value read as JSON when it is JSON (10, 0.5, true), else as text."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValidationError(f"parameters: expected NAME=VALUE, got {text!r}", field="parameters")
    try:
        return name.strip(), msgspec.json.decode(value)
    except msgspec.DecodeError:
        return name.strip(), value


def raw_request(args: argparse.Namespace) -> dict[str, Any]:
    """The request the flags describe, as loose values (validated by `console.to_request`)."""
    raw: dict[str, Any] = {
        "symbols": [s.strip() for s in args.symbols.split(",") if s.strip()],
        "start_date": args.start,
        "end_date": args.end,
        "initial_capital": args.capital,
        "strategy": args.strategy,
        "parameters": dict(parse_param(p) for p in args.param),
    }
    optional = {
        "risk_per_trade": args.risk,
        "score_threshold": args.threshold,
        "timeframe": args.timeframe,
        "exchange": args.exchange,
        "sizing": args.sizing,
    }
    raw.update({k: v for k, v in optional.items() if v is not None})
    return raw


def flag_error(exc: ValidationError) -> ValidationError:
    """The same error, naming the command-line flag instead of the API field."""
    field = exc.field or ""
    name, _, param = field.partition(".")
    flag = FLAGS.get(name, name) + (f" {param}" if param else "")
    detail = exc.detail.removeprefix(f"{field}:").strip()
    return ValidationError(f"{flag}: {detail}" if flag else detail, field=exc.field)


def _backtest(args: argparse.Namespace, config: Config) -> int:
    from viper.backtest import console  # imported late: numba and matplotlib slow `--help`

    try:
        spec = console.prepare(console.to_request(raw_request(args)), config)
    except ValidationError as exc:
        raise flag_error(exc) from None
    outcome = console.run(spec, show_progress=sys.stderr.isatty() and not args.json)
    summary = console.save(config, spec, outcome)
    if args.report:
        console.write_report(args.report, outcome.result, summary)
    if args.json:
        print(console.as_json(summary, outcome.result))
        return EXIT_OK
    print(console.table(summary, outcome.result))
    print(f"\nstored as {summary.id} in {config.store.database}")
    if args.report:
        print(f"report: {args.report}")
    return EXIT_OK
