"""`viper backtest`: runs in-process on stored candles, prints the figures, stores the result
where `/backtester/results` finds it, and gives the API's numbers on the same candles."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, make_config
from tests.integration.modules.backtester.conftest import (
    BTC,
    ETH,
    MODULES,
    client_for,
    seed,
    wait_job,
)
from viper.app import ViperApp
from viper.cli import main
from viper.marketdata.importers import import_file
from viper.store.candles import CandleStore

FUTURES = SHARED_DATA / "ohlcv" / "freqtrade__freqtrade" / "futures"
XRP = "XRP/USDT:USDT"


def write_config(tmp_path: Path) -> Path:
    """A config file whose store and database live under `tmp_path`."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[store]\ndatabase = "{tmp_path / "viper.db"}"\ncandles_dir = "{tmp_path / "candles"}"\n'
        '[logging]\nfile = ""\nconsole = false\n',
        encoding="utf-8",
    )
    return path


def backtest(config: Path, *args: str) -> int:
    return main(["backtest", "--config", str(config), *args])


async def stored(tmp_path: Path) -> dict:
    viper = ViperApp(make_config(tmp_path, modules={"enabled": MODULES}))
    async with viper.running(), await client_for(viper) as http:
        return (await http.get("/backtester/results")).json()


def test_prints_the_summary_stores_the_result_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    seed(tmp_path / "candles")
    report = tmp_path / "out.html"
    code = backtest(
        config, "--strategy", "viper", "--symbols", f"{BTC},{ETH}", "--timeframe", "1m",
        "--start", "2024-01-01", "--end", "2024-01-10", "--capital", "5000",
        "--risk", "0.01", "--threshold", "75", "--report", str(report),
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    for label in ("Total return", "Win rate", "Max drawdown", "Trades", "Sharpe", "Sortino",
                  "Profit factor", "CAGR", "Calmar", "Exposure", "Fees", "Funding"):  # fmt: skip
        assert label in out
    assert f"  {BTC}" in out and f"  {ETH}" in out
    listed = asyncio.run(stored(tmp_path))
    assert listed["total"] == 1
    row = listed["results"][0]
    assert row["source"] == "cli" and row["initial_capital"] == 5_000
    assert f"stored as {row['id']}" in out
    page = report.read_text(encoding="utf-8")
    assert "<svg" in page and "http" not in page


def test_json_prints_the_summary_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    seed(tmp_path / "candles", (BTC,))
    code = backtest(
        config, "--strategy", "sma_cross", "--symbols", BTC, "--start", "2024-01-01",
        "--end", "2024-01-05", "--param", "fast=5", "--param", "slow=30", "--json",
    )  # fmt: skip
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    assert body["params"]["fast"] == 5 and body["params"]["slow"] == 30
    assert body["settings"]["sizing"] == "fixed_fraction"  # no stops: all equity at 1x
    assert BTC in body["per_symbol"]


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--start", "2024-01-05", "--end", "2024-01-01"], "--end"),
        (["--start", "someday", "--end", "2024-01-05"], "--start"),
        (["--start", "2024-01-01", "--end", "2024-01-05", "--capital", "lots"], "--capital"),
        (["--start", "2024-01-01", "--end", "2024-01-05", "--risk", "0.5"], "--risk"),
        (["--start", "2024-01-01", "--end", "2024-01-05", "--threshold", "200"], "--threshold"),
        (["--start", "2024-01-01", "--end", "2024-01-05", "--strategy", "moon"], "--strategy"),
        (["--start", "2024-01-01", "--end", "2024-01-05", "--param", "fast=1"], "--param fast"),
        (["--start", "2024-01-01", "--end", "2024-01-05", "--param", "fast"], "--param"),
        (["--start", "2030-01-01", "--end", "2030-01-05"], "--start"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], flag: str
) -> None:
    config = write_config(tmp_path)
    seed(tmp_path / "candles", (BTC,), bars=2_000)
    assert backtest(config, "--symbols", BTC, *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"viper: {flag}: ") and "\n" not in err
    assert not (tmp_path / "viper.db").exists()


def test_an_unknown_symbol_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    seed(tmp_path / "candles", (BTC,), bars=2_000)
    code = backtest(
        config, "--symbols", "DOGE/USDT:USDT", "--start", "2024-01-01", "--end", "2024-01-02"
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("viper: --symbols: no 1m candles stored for DOGE")


def test_api_and_cli_give_identical_results_on_real_candles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = write_config(tmp_path)
    store = CandleStore(tmp_path / "candles")
    import_file(store, FUTURES / "XRP_USDT_USDT-5m-futures.feather", "bitget", progress=False)
    import_file(store, FUTURES / "XRP_USDT_USDT-8h-funding_rate.feather", "bitget", progress=False)
    code = backtest(
        config_file, "--strategy", "sma_cross", "--symbols", XRP, "--timeframe", "5m",
        "--start", "2021-11-15", "--end", "2021-11-22", "--param", "sl_pct=0.01",
        "--capital", "2500", "--risk", "0.02", "--json",
    )  # fmt: skip
    assert code == 0
    cli_id = json.loads(capsys.readouterr().out)["id"]
    by_api, by_cli, listed = asyncio.run(through_the_api(tmp_path, cli_id))
    assert by_api["total_trades"] > 5
    assert by_api["total_funding"] != 0.0
    assert by_api["final_capital"] == by_cli["final_capital"]
    assert by_api["trades"] == by_cli["trades"]
    assert by_api["equity_curve"] == by_cli["equity_curve"]
    rows = {r["source"]: r for r in listed["results"]}
    assert set(rows) == {"api", "cli"}
    assert rows["api"]["result_hash"] == rows["cli"]["result_hash"]
    assert rows["api"]["config_id"] == rows["cli"]["config_id"]


async def through_the_api(tmp_path: Path, cli_id: str) -> tuple[dict, dict, dict]:
    """The same backtest through `/api/backtest/start`, and both stored results."""
    request = {
        "symbols": [XRP], "start_date": "2021-11-15", "end_date": "2021-11-22",
        "timeframe": "5m", "strategy": "sma_cross", "parameters": {"sl_pct": 0.01},
        "initial_capital": 2_500, "risk_per_trade": 0.02,
    }  # fmt: skip
    viper = ViperApp(make_config(tmp_path, modules={"enabled": MODULES}))
    async with viper.running(), await client_for(viper) as http:
        api_id = (await http.post("/api/backtest/start", json=request)).json()["backtest_id"]
        assert (await wait_job(http, api_id))["state"] == "done"
        by_api = (await http.get(f"/backtester/results/{api_id}")).json()
        by_cli = (await http.get(f"/backtester/results/{cli_id}")).json()
        listed = (await http.get("/backtester/results", params={"symbol": XRP})).json()
    return by_api, by_cli, listed
