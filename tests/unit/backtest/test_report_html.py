"""The HTML report: self-contained, with matplotlib's SVG inlined and every figure shown."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import msgspec
import pytest

from viper.backtest import BacktestResult, run_backtest
from viper.backtest.report_html import MAX_TRADES_SHOWN, flatten, render_report
from viper.marketdata.synthetic import generate

START = 1_704_067_200_000


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    frames = generate(["BTC/USDT:USDT", "ETH/USDT:USDT"], "1m", START, 6_000, seed=4)
    return run_backtest(frames, "sma_cross", {"sl_pct": 0.01}, initial_capital=5_000)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in ("href", "src", "xlink:href")]


def test_report_inlines_one_svg_chart_and_links_nowhere(result: BacktestResult) -> None:
    page = render_report(result, {"sizing": "risk"})
    parser = Tags()
    parser.feed(page)
    assert parser.tags.count("svg") == 1
    assert "path" in parser.tags
    assert "http" not in page
    assert all(link.startswith("#") for link in parser.links)
    assert "<script" not in page


def test_report_shows_the_figures_settings_and_symbols(result: BacktestResult) -> None:
    page = render_report(result, {"risk": {"risk_per_trade": 0.01}, "sizing": "risk"})
    assert f"{result.total_return * 100:.2f}%" in page
    assert "risk.risk_per_trade" in page
    for symbol in result.symbols:
        assert symbol in page
    for label in ("Sharpe", "Sortino", "Profit factor", "CAGR", "Calmar", "Exposure", "Funding"):
        assert label in page


def test_report_lists_at_most_the_first_trades(result: BacktestResult) -> None:
    many = msgspec.structs.replace(result, trades=result.trades * (MAX_TRADES_SHOWN // 10 + 1))
    page = render_report(many)
    assert len(re.findall(r"<td>(?:long|short)</td>", page)) == MAX_TRADES_SHOWN
    assert f"{len(many.trades) - MAX_TRADES_SHOWN:,} more trades" in page


def test_report_escapes_text(result: BacktestResult) -> None:
    odd = msgspec.structs.replace(result, params={"<b>": "</table>"})
    assert "<b>" not in render_report(odd).split("<body>", 1)[1]


def test_flatten_dots_nested_keys() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3}) == {"a.b": 1, "a.c.d": 2, "e": 3}
