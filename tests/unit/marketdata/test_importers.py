"""Importers: freqtrade feather/json/json.gz, CSV variants, file-name detection, bad files."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import polars as pl
import pytest

from viper.errors import DataError, ValidationError
from viper.marketdata.importers import import_file, load_file, parse_freqtrade_name
from viper.store.candles import CandleStore

H = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
ROWS = [
    [T0, 100.0, 110.0, 95.0, 105.0, 12.5],
    [T0 + H, 105.0, 108.0, 101.0, 102.0, 7.25],
    [T0 + 3 * H, 102.0, 104.0, 99.5, 103.0, 0.0],
]


def expected() -> pl.DataFrame:
    names = ["timestamp", "open", "high", "low", "close", "volume"]
    return pl.DataFrame({n: [r[i] for r in ROWS] for i, n in enumerate(names)}).with_columns(
        pl.col("timestamp").cast(pl.Int64)
    )


def freqtrade_frame(unit: Literal["ns", "ms"] = "ns") -> pl.DataFrame:
    """The layout freqtrade writes: a tz-aware `date` column then OHLCV."""
    frame = expected().with_columns(
        pl.from_epoch("timestamp", time_unit="ms").cast(pl.Datetime(unit, "UTC")).alias("date")
    )
    return frame.select("date", "open", "high", "low", "close", "volume")


@pytest.mark.parametrize("unit", ["ns", "ms"])
def test_freqtrade_feather_futures_file(tmp_path: Path, unit: Literal["ns", "ms"]) -> None:
    path = tmp_path / "BTC_USDT_USDT-1h-futures.feather"
    freqtrade_frame(unit).write_ipc(path)
    imported = load_file(path)
    assert imported.frame.equals(expected())
    assert (imported.kind, imported.symbol, imported.timeframe, imported.market) == (
        "ohlcv", "BTC/USDT:USDT", "1h", "futures")  # fmt: skip


@pytest.mark.parametrize("name", ["ETH_BTC-1h.json", "ETH_BTC-1h.json.gz"])
def test_freqtrade_json_and_json_gz(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    data = json.dumps([[int(r[0]), *r[1:]] for r in ROWS]).encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    imported = load_file(path)
    assert imported.frame.equals(expected())
    assert (imported.symbol, imported.timeframe, imported.market) == ("ETH/BTC", "1h", "spot")


def test_a_trades_file_is_rejected_as_not_candles(tmp_path: Path) -> None:
    path = tmp_path / "XRP_ETH-trades.json.gz"
    path.write_bytes(gzip.compress(b'[[1570752011620,"13519807",null,"sell",0.0014,23.0,0.03]]'))
    with pytest.raises(DataError, match=r"XRP_ETH-trades\.json\.gz.*not candle rows"):
        load_file(path)


def test_a_funding_rate_file_keeps_the_rate_from_the_open_column(tmp_path: Path) -> None:
    path = tmp_path / "XRP_USDT_USDT-8h-funding_rate.feather"
    stamps = [T0 + 17, T0 + 8 * H + 7]
    pl.DataFrame(
        {
            "date": pl.Series(stamps).cast(pl.Datetime("ms", "UTC")),
            "open": [0.0001, -0.0002],
            **{c: [0.0, 0.0] for c in ("high", "low", "close", "volume")},
        }
    ).write_ipc(path)
    imported = load_file(path)
    assert imported.kind == "funding"
    assert imported.frame.to_dict(as_series=False) == {
        "timestamp": stamps,
        "rate": [0.0001, -0.0002],
    }


def test_mark_candles_without_volume_get_zero_volume(tmp_path: Path) -> None:
    path = tmp_path / "XRP_USDT_USDT-1h-mark.feather"
    freqtrade_frame().with_columns(volume=pl.lit(None, pl.Float64)).write_ipc(path)
    imported = load_file(path)
    assert imported.kind == "mark"
    assert imported.frame["volume"].to_list() == [0.0, 0.0, 0.0]


def _iso(ms: int, fmt: str) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime(fmt)


CSV_VARIANTS = {
    "ms": ("timestamp,open,high,low,close,volume", lambda t: str(t)),
    "seconds": ("time,open,high,low,close,volume", lambda t: str(t // 1000)),
    "microseconds": ("open_time,open,high,low,close,volume", lambda t: str(t * 1000)),
    "iso T Z": ("date,open,high,low,close,volume", lambda t: _iso(t, "%Y-%m-%dT%H:%M:%SZ")),
    "iso offset": ("date,open,high,low,close,volume", lambda t: _iso(t, "%Y-%m-%dT%H:%M:%S+00:00")),
    "space": ("datetime,open,high,low,close,volume", lambda t: _iso(t, "%Y-%m-%d %H:%M:%S")),
    "unnamed first": (",Open,High,Low,Close,Volume", lambda t: _iso(t, "%Y-%m-%d %H:%M:%S")),
    "capitalised": ("Date,OPEN,High,low,Close,VOLUME", lambda t: str(t)),
    "open time": ("Open Time,Open,High,Low,Close,Volume", lambda t: str(t)),
}


@pytest.mark.parametrize("variant", list(CSV_VARIANTS), ids=list(CSV_VARIANTS))
def test_csv_variants_all_read_the_same_candles(tmp_path: Path, variant: str) -> None:
    header, stamp = CSV_VARIANTS[variant]
    lines = [header] + [",".join([stamp(int(r[0])), *(str(v) for v in r[1:])]) for r in ROWS]
    path = tmp_path / "candles.csv"
    path.write_text("\n".join(lines) + "\n")
    imported = load_file(path)
    assert imported.frame.equals(expected())
    assert (imported.kind, imported.symbol, imported.timeframe) == ("ohlcv", None, "1h")


def test_csv_without_volume_gets_zero_volume(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("date,open,high,low,close\n2024-01-01,1,2,0.5,1.5\n2024-01-02,1.5,2,1,1.2\n")
    imported = load_file(path)
    assert imported.frame["volume"].to_list() == [0.0, 0.0]
    assert imported.timeframe == "1d"


def test_csv_with_a_byte_order_mark_and_padded_header_names(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    lines = [",".join(str(v) for v in [int(r[0]), *r[1:]]) for r in ROWS]
    path.write_bytes(
        "\ufeffTimestamp, Open ,High,Low,Close,Volume\n".encode() + "\n".join(lines).encode()
    )
    assert load_file(path).frame.equals(expected())


def test_csv_without_header_and_with_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("".join(";".join(str(v) for v in [int(r[0]), *r[1:]]) + "\n" for r in ROWS))
    assert load_file(path).frame.equals(expected())


def test_integer_looking_prices_later_followed_by_decimals_read_as_floats(tmp_path: Path) -> None:
    body = (
        "".join(f"{T0 + i * H},1,2,1,2,3\n" for i in range(200)) + f"{T0 + 200 * H},1.5,2,1,2,3\n"
    )
    path = tmp_path / "x.csv"
    path.write_text("timestamp,open,high,low,close,volume\n" + body)
    assert load_file(path).frame.item(-1, "open") == 1.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("date,open,high,low,close\nyesterday,1,2,0.5,1.5\n", "cannot read times"),
        ("date,open,high,low,volume\n2024-01-01,1,2,0.5,1\n", "no 'close' column"),
        ("when,open,high,low,close\n2024-01-01,1,2,0.5,1.5\n", "no time column"),
        ("", "empty"),
        ("a,b\n1,2\n", "column"),
    ],
    ids=["bad time", "no close", "no time column", "empty", "too few columns"],
)
def test_unusable_csv_files_raise_data_error_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        load_file(path)
    assert "broken.csv" in str(info.value)


def _valid_bytes(tmp_path: Path, suffix: str) -> bytes:
    source = tmp_path / f"source{suffix}"
    if suffix == ".feather":
        freqtrade_frame().write_ipc(source)
    else:
        source.write_bytes(gzip.compress(json.dumps([[int(r[0]), *r[1:]] for r in ROWS]).encode()))
    return source.read_bytes()


@pytest.mark.parametrize("suffix", [".feather", ".json.gz"])
@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_or_truncated_files_raise_data_error_naming_the_file(
    tmp_path: Path, suffix: str, damage: str
) -> None:
    data = _valid_bytes(tmp_path, suffix)
    path = tmp_path / f"BTC_USDT-1h{suffix}"
    path.write_bytes(data[: len(data) * 2 // 3] if damage == "truncated" else b"\x00garbage" * 50)
    with pytest.raises(DataError, match=rf"BTC_USDT-1h{suffix.replace('.', '[.]')}"):
        load_file(path)


def test_truncated_plain_json_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT-1h.json"
    path.write_text(json.dumps(ROWS)[:-20])
    with pytest.raises(DataError, match="invalid or truncated JSON"):
        load_file(path)


def test_unknown_suffix_and_missing_file_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown file type"):
        load_file(tmp_path / "candles.xlsx")
    with pytest.raises(DataError, match="no such file"):
        load_file(tmp_path / "BTC_USDT-1h.feather")


@pytest.mark.parametrize(
    ("stem", "parsed"),
    [
        ("BTC_USDT_USDT-1h-futures", ("BTC/USDT:USDT", "1h", "futures")),
        ("ETH_BTC-5m", ("ETH/BTC", "5m", None)),
        ("XRP_USDT_USDT-8h-funding_rate", ("XRP/USDT:USDT", "8h", "funding_rate")),
        ("XRP_USDT_USDT-8h-mark", ("XRP/USDT:USDT", "8h", "mark")),
        ("BTC_USDT-1M", ("BTC/USDT", None, None)),
        ("XRP_ETH-trades", (None, None, None)),
        ("binance_btcusdt_day_2020", (None, None, None)),
    ],
)
def test_freqtrade_file_names(stem: str, parsed: tuple[str | None, ...]) -> None:
    assert parse_freqtrade_name(stem) == parsed


def test_import_file_writes_through_the_store(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT_USDT-1h-futures.feather"
    freqtrade_frame().write_ipc(path)
    store = CandleStore(tmp_path / "store")
    result = import_file(store, path, "binance", progress=False)
    assert (result.rows_added, result.rows_total) == (3, 3)
    assert store.read("binance", "BTC/USDT:USDT", "1h").equals(expected())
    assert [g.missing for g in store.gaps("binance", "BTC/USDT:USDT", "1h")] == [1]


def test_import_file_stores_funding_with_write_funding(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT_USDT-8h-funding_rate.feather"
    freqtrade_frame().with_columns(high=pl.lit(0.0), low=pl.lit(0.0), close=pl.lit(0.0)).write_ipc(
        path
    )
    store = CandleStore(tmp_path / "store")
    import_file(store, path, "binance", progress=False)
    assert store.read_funding("binance", "BTC/USDT:USDT")["rate"].to_list() == [100.0, 105.0, 102.0]


def test_import_file_needs_a_symbol_when_the_name_has_none(tmp_path: Path) -> None:
    path = tmp_path / "candles.csv"
    path.write_text("timestamp,open,high,low,close\n" + f"{T0},1,2,0.5,1.5\n")
    store = CandleStore(tmp_path / "store")
    with pytest.raises(ValidationError, match="symbol"):
        import_file(store, path, "binance", progress=False)
    with pytest.raises(ValidationError, match="timeframe"):
        import_file(store, path, "binance", symbol="BTC/USDT", progress=False)
    import_file(store, path, "binance", symbol="BTC/USDT", timeframe="1h", progress=False)
    assert store.row_count("binance", "BTC/USDT", "1h") == 1


def test_import_file_rejects_rows_off_the_given_timeframe_grid(tmp_path: Path) -> None:
    path = tmp_path / "ETH_BTC-1h.json"
    path.write_text(json.dumps([[T0 + 60_000, 1, 2, 0.5, 1.5, 1]]))
    store = CandleStore(tmp_path / "store")
    with pytest.raises(DataError, match=r"ETH_BTC-1h\.json.*not on the 1h grid"):
        import_file(store, path, "binance", progress=False)
    assert store.datasets() == []


def test_progress_bar_shows_the_stages_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "BTC_USDT-1h.feather"
    freqtrade_frame().write_ipc(path)
    import_file(CandleStore(tmp_path / "a"), path, "binance", progress=False, force_progress=True)
    shown = capsys.readouterr().err
    assert "BTC_USDT-1h.feather" in shown and "3/3" in shown and "write" in shown
    import_file(CandleStore(tmp_path / "b"), path, "binance", progress=True)  # stderr: not a TTY
    assert capsys.readouterr().err == ""
