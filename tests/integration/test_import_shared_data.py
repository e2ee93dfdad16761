"""Acceptance: every real candle, mark and funding file in shared/data imports row-identical.

Each file is read a second, independent way (stdlib json/csv/gzip; polars only to open feather),
imported through `import_file` into a fresh CandleStore, read back and compared exactly; row and
gap counts must match MANIFEST.json.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import polars as pl
import pytest

from tests.conftest import SHARED_DATA
from viper.errors import DataError
from viper.marketdata.importers import import_file, load_file
from viper.store.candles import CandleStore, resample

DATA = SHARED_DATA
MANIFEST = DATA / "MANIFEST.json"
ENTRIES: list[dict[str, object]] = (
    json.loads(MANIFEST.read_text())["files"] if MANIFEST.is_file() else []
)
TRADES = "ohlcv/freqtrade__freqtrade/XRP_ETH-trades.json.gz"
CANDLE_ENTRIES = [e for e in ENTRIES if str(e["path"]).startswith("ohlcv/") and e["path"] != TRADES]
CSV_SOURCES = {  # CSV names carry no symbol; where the README says the candles come from
    "binance_btcusdt_day_2020.csv": ("binance", "BTC/USDT"),
    "bitstamp_btcusd_day_2015.csv": ("bitstamp", "BTC/USD"),
    "bitstamp_btcusd_min_2020_01_01.csv": ("bitstamp", "BTC/USD"),
    "BTCUSD.csv": ("unknown", "BTC/USD"),
}
COLUMNS = ["timestamp", "open", "high", "low", "close", "volume"]


def test_the_manifest_lists_every_candle_file_on_disk() -> None:
    on_disk = {str(p.relative_to(DATA)) for p in (DATA / "ohlcv").rglob("*") if p.is_file()}
    assert len(CANDLE_ENTRIES) == 83
    assert {str(e["path"]) for e in CANDLE_ENTRIES} | {TRADES} == on_disk


def _csv_ms(text: str) -> int:
    fmt = "%Y-%m-%d %H:%M:%S" if " " in text else "%Y-%m-%d"
    return round(datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp() * 1000)


def reference_rows(path: Path) -> pl.DataFrame:
    """The file's rows read without VIPER's importer, in the file's own order."""
    if path.suffix == ".feather":
        raw = pl.read_ipc(path)
        return raw.select(pl.col("date").dt.epoch("ms").alias("timestamp"), *COLUMNS[1:])
    if path.suffix == ".csv":
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))[1:]
        values = [[_csv_ms(r[0]), *(float(v) for v in r[1:6])] for r in rows]
    else:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as handle:
            values = json.load(handle)
    return pl.DataFrame(values, schema=COLUMNS, orient="row").with_columns(
        pl.col("timestamp").cast(pl.Int64), pl.col(COLUMNS[1:]).cast(pl.Float64)
    )


def _kind(name: str) -> str:
    return "funding" if "funding_rate" in name else "mark" if "-mark." in name else "ohlcv"


def _minute(stamp: str) -> int:
    """A MANIFEST time such as '2018-01-10 04:55 UTC' in ms."""
    return round(
        datetime.strptime(stamp, "%Y-%m-%d %H:%M UTC").replace(tzinfo=UTC).timestamp() * 1000
    )


@pytest.mark.parametrize("entry", CANDLE_ENTRIES, ids=[str(e["path"]) for e in CANDLE_ENTRIES])
def test_every_shared_file_imports_row_identical_with_the_manifest_gaps(
    entry: dict[str, object], tmp_path: Path
) -> None:
    path = DATA / str(entry["path"])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    exchange, symbol = CSV_SOURCES.get(path.name, ("binance", None))
    store = CandleStore(tmp_path / "store")
    source = reference_rows(path)

    result = import_file(store, path, exchange, symbol=symbol, progress=False)

    [info] = store.datasets()
    assert result.rows_total == info.rows == source.height == entry["rows"]
    assert info.kind == _kind(path.name)
    assert info.first_ms is not None and info.first_ms // 60_000 * 60_000 == _minute(
        str(entry["first"])
    )
    assert info.last_ms is not None and info.last_ms // 60_000 * 60_000 == _minute(
        str(entry["last"])
    )
    if info.kind == "funding":
        back = store.read_funding(exchange, info.symbol)
        assert back["timestamp"].equals(source["timestamp"])
        assert back["rate"].equals(source["open"].alias("rate"))
        # funding is stored by event; the 1h-named files count their 8h cadence as hourly "gaps"
        expected_gaps = entry["missing_intervals"] if entry["timeframe"] == "8h" else 0
    else:
        assert info.timeframe is not None
        kind: Literal["ohlcv", "mark"] = "mark" if info.kind == "mark" else "ohlcv"
        back = store.read(exchange, info.symbol, info.timeframe, kind=kind)
        if info.kind == "mark":  # freqtrade writes mark candles without volume
            source = source.with_columns(pl.col("volume").fill_null(0.0))
        assert back.equals(source)
        monthly = str(entry["timeframe"]).startswith("1M")
        assert info.timeframe == ("1d" if monthly else entry["timeframe"])
        gaps = store.gaps(exchange, info.symbol, info.timeframe, kind=kind)
        assert sum(g.missing for g in gaps) == info.gaps
        expected_gaps = (
            info.gaps if monthly else entry["missing_intervals"]
        )  # the manifest has none
    assert info.gaps == expected_gaps
    if symbol is None:
        assert info.symbol == load_file(path).symbol and "/" in info.symbol


def test_the_trades_file_is_rejected_with_a_clear_error(tmp_path: Path) -> None:
    path = DATA / TRADES
    with pytest.raises(DataError, match=r"XRP_ETH-trades\.json\.gz: not candle rows.*trades"):
        import_file(CandleStore(tmp_path), path, "binance", progress=False)
    assert CandleStore(tmp_path).datasets() == []


def test_a_whole_exchange_folder_imports_into_one_store(tmp_path: Path) -> None:
    folder = DATA / "ohlcv/typhonun__DcaTpStrategy/binance/futures"
    store = CandleStore(tmp_path)
    files = sorted(folder.glob("*.feather"))
    for path in files:
        import_file(store, path, "binance", progress=False)
    infos = store.datasets()
    assert len(infos) == len(files) == 30
    assert {i.symbol for i in infos} >= {"BTC/USDT:USDT", "SUI/USDT:USDT", "XMR/USDT:USDT"}
    assert sum(i.rows for i in infos) == sum(
        int(str(e["rows"]))
        for e in CANDLE_ENTRIES
        if str(e["path"]).startswith(str(folder.relative_to(DATA)))
    )


def test_binance_5m_resampled_equals_binance_15m_and_15m_equals_4h() -> None:
    folder = DATA / "ohlcv/kiduki555__freqtrade_kiduki/binance"
    frames = {tf: load_file(folder / f"BTC_USDT-{tf}.feather").frame for tf in ("5m", "15m", "4h")}
    for source, target in (("5m", "15m"), ("15m", "4h")):
        mine = resample(frames[source], source, target)
        theirs = frames[target]
        both = mine.join(theirs, on="timestamp", suffix="_exchange")
        assert both.height > 0.95 * min(mine.height, theirs.height)
        for column in ("open", "high", "low", "close"):
            assert both[column].equals(both[f"{column}_exchange"].alias(column))
        relative = (both["volume"] - both["volume_exchange"]).abs() / both["volume_exchange"]
        assert (relative < 1e-12).all()  # sums of floats in another order
