"""Parquet candle store: round trips, merging, atomic writes, corrupt files, ranges, gaps, listing."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from viper.errors import DataError, NotFoundError, ValidationError
from viper.marketdata.frames import Gap
from viper.store.candles import (
    CandleStore,
    WriteResult,
    decode_symbol,
    encode_symbol,
    resample,
)

EX, SYM, TF = "binance", "BTC/USDT:USDT", "1m"
MIN = 60_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000  # on every grid up to 1h


def candles(minutes: list[int], price: float = 100.0) -> pl.DataFrame:
    """One-minute candles at T0 + each minute; prices rise with the minute so rows differ."""
    return pl.DataFrame(
        {
            "timestamp": [T0 + m * MIN for m in minutes],
            "open": [price + m for m in minutes],
            "high": [price + m + 2 for m in minutes],
            "low": [price + m - 2 for m in minutes],
            "close": [price + m + 1 for m in minutes],
            "volume": [10.0 + m for m in minutes],
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> CandleStore:
    return CandleStore(tmp_path / "candles")


def test_write_then_read_round_trips_rows_and_schema(store: CandleStore) -> None:
    frame = candles(list(range(10)))
    result = store.write(EX, SYM, TF, frame)
    assert result == WriteResult(
        rows_in=10, rows_added=10, rows_total=10, first_ms=T0, last_ms=T0 + 9 * MIN
    )
    back = store.read(EX, SYM, TF)
    assert back.equals(frame)
    assert dict(back.schema) == {"timestamp": pl.Int64, **dict.fromkeys(
        ("open", "high", "low", "close", "volume"), pl.Float64)}  # fmt: skip
    assert store.path(EX, SYM, TF) == store.root / "binance" / "BTC_USDT__USDT" / "1m.parquet"


def test_merge_keeps_old_rows_and_new_rows_win_on_the_same_timestamp(store: CandleStore) -> None:
    store.write(EX, SYM, TF, candles([0, 1, 2, 3]))
    result = store.write(EX, SYM, TF, candles([2, 3, 4, 5], price=500.0))
    back = store.read(EX, SYM, TF)
    assert back["timestamp"].to_list() == [T0 + m * MIN for m in range(6)]
    assert back["open"].to_list() == [100.0, 101.0, 502.0, 503.0, 504.0, 505.0]
    assert (result.rows_in, result.rows_added, result.rows_total) == (4, 2, 6)


def test_unsorted_input_with_duplicates_is_sorted_and_the_last_duplicate_wins(
    store: CandleStore,
) -> None:
    frame = pl.concat([candles([3, 1]), candles([1], price=900.0), candles([0])])
    store.write(EX, SYM, TF, frame)
    back = store.read(EX, SYM, TF)
    assert back["timestamp"].to_list() == [T0, T0 + MIN, T0 + 3 * MIN]
    assert back["open"].to_list() == [100.0, 901.0, 103.0]


def test_ints_datetimes_and_extra_columns_are_cast_to_the_store_schema(store: CandleStore) -> None:
    frame = pl.DataFrame(
        {
            "timestamp": [datetime.fromtimestamp(T0 / 1000, tz=UTC)],
            "open": [1],
            "high": [3],
            "low": [1],
            "close": [2],
            "volume": pl.Series([5], dtype=pl.Int32),
            "note": ["ignored"],
        }
    )
    store.write(EX, SYM, TF, frame)
    back = store.read(EX, SYM, TF)
    assert back.row(0) == (T0, 1.0, 3.0, 1.0, 2.0, 5.0)
    assert back.columns == ["timestamp", "open", "high", "low", "close", "volume"]


def test_a_timeframe_has_one_file_whatever_its_spelling(store: CandleStore) -> None:
    store.write(EX, SYM, "60m", pl.DataFrame({**candles([0]).to_dict(), "timestamp": [0]}))
    assert store.read(EX, SYM, "1h").height == 1
    assert store.path(EX, SYM, "60m").name == "1h.parquet"


BAD = {
    "NaN": ("close", float("nan"), "NaN or infinite"),
    "inf": ("high", float("inf"), "NaN or infinite"),
    "negative price": ("low", -1.0, "price <= 0"),
    "zero price": ("open", 0.0, "price <= 0"),
    "negative volume": ("volume", -0.5, "negative volume"),
    "high below low": ("high", 50.0, "high < low"),
    "misaligned": ("timestamp", T0 + 30_000, "not on the 1m grid"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_invalid_rows_are_rejected_and_nothing_is_written(store: CandleStore, case: str) -> None:
    column, value, message = BAD[case]
    frame = candles([0, 1, 2])
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit(value)).otherwise(pl.col(column))
        .cast(frame.schema[column]).alias(column)
    )  # fmt: skip
    with pytest.raises(DataError, match=message) as info:
        store.write(EX, SYM, TF, frame)
    assert "BTC/USDT:USDT" in str(info.value)
    assert not store.path(EX, SYM, TF).exists()


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (candles([0]).drop("volume"), "missing column"),
        (candles([0]).with_columns(pl.col("open").cast(pl.String)), "not numbers"),
        (candles([0, 1]).with_columns(pl.lit(None, pl.Float64).alias("close")), "null"),
        (candles([0]).with_columns(pl.col("timestamp").cast(pl.Float64) + 0.5), "whole"),
    ],
    ids=["missing column", "text prices", "nulls", "fractional timestamp"],
)
def test_malformed_frames_are_rejected(
    store: CandleStore, frame: pl.DataFrame, message: str
) -> None:
    with pytest.raises(DataError, match=message):
        store.write(EX, SYM, TF, frame)


def test_a_rejected_write_leaves_the_stored_file_byte_identical(store: CandleStore) -> None:
    store.write(EX, SYM, TF, candles([0, 1]))
    before = store.path(EX, SYM, TF).read_bytes()
    with pytest.raises(DataError):
        store.write(EX, SYM, TF, candles([2]).with_columns(high=pl.lit(1.0)))
    assert store.path(EX, SYM, TF).read_bytes() == before


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "1m.parquet")


def test_a_crash_before_the_rename_leaves_the_original_and_no_temp_file(
    store: CandleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write(EX, SYM, TF, candles([0, 1]))
    path = store.path(EX, SYM, TF)
    before = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        store.write(EX, SYM, TF, candles([2, 3]))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _leftovers(path.parent) == []
    assert store.read(EX, SYM, TF).height == 2


def test_a_crash_half_way_through_writing_leaves_the_original(
    store: CandleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write(EX, SYM, TF, candles([0, 1]))
    path = store.path(EX, SYM, TF)
    before = path.read_bytes()

    def half_write(self: pl.DataFrame, file: object, **kwargs: object) -> None:
        file.write(b"PAR1 half a file")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", half_write)
    with pytest.raises(OSError, match="disk full"):
        store.write(EX, SYM, TF, candles([2]))
    assert path.read_bytes() == before
    assert _leftovers(path.parent) == []


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_file_raises_data_error_naming_it_and_is_left_alone(
    store: CandleStore, damage: str
) -> None:
    store.write(EX, SYM, TF, candles(list(range(100))))
    path = store.path(EX, SYM, TF)
    data = path.read_bytes()
    path.write_bytes(b"not parquet at all" * 10 if damage == "garbage" else data[: len(data) // 2])
    damaged = path.read_bytes()
    with pytest.raises(DataError, match=r"1m\.parquet"):
        store.read(EX, SYM, TF)
    with pytest.raises(DataError, match="corrupt"):
        store.write(EX, SYM, TF, candles([200]))
    with pytest.raises(DataError):
        store.last_timestamp(EX, SYM, TF)
    assert path.read_bytes() == damaged


def test_a_parquet_file_with_other_columns_is_a_data_error(store: CandleStore) -> None:
    path = store.path(EX, SYM, TF)
    path.parent.mkdir(parents=True)
    pl.DataFrame({"timestamp": [T0], "price": [1.0]}).write_parquet(path)
    with pytest.raises(DataError, match="store schema"):
        store.read(EX, SYM, TF)


def test_range_reads_are_half_open_and_limits_count_from_the_right_end(store: CandleStore) -> None:
    store.write(EX, SYM, TF, candles(list(range(10))))
    minutes = lambda f: [(t - T0) // MIN for t in f["timestamp"]]  # noqa: E731
    assert minutes(store.read(EX, SYM, TF, T0 + 2 * MIN, T0 + 5 * MIN)) == [2, 3, 4]
    assert minutes(store.read(EX, SYM, TF, start_ms=T0 + 8 * MIN)) == [8, 9]
    assert minutes(store.read(EX, SYM, TF, end_ms=T0 + 2 * MIN)) == [0, 1]
    assert minutes(store.read(EX, SYM, TF, limit=3)) == [0, 1, 2]
    assert minutes(store.read(EX, SYM, TF, limit=3, descending=True)) == [9, 8, 7]
    assert minutes(store.read(EX, SYM, TF, T0, T0 + 5 * MIN, 2, descending=True)) == [4, 3]
    assert store.read(EX, SYM, TF, T0 + 5 * MIN, T0 + 5 * MIN).is_empty()
    with pytest.raises(ValidationError):
        store.read(EX, SYM, TF, limit=-1)


def test_an_unknown_dataset_is_not_found_and_has_no_timestamps(store: CandleStore) -> None:
    with pytest.raises(NotFoundError, match=r"BTC/USDT:USDT.*binance") as info:
        store.read(EX, SYM, "5m")
    assert "5m" in str(info.value)
    with pytest.raises(NotFoundError):
        store.read_funding(EX, SYM)
    assert store.last_timestamp(EX, SYM, "5m") is None
    assert store.first_timestamp(EX, SYM, "5m") is None
    assert store.row_count(EX, SYM, "5m") == 0


def test_first_last_and_row_count_describe_the_stored_span(store: CandleStore) -> None:
    store.write(EX, SYM, TF, candles([5, 6, 9]))
    assert store.first_timestamp(EX, SYM, TF) == T0 + 5 * MIN
    assert store.last_timestamp(EX, SYM, TF) == T0 + 9 * MIN
    assert store.row_count(EX, SYM, TF) == 3


def test_gaps_name_the_first_and_last_missing_bar(store: CandleStore) -> None:
    store.write(EX, SYM, TF, candles([0, 1, 3, 4, 8, 9, 10]))
    assert store.gaps(EX, SYM, TF) == [
        Gap(start_ms=T0 + 2 * MIN, end_ms=T0 + 2 * MIN, missing=1),
        Gap(start_ms=T0 + 5 * MIN, end_ms=T0 + 7 * MIN, missing=3),
    ]
    store.write(EX, SYM, TF, candles([2, 5, 6, 7]))
    assert store.gaps(EX, SYM, TF) == []


def test_mark_candles_are_a_separate_dataset(store: CandleStore) -> None:
    store.write(EX, SYM, "8h", candles([0]).with_columns(timestamp=pl.lit(0)), kind="mark")
    assert store.read(EX, SYM, "8h", kind="mark").height == 1
    assert store.path(EX, SYM, "8h", "mark").name == "8h-mark.parquet"
    with pytest.raises(NotFoundError):
        store.read(EX, SYM, "8h")


def test_funding_rates_round_trip_with_their_jittered_timestamps(store: CandleStore) -> None:
    eight_h = 8 * 3_600_000
    stamps = [eight_h * 1000 + 17, eight_h * 1001 + 7, eight_h * 1002]
    frame = pl.DataFrame({"timestamp": stamps, "rate": [0.0001, -0.00025, 0.0003]})
    result = store.write_funding(EX, SYM, frame)
    assert (result.rows_added, result.first_ms, result.last_ms) == (3, stamps[0], stamps[-1])
    assert store.read_funding(EX, SYM).equals(frame)
    assert store.read_funding(EX, SYM, start_ms=stamps[1])["rate"].to_list() == [-0.00025, 0.0003]
    assert store.read_funding(EX, SYM, limit=1, descending=True)["timestamp"].to_list() == [
        stamps[-1]
    ]
    store.write_funding(EX, SYM, frame.with_columns(rate=pl.lit(0.5)).head(1))
    assert store.read_funding(EX, SYM)["rate"].to_list() == [0.5, -0.00025, 0.0003]
    with pytest.raises(DataError, match="NaN"):
        store.write_funding(EX, SYM, frame.with_columns(rate=pl.lit(float("nan"))))


def test_datasets_list_every_file_with_span_rows_gaps_and_size(store: CandleStore) -> None:
    store.write(EX, SYM, TF, candles([0, 1, 4]))
    store.write("bitget", "ETH/USDT", "1h", candles([0]).with_columns(timestamp=pl.lit(0)))
    eight_h = 28_800_000
    funding = pl.DataFrame({"timestamp": [0, eight_h, 2 * eight_h, 5 * eight_h], "rate": [0.1] * 4})
    store.write_funding(EX, SYM, funding)
    (store.path(EX, SYM, TF).parent / ".1m.parquet.abc.tmp").write_bytes(b"half")
    infos = {(i.exchange, i.symbol, i.kind, i.timeframe): i for i in store.datasets()}
    assert set(infos) == {
        ("binance", SYM, "ohlcv", "1m"),
        ("binance", SYM, "funding", None),
        ("bitget", "ETH/USDT", "ohlcv", "1h"),
    }
    minute = infos["binance", SYM, "ohlcv", "1m"]
    assert (minute.rows, minute.gaps, minute.first_ms, minute.last_ms) == (3, 2, T0, T0 + 4 * MIN)
    assert minute.bytes == store.path(EX, SYM, TF).stat().st_size
    assert minute.error is None
    assert infos["binance", SYM, "funding", None].gaps == 2


def test_datasets_flag_a_corrupt_file_instead_of_failing(store: CandleStore) -> None:
    store.write(EX, SYM, TF, candles([0]))
    store.path(EX, SYM, TF).write_bytes(b"garbage")
    [info] = store.datasets()
    assert info.error is not None and "1m.parquet" in info.error
    assert info.rows == 0


def test_concurrent_writers_to_one_dataset_lose_no_rows(store: CandleStore) -> None:
    batches = [list(range(i * 50, i * 50 + 50)) for i in range(8)]
    threads = [
        threading.Thread(target=store.write, args=(EX, SYM, TF, candles(b))) for b in batches
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.row_count(EX, SYM, TF) == 400


def test_an_invalid_exchange_id_or_candle_kind_is_refused(store: CandleStore) -> None:
    with pytest.raises(ValidationError, match="exchange"):
        store.write("../etc", SYM, TF, candles([0]))
    with pytest.raises(ValidationError, match="kind"):
        store.write(EX, SYM, TF, candles([0]), kind="funding")  # type: ignore[arg-type]
    assert store.datasets() == []


@pytest.mark.parametrize(
    ("symbol", "folder"),
    [
        ("BTC/USDT:USDT", "BTC_USDT__USDT"),
        ("ETH/BTC", "ETH_BTC"),
        ("1000_PEPE/USDT", "1000%5FPEPE_USDT"),
        ("A/:B", "A%2F%3AB"),
        ("..", "%2E."),
        ("BTC/USD:BTC-251226", "BTC_USD__BTC-251226"),
    ],
)
def test_symbols_map_to_readable_reversible_folder_names(symbol: str, folder: str) -> None:
    assert encode_symbol(symbol) == folder
    assert decode_symbol(folder) == symbol


@given(st.text(min_size=1, max_size=40))
def test_every_symbol_round_trips_through_a_safe_folder_name(symbol: str) -> None:
    folder = encode_symbol(symbol)
    assert decode_symbol(folder) == symbol
    assert set(folder) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-%")
    assert not folder.startswith(".")


@pytest.mark.parametrize("name", ["A___B", "btc%zz", "A_%2F", "%41BC"])
def test_folder_names_the_store_did_not_make_are_not_symbols(name: str) -> None:
    assert decode_symbol(name) is None


def test_resample_matches_a_hand_computation() -> None:
    frame = candles(list(range(12)))  # open = 100 + m, high = open + 2, low = open - 2
    five = resample(frame, "1m", "5m", complete_only=False)
    assert five.rows() == [
        (T0, 100.0, 106.0, 98.0, 105.0, 10.0 * 5 + 0 + 1 + 2 + 3 + 4),
        (T0 + 5 * MIN, 105.0, 111.0, 103.0, 110.0, 10.0 * 5 + 5 + 6 + 7 + 8 + 9),
        (T0 + 10 * MIN, 110.0, 113.0, 108.0, 112.0, 10.0 * 2 + 10 + 11),
    ]
    assert resample(frame, "1m", "5m").rows() == five.rows()[:2]  # the forming bar is dropped
    assert dict(five.schema) == dict(frame.schema)


def test_resample_drops_buckets_with_holes_unless_partial_bars_are_wanted() -> None:
    frame = candles([0, 1, 2, 3, 4, 5, 6, 8, 9])  # minute 7 is missing
    assert resample(frame, "1m", "5m")["timestamp"].to_list() == [T0]
    partial = resample(frame, "1m", "5m", complete_only=False)
    assert partial.row(1) == (T0 + 5 * MIN, 105.0, 111.0, 103.0, 110.0, 10.0 * 4 + 5 + 6 + 8 + 9)


def test_weekly_bars_open_on_monday() -> None:
    monday = 1_704_067_200_000  # 2024-01-01 00:00 UTC was a Monday
    day = 86_400_000
    daily = candles(list(range(16))).with_columns(
        timestamp=monday + 2 * day + pl.int_range(16) * day
    )
    weekly = resample(daily, "1d", "1w", complete_only=False)
    assert weekly["timestamp"].to_list() == [monday, monday + 7 * day, monday + 14 * day]
    assert resample(daily, "1d", "1w")["timestamp"].to_list() == [monday + 7 * day]


@pytest.mark.parametrize(("source", "target"), [("5m", "7m"), ("1h", "30m"), ("1m", "1x")])
def test_resample_refuses_targets_that_are_not_whole_multiples(source: str, target: str) -> None:
    with pytest.raises(ValidationError) as info:
        resample(candles([0]), source, target)
    assert info.value.field == "target_tf"
