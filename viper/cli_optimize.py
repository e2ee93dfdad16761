"""`viper optimize`: search a strategy's parameters on stored candles, print and store the result.

Runs exactly what `POST /optimizer/optimize` runs (errors name the flag; exit 2). With
`--study NAME --storage URL --worker`, this process joins a shared Optuna study and runs its
trials itself; start it on as many machines as you like: the study's N trials are shared out.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from viper.config import Config
from viper.errors import ValidationError

EXIT_OK = 0


def add_optimize_commands(commands: argparse._SubParsersAction, add_config: object) -> None:
    """Register `viper optimize`."""
    run = commands.add_parser("optimize", help="optimize a strategy's parameters on stored candles")
    run.add_argument("--strategy", default="sma_cross", help="strategy name (default sma_cross)")
    run.add_argument("--method", default="grid", help="grid, optuna or walk_forward")
    run.add_argument("--symbols", required=True, help="comma-separated, e.g. BTC/USDT:USDT")
    run.add_argument("--timeframe", help="bar size (default: [trading] timeframe)")
    run.add_argument("--start", required=True, help="first day (ISO 8601, UTC)")
    run.add_argument("--end", required=True, help="end, exclusive (ISO 8601, UTC)")
    run.add_argument("--exchange", help="exchange of the stored candles (default: [data])")
    run.add_argument("--objective", help="sharpe, sortino, calmar, total_return, profit_factor")
    run.add_argument("--min-trades", help="constraint: at least this many trades")
    run.add_argument("--max-drawdown", help="constraint: drawdown at most this fraction")
    run.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="vary NAME over low:high[:step], a,b,c choices, JSON, or 'none' to fix it",
    )
    run.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="fixed parameter"
    )
    run.add_argument("--trials", help="optuna trials, in all (default: [optimizer] trials)")
    run.add_argument("--sampler", help="tpe, cmaes or random (default: [optimizer])")
    run.add_argument("--pruner", help="median or none (default: [optimizer])")
    run.add_argument("--seed", help="sampler seed")
    run.add_argument("--study", help="name of a shared optuna study")
    run.add_argument("--storage", help="storage URL of the study (default: [optimizer] storage)")
    run.add_argument("--worker", action="store_true", help="run this study's trials here")
    run.add_argument("--workers", type=int, help="processes (default: [backtester] workers)")
    run.add_argument("--windows", help="walk-forward windows (default 5)")
    run.add_argument("--ratio", help="walk-forward in-sample / out-of-sample length (default 4)")
    run.add_argument("--anchored", action="store_true", help="anchored walk-forward windows")
    run.add_argument("--capital", help="initial capital in USDT (default 10000)")
    run.add_argument("--sizing", help="risk or fixed_fraction (default: risk if stops are set)")
    run.add_argument("--top", help="rows of the result table (default: [optimizer] top_n)")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.set_defaults(handler=_optimize, with_config=True)
    add_config(run)  # type: ignore[operator]


def _pair(text: str, flag: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValidationError(f"{flag}: expected NAME=VALUE, got {text!r}", field=flag)
    return name.strip(), value.strip()


def _number(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text


def parse_space(text: str) -> tuple[str, Any]:
    """`NAME=low:high[:step]`, `NAME=a,b,c`, `NAME={json}` or `NAME=none`."""
    name, value = _pair(text, "--space")
    if value.lower() == "none":
        return name, None
    if value.startswith("{"):
        return name, _number(value)
    if "," in value:
        return name, {"type": "categorical", "choices": [_number(v) for v in value.split(",")]}
    parts = [_number(v) for v in value.split(":")]
    if len(parts) not in (2, 3) or not all(isinstance(p, int | float) for p in parts):
        raise ValidationError(
            f"--space {name}: expected low:high[:step], a,b,c or JSON, got {value!r}",
            field="space",
        )
    kind = "int" if all(isinstance(p, int) for p in parts) else "float"
    spec = {"type": kind, "low": parts[0], "high": parts[1]}
    if len(parts) == 3:
        spec["step"] = parts[2]
    return name, spec


def raw_request(args: argparse.Namespace) -> dict[str, Any]:
    """The request the flags describe, as loose values (validated by `console.prepare`)."""
    raw: dict[str, Any] = {
        "symbols": [s.strip() for s in args.symbols.split(",") if s.strip()],
        "start_date": args.start,
        "end_date": args.end,
        "strategy": args.strategy,
        "method": args.method,
        "space": dict(parse_space(s) for s in args.space),
        "parameters": {k: _number(v) for k, v in (_pair(p, "--param") for p in args.param)},
    }
    constraints = {"min_trades": args.min_trades, "max_drawdown": args.max_drawdown}
    if any(v is not None for v in constraints.values()):
        raw["constraints"] = {k: v for k, v in constraints.items() if v is not None}
    wf = {"windows": args.windows, "ratio": args.ratio, "anchored": args.anchored or None}
    if any(v is not None for v in wf.values()):
        raw["walk_forward"] = {k: v for k, v in wf.items() if v is not None}
    optional = {
        "timeframe": args.timeframe,
        "exchange": args.exchange,
        "objective": args.objective,
        "trials": args.trials,
        "sampler": args.sampler,
        "pruner": args.pruner,
        "seed": args.seed,
        "study": args.study,
        "storage": args.storage,
        "initial_capital": args.capital,
        "sizing": args.sizing,
        "top_n": args.top,
    }
    raw.update({k: v for k, v in optional.items() if v is not None})
    return raw


def _optimize(args: argparse.Namespace, config: Config) -> int:
    from viper.optimizer import console  # imported late: numba and optuna slow `--help`

    raw = raw_request(args)
    if args.worker and "method" in raw:
        raw["method"] = "optuna"
    spec = console.prepare(raw, config)
    show = sys.stderr.isatty() and not args.json
    ran = None
    if args.worker:
        result, ran = console.run_worker(spec, show)
    else:
        workers = args.workers or config.backtester.workers
        if workers < 1:
            raise ValidationError("--workers: must be at least 1", field="workers")
        result = console.run(spec, workers, show)
    console.save(config, result)
    if args.json:
        print(console.as_json(result, ran))
        return EXIT_OK
    print(console.table(result))
    if ran is not None:
        print(f"this worker ran {ran} of the study's {result.trials} trials")
    print(f"\nstored as {result.id} in {config.store.database}")
    return EXIT_OK
