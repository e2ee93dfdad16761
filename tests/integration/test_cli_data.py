"""`viper data`: import real files, list and gaps, download from a local fake Bitget, bad input."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from tests.fakes.bitget import FakeBitget, make_candles
from viper.cli import main
from viper.store.candles import CandleStore

DATA = SHARED_DATA / "ohlcv"
XRP_1H = DATA / "freqtrade__freqtrade" / "futures" / "XRP_USDT_USDT-1h-futures.feather"
ADA_5M = DATA / "freqtrade__freqtrade" / "ADA_BTC-5m.feather"


def test_import_then_list_and_gaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["data", "import", str(XRP_1H), str(ADA_5M)]) == 0
    out = capsys.readouterr().out
    assert "100 rows read, 100 new, 100 stored" in out
    assert main(["data", "list"]) == 0
    listing = capsys.readouterr().out
    assert "XRP/USDT:USDT" in listing and "ADA/BTC" in listing
    assert main(["data", "gaps", "--symbol", "ADA/BTC", "--timeframe", "5m"]) == 0
    gaps = capsys.readouterr().out
    assert gaps.strip().endswith("missing bars")
    assert "40 missing bars" in gaps  # the README's gap count for this file


def test_importing_a_trades_file_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    trades = DATA / "freqtrade__freqtrade" / "XRP_ETH-trades.json.gz"
    assert main(["data", "import", str(trades)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("viper: ") and "\n" not in err
    assert (
        not (tmp_path / "data" / "candles").exists()
        or CandleStore(tmp_path / "data" / "candles").datasets() == []
    )


def test_download_without_since_and_nothing_stored_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["data", "download", "--symbols", "BTC/USDT:USDT"]) == 2
    assert "give a start date" in capsys.readouterr().err


def test_bad_since_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["data", "download", "--symbols", "BTC/USDT:USDT", "--since", "last week"]) == 2
    assert "--since" in capsys.readouterr().err


async def run_download(cwd: Path, url: str, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "viper",
        "data",
        "download",
        "--exchange",
        "bitget",
        "--symbols",
        "BTC/USDT:USDT,ETH/USDT:USDT",
        "--timeframe",
        "1m",
        *args,
        cwd=cwd,
        env={**os.environ, "VIPER__EXCHANGE__API_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


async def test_download_command_fetches_and_then_resumes(tmp_path: Path) -> None:
    start = 1_704_067_200_000
    async with FakeBitget() as fake:
        fake.set_candles("BTC/USDT:USDT", "1m", make_candles(start, 900))
        fake.set_candles("ETH/USDT:USDT", "1m", make_candles(start, 450, seed=2))
        code, out = await run_download(tmp_path, fake.url, "--since", "2024-01-01")
        assert code == 0, out
        assert "BTC/USDT:USDT 1m: 900 candles" in out
        assert "ETH/USDT:USDT 1m: 450 candles" in out
        fake.set_candles("BTC/USDT:USDT", "1m", make_candles(start, 1_000))
        before = len(fake.log)
        code, out = await run_download(tmp_path, fake.url)
        assert code == 0, out
        assert "BTC/USDT:USDT 1m: 100 candles" in out
        first_new = [r for r in fake.log[before:] if "candles" in r.path]
        assert all(int(r.params.get("startTime", start)) > start for r in first_new)
    store = CandleStore(tmp_path / "data" / "candles")
    btc = store.read("bitget", "BTC/USDT:USDT", "1m")
    assert btc.height == 1_000
    assert btc["timestamp"].is_unique().all()
    assert store.gaps("bitget", "BTC/USDT:USDT", "1m") == []
