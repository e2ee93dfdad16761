"""A self-contained HTML report of one backtest: figures, equity and drawdown charts, trades.

Charts are drawn by matplotlib (Agg, no pyplot state) as SVG and inlined, stripped of the XML
prologue, metadata and namespace URIs, so the page loads nothing and links nowhere.
"""

from __future__ import annotations

import html
import io
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from viper.backtest.metrics import BacktestResult, Trade

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_TRADES_SHOWN = 500
# rcParams are global: one render at a time, with text kept as text (no glyph definitions).
_RENDER_LOCK = threading.Lock()
_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;
color:#1d2330;background:#fafbfc}h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;
margin:28px 0 8px}.muted{color:#667085}table{border-collapse:collapse;font-size:13px;
background:#fff}td,th{padding:4px 10px;border-bottom:1px solid #e4e7ec;text-align:right}
th:first-child,td:first-child{text-align:left}.grid{display:grid;
grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:8px}.card{background:#fff;
border:1px solid #e4e7ec;border-radius:6px;padding:8px 12px}.card b{display:block;
font-size:17px}.pos{color:#067647}.neg{color:#b42318}svg{max-width:100%;height:auto}
"""


def pct(value: float | None) -> str:
    """A fraction as a percentage, or a dash."""
    return "-" if value is None else f"{value * 100:.2f}%"


def num(value: float | None, digits: int = 2) -> str:
    """A number with thousands separators, or a dash."""
    return "-" if value is None else f"{value:,.{digits}f}"


def figures(result: BacktestResult) -> list[tuple[str, str]]:
    """The headline figures as (label, text) pairs, in report order."""
    r = result
    return [
        ("Total return", pct(r.total_return)),
        ("Final capital", num(r.final_capital)),
        ("Win rate", pct(r.win_rate)),
        ("Max drawdown", pct(r.max_drawdown)),
        ("Trades", str(r.total_trades)),
        ("Sharpe", num(r.sharpe_ratio)),
        ("Sortino", num(r.sortino_ratio)),
        ("Profit factor", num(r.profit_factor)),
        ("CAGR", pct(r.cagr)),
        ("Calmar", num(r.calmar)),
        ("Exposure", pct(r.exposure)),
        ("Average trade", num(r.average_trade)),
        ("Fees", num(r.total_fees)),
        ("Funding", num(r.total_funding)),
        ("Liquidations", str(r.liquidations)),
        ("Bars", f"{r.bars:,}"),
    ]


def _inline(svg: str) -> str:
    """matplotlib's SVG file as an element for an HTML page: no prologue, metadata or URIs."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    return re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)


def chart_svg(result: BacktestResult) -> str:
    """Equity above, drawdown below, sharing the time axis, as an inline SVG element."""
    import matplotlib  # loaded on the first report only: it costs ~50 MB and a second

    buffer = io.StringIO()
    with (
        _RENDER_LOCK,
        matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "viper", "font.size": 9}),
    ):
        _figure(result).savefig(buffer, format="svg", metadata={"Date": None})
    return _inline(buffer.getvalue())


def _figure(result: BacktestResult) -> Figure:
    from matplotlib.figure import Figure

    curve = result.equity_curve
    times = np.asarray(curve.timestamps, dtype="datetime64[ms]")
    equity = np.asarray(curve.equity, dtype=np.float64)
    drawdown = -100.0 * np.asarray(curve.drawdown, dtype=np.float64)
    fig = Figure(figsize=(10, 5.6), dpi=100, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1.3))
    top.plot(times, equity, color="#1570ef", linewidth=1.2)
    top.axhline(result.initial_capital, color="#98a2b3", linewidth=0.8, linestyle="--")
    top.set_ylabel("equity (USDT)")
    top.set_title("Equity", loc="left")
    bottom.fill_between(times, drawdown, 0.0, color="#f04438", alpha=0.35, linewidth=0)
    bottom.plot(times, drawdown, color="#d92d20", linewidth=0.9)
    bottom.set_ylabel("drawdown (%)")
    bottom.set_title("Drawdown", loc="left")
    for axes in (top, bottom):
        axes.grid(True, color="#eaecf0", linewidth=0.6)
    return fig


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _cards(result: BacktestResult) -> str:
    cards = []
    for label, text in figures(result):
        tone = ""
        if label == "Total return":
            tone = " pos" if result.total_return >= 0 else " neg"
        cards.append(f'<div class="card">{html.escape(label)}<b class="{tone}">{text}</b></div>')
    return f'<div class="grid">{"".join(cards)}</div>'


def _per_symbol(result: BacktestResult) -> str:
    rows = [
        (
            symbol,
            s.total_trades,
            pct(s.win_rate),
            num(s.net_pnl),
            num(s.profit_factor),
            num(s.average_trade),
            num(s.fees),
            num(s.funding),
        )
        for symbol, s in result.per_symbol.items()
    ]
    head = ("symbol", "trades", "win rate", "net pnl", "profit factor", "avg", "fees", "funding")
    return _table(head, rows)


def _trades(trades: Sequence[Trade]) -> str:
    rows = [
        (
            t.symbol,
            t.side,
            t.entry_time,
            t.exit_time,
            num(t.entry_price, 6),
            num(t.exit_price, 6),
            num(t.size, 6),
            num(t.net_pnl),
            t.exit_reason,
        )
        for t in trades[:MAX_TRADES_SHOWN]
    ]
    head = ("symbol", "side", "entry", "exit", "entry px", "exit px", "size", "net", "reason")
    more = len(trades) - MAX_TRADES_SHOWN
    note = f'<p class="muted">{more:,} more trades in the JSON result.</p>' if more > 0 else ""
    return _table(head, rows) + note


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{html.escape(k)} {v}" for k, v in counts.items()) or "none"


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level of dotted keys: {"risk": {"x": 1}} -> {"risk.x": 1}."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def render_report(result: BacktestResult, settings: Mapping[str, Any] | None = None) -> str:
    """The whole report page; `settings` (risk, fees, sizing; nested is fine) are listed."""
    r = result
    title = f"Backtest {r.backtest_id}: {r.strategy} on {', '.join(r.symbols)} ({r.timeframe})"
    params = ", ".join(f"{k}={v}" for k, v in r.params.items())
    listed = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in flatten(settings or {}).items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="muted">{html.escape(r.period.start)} to {html.escape(r.period.end)} &middot;
initial capital {num(r.initial_capital)} USDT &middot; parameters: {html.escape(params)}</p>
{_cards(r)}
<h2>Equity and drawdown</h2>
{chart_svg(r)}
<h2>Per symbol</h2>
{_per_symbol(r)}
<p class="muted">Exit reasons: {_counts(r.exit_reasons)}.
Rejected entries: {_counts(r.rejections)}.</p>
{f"<h2>Settings</h2><table><tbody>{listed}</tbody></table>" if listed else ""}
<h2>Trades</h2>
{_trades(r.trades)}
</body></html>
"""
