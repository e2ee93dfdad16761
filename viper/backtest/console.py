"""A backtest at the terminal: validate, run with a progress bar, store, print a summary.

`viper backtest` (viper/cli_backtest.py) drives these steps; they run in-process and share
validation, execution and storage with the backtester module, so the numbers and the stored
rows are the same either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import msgspec
from tqdm import tqdm

from viper.backtest.metrics import BacktestResult
from viper.backtest.report_html import figures, num, pct, render_report
from viper.backtest.runs import BacktestSpec, Outcome, execute, new_id, resolve, summarize
from viper.clock import LiveClock
from viper.config import Config
from viper.errors import ValidationError
from viper.protocols import BacktestRequest
from viper.store.backtests import BacktestResults, BacktestSummary, compress
from viper.store.candles import CandleStore
from viper.store.sqlite import Database


def to_request(raw: Mapping[str, Any]) -> BacktestRequest:
    """A request from loosely typed values (text from the command line); errors name the field."""
    try:
        return msgspec.convert(dict(raw), BacktestRequest, strict=False)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).rpartition(" - at ")
        if not message:
            message, where = str(exc), ""
        field = where.strip("`").removeprefix("$").lstrip(".").split("[")[0] or "request"
        raise ValidationError(f"{field}: {message}", field=field) from None


def prepare(request: BacktestRequest, config: Config) -> BacktestSpec:
    """The request checked against the configured candle store."""
    store = CandleStore(config.store.candles_dir)
    return resolve(request, config, store, backtest_id=new_id(), source="cli")


def run(spec: BacktestSpec, show_progress: bool) -> Outcome:
    """Execute the spec here, with a tqdm bar on stderr when asked."""
    with tqdm(total=100, desc=f"backtest {spec.id}", unit="%", disable=not show_progress) as bar:

        def progress(fraction: float) -> None:
            bar.update(max(0, round(fraction * 100) - bar.n))

        return execute(spec, progress)


def save(config: Config, spec: BacktestSpec, outcome: Outcome) -> BacktestSummary:
    """Store the result in the configured database, as the backtester module does."""
    summary = summarize(
        spec, outcome, created_ms=LiveClock().now_ms(), duration_seconds=outcome.seconds
    )
    blob = compress(msgspec.json.encode(outcome.result))
    asyncio.run(_save(config.store.database, summary, blob))
    return summary


async def _save(path: str, summary: BacktestSummary, blob: bytes) -> None:
    db = Database(path)
    await db.open()
    try:
        results = BacktestResults(db)
        await results.migrate()
        await results.save(summary, blob)
    finally:
        await db.close()


def write_report(path: str, result: BacktestResult, summary: BacktestSummary) -> None:
    """The HTML report, written to `path`."""
    settings = {**summary.settings, "config_id": summary.config_id}
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(render_report(result, settings))


def table(summary: BacktestSummary, result: BacktestResult) -> str:
    """The summary as aligned text: header, figures in two columns, one line per symbol."""
    r = result
    lines = [
        f"Backtest {summary.id}: {r.strategy} on {', '.join(r.symbols)} ({r.timeframe})",
        f"{r.period.start} .. {r.period.end}, {r.bars:,} bars, "
        f"sizing {summary.settings.get('sizing')}, config {summary.config_id}",
        "",
    ]
    cells = [f"{label:<15}{text:>14}" for label, text in figures(r)]
    half = (len(cells) + 1) // 2
    rights = [*cells[half:], *[""] * (2 * half - len(cells))]
    for left, right in zip(cells[:half], rights, strict=True):
        lines.append(f"  {left}    {right}".rstrip())
    lines += ["", f"  {'symbol':<20}{'trades':>7}{'win rate':>10}{'net pnl':>13}{'PF':>7}"]
    lines += [
        f"  {symbol:<20}{s.total_trades:>7}{pct(s.win_rate):>10}{num(s.net_pnl):>13}"
        f"{num(s.profit_factor):>7}"
        for symbol, s in r.per_symbol.items()
    ]
    return "\n".join(lines)


def as_json(summary: BacktestSummary, result: BacktestResult) -> str:
    """The summary and the per-symbol figures as one JSON object."""
    body = {
        **msgspec.to_builtins(summary),
        "per_symbol": msgspec.to_builtins(result.per_symbol),
        "exit_reasons": result.exit_reasons,
        "rejections": result.rejections,
    }
    return msgspec.json.format(msgspec.json.encode(body), indent=2).decode()
