"""Read candle and funding files (freqtrade feather/json/json.gz, CSV, Parquet) into the store.

`load_file` detects the format from the suffix, the kind, symbol and timeframe from freqtrade
file names (`BTC_USDT_USDT-1h-futures.feather`, `XRP_USDT_USDT-8h-funding_rate.feather`,
`*-mark.feather`) and otherwise infers the timeframe from the timestamps. `import_file` reads,
validates and writes through a CandleStore, with a progress bar.
"""

from __future__ import annotations

import gzip
import re
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import msgspec
import numpy as np
import polars as pl
from tqdm import tqdm

from viper.errors import DataError, ValidationError
from viper.marketdata.frames import (
    CANDLE_SCHEMA,
    PRICES,
    canonical_timeframe,
    timeframe_from_ms,
    validate_candles,
    validate_funding,
)
from viper.store.candles import CandleStore, WriteResult

ImportKind = Literal["ohlcv", "mark", "funding"]

_NAME = re.compile(
    r"^(?P<pair>[A-Za-z0-9_]+?)-(?P<tf>\d+[smhdwM])"
    r"(?:-(?P<type>futures|spot|mark|funding_rate|index|premiumIndex))?$"
)
_SUFFIXES: Final = (
    ".json.gz",
    ".jsongz",
    ".feather",
    ".arrow",
    ".ipc",
    ".json",
    ".csv",
    ".parquet",
)
_CandleRows = list[tuple[int, float, float, float, float, float]]
_TIME_NAMES: Final = frozenset(
    {"date", "datetime", "time", "timestamp", "opentime", "ts", "unix", "unixtime", "starttime",
     "datetimeutc", "dateutc", "timeutc", "opentimestamp"}
)  # fmt: skip
_ALIASES: Final = {
    "open": ("open", "o", "openprice"),
    "high": ("high", "h", "highprice"),
    "low": ("low", "l", "lowprice"),
    "close": ("close", "c", "closeprice"),
    "volume": ("volume", "vol", "v", "basevolume", "volumebase"),
}
_PRICE_KEYS: Final = frozenset(key for keys in _ALIASES.values() for key in keys)
_RATE_NAMES: Final = ("rate", "fundingrate")
_EPOCH_UNITS: Final = ((1e11, 1000, 1), (1e14, 1, 1), (1e17, 1, 1000), (float("inf"), 1, 10**6))
_TIME_FORMATS: Final = (  # tried on the first value; the fast path for the whole column
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)


@dataclass(frozen=True, slots=True)
class ImportedFrame:
    """A file's rows in the store schema and what its name and contents say about them."""

    path: Path
    frame: pl.DataFrame
    kind: ImportKind
    timeframe: str | None
    symbol: str | None
    market: Literal["spot", "futures"] | None


def split_name(path: Path) -> tuple[str, str | None]:
    """(stem, format suffix) of `path`; the suffix is None for unknown formats."""
    name = path.name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)], suffix
    return name, None


def parse_freqtrade_name(stem: str) -> tuple[str | None, str | None, str | None]:
    """(symbol, timeframe, candle type) of a freqtrade file stem: `BTC_USDT_USDT-1h-futures`."""
    match = _NAME.match(stem)
    if match is None:
        return None, None, None
    parts = match.group("pair").split("_")
    symbol = None
    if len(parts) == 2 and all(parts):
        symbol = f"{parts[0]}/{parts[1]}"
    elif len(parts) == 3 and all(parts):
        symbol = f"{parts[0]}/{parts[1]}:{parts[2]}"
    try:
        timeframe: str | None = canonical_timeframe(match.group("tf"))
    except ValidationError:  # e.g. "1M": calendar months have no fixed length
        timeframe = None
    return symbol, timeframe, match.group("type")


def load_file(path: str | Path) -> ImportedFrame:
    """Read a candle or funding file into the store schema; DataError names the file and problem."""
    path = Path(path)
    stem, suffix = split_name(path)
    if suffix is None:
        raise DataError(f"{path}: unknown file type; expected {', '.join(_SUFFIXES)}")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    symbol, named_tf, candle_type = parse_freqtrade_name(stem)
    table = _read_table(path, suffix)
    kind: ImportKind = "mark" if candle_type == "mark" else "ohlcv"
    if candle_type == "funding_rate" or _looks_like_funding(table):
        kind = "funding"
    frame = _to_store_schema(table, kind, path)
    market: Literal["spot", "futures"] | None = None
    if symbol is not None:
        market = "futures" if ":" in symbol else "spot"
    timeframe = named_tf if named_tf is not None or kind == "funding" else _infer(frame)
    return ImportedFrame(path, frame, kind, timeframe, symbol, market)


def _read_table(path: Path, suffix: str) -> pl.DataFrame:
    try:
        if suffix in (".json", ".json.gz", ".jsongz"):
            return _read_json_candles(path, gzipped=suffix != ".json")
        if suffix == ".csv":
            return read_csv_table(path)
        if suffix == ".parquet":
            return pl.read_parquet(path)
        return pl.read_ipc(path)
    except (pl.exceptions.PolarsError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: unreadable {suffix} file (corrupt or truncated?): {exc}") from exc


def _read_json_candles(path: Path, *, gzipped: bool) -> pl.DataFrame:
    """freqtrade's json format: a list of `[timestamp_ms, open, high, low, close, volume]`."""
    raw = gzip.decompress(path.read_bytes()) if gzipped else path.read_bytes()
    try:
        rows = msgspec.json.decode(raw, type=_CandleRows)
    except msgspec.ValidationError as exc:
        raise DataError(
            f"{path}: not candle rows [timestamp_ms, open, high, low, close, volume] "
            f"(a trades file?): {exc}"
        ) from exc
    except msgspec.DecodeError as exc:
        raise DataError(f"{path}: invalid or truncated JSON: {exc}") from exc
    if not rows:
        return pl.DataFrame(schema=CANDLE_SCHEMA)
    values = np.array(rows, dtype=np.float64)  # ms timestamps are exact below 2**53
    columns = {name: values[:, i] for i, name in enumerate(CANDLE_SCHEMA)}
    columns["timestamp"] = values[:, 0].astype(np.int64)
    return pl.DataFrame(columns)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_csv_table(path: Path) -> pl.DataFrame:
    """A CSV as polars reads it, with or without a header; price columns forced to floats."""
    with path.open("rb") as handle:
        first = handle.readline().decode("utf-8-sig", errors="replace").strip()
    if not first:
        raise DataError(f"{path}: empty file")
    separator = ";" if first.count(";") > first.count(",") else ","
    if "\t" in first and separator not in first:
        separator = "\t"
    fields = [field.strip('"') for field in first.split(separator)]  # as polars names them
    if len(fields) < 5:
        raise DataError(f"{path}: {len(fields)} column(s); expected time, open, high, low, close")
    has_header = not _is_number(fields[1])
    if has_header:  # forced, so "1" in the first rows and "1.5" later do not clash
        floats = {name: pl.Float64 for name in fields if _key(name) in _PRICE_KEYS}
    else:
        floats = {f"column_{i + 1}": pl.Float64 for i in range(1, min(6, len(fields)))}
    frame = pl.read_csv(
        path, separator=separator, has_header=has_header, schema_overrides=floats,
        infer_schema_length=10_000,
    )  # fmt: skip
    if not has_header:
        positional = ["timestamp", *PRICES, "volume"][: frame.width]
        frame = frame.rename(dict(zip(frame.columns, positional, strict=False)))
    return frame


def normalize_table(table: pl.DataFrame, *, funding: bool, source: str) -> pl.DataFrame:
    """The time column as `timestamp` (ms) plus OHLCV (or `rate`) columns found by name."""
    keys: dict[str, str] = {}
    for name in table.columns:
        keys.setdefault(_key(name), name)
    stamps = to_epoch_ms(table[_time_column(table.columns, source)], source)
    if funding:
        rate = next((keys[k] for k in (*_RATE_NAMES, "open") if k in keys), None)
        if rate is None:
            raise DataError(f"{source}: no funding rate column (rate or open) in {table.columns}")
        return table.select(stamps.alias("timestamp"), pl.col(rate).alias("rate"))
    columns: dict[str, pl.Expr] = {}
    for target, aliases in _ALIASES.items():
        found = next((keys[a] for a in aliases if a in keys), None)
        if found is None and target != "volume":
            raise DataError(f"{source}: no {target!r} column in {table.columns}")
        columns[target] = pl.lit(0.0) if found is None else pl.col(found)
    return table.select(stamps.alias("timestamp"), **columns)


def _time_column(columns: list[str], source: str) -> str:
    for name in columns:
        if _key(name) in _TIME_NAMES:
            return name
    if columns and (
        _key(columns[0]) in ("", "index", "column1") or _key(columns[0]).startswith("unnamed")
    ):
        return columns[0]
    raise DataError(f"{source}: no time column (date, datetime, time, timestamp, open_time)")


def to_epoch_ms(series: pl.Series, source: str) -> pl.Series:
    """Times as Int64 ms UTC: datetimes, epoch s/ms/us/ns by magnitude, or ISO 8601 text."""
    dtype = series.dtype
    if isinstance(dtype, pl.Datetime):
        return series.dt.epoch("ms")  # naive datetimes are taken as UTC
    if isinstance(dtype, pl.Date):
        return series.cast(pl.Datetime("ms")).dt.epoch("ms")
    if dtype == pl.String:
        return _parse_text_times(series, source)
    if not dtype.is_numeric():
        raise DataError(f"{source}: time column {series.name!r} is {dtype}")
    values = series.cast(pl.Float64)
    biggest = values.abs().max()
    if not isinstance(biggest, float):
        raise DataError(f"{source}: time column {series.name!r} is empty")
    # seconds, milliseconds, microseconds or nanoseconds since the epoch, told apart by size
    multiply, divide = next(unit for limit, *unit in _EPOCH_UNITS if biggest < limit)
    if dtype.is_integer():
        return series.cast(pl.Int64) * multiply // divide
    return (values * multiply / divide).round().cast(pl.Int64)


def _parse_text_times(series: pl.Series, source: str) -> pl.Series:
    sample = series.drop_nulls()
    if sample.is_empty():
        raise DataError(f"{source}: time column {series.name!r} is empty")
    first = str(sample[0]).strip()
    if _is_number(first):
        return to_epoch_ms(series.cast(pl.Float64, strict=False), source)
    fast = next((fmt for fmt in _TIME_FORMATS if _parses(first, fmt)), None)
    for candidate in dict.fromkeys((fast, None)):  # the fast format, then polars' inference
        try:
            parsed = series.str.to_datetime(candidate, time_zone="UTC", time_unit="ms", cache=False)
        except pl.exceptions.PolarsError:
            continue
        return parsed.dt.epoch("ms")
    raise DataError(f"{source}: cannot read times such as {first!r} in column {series.name!r}")


def _parses(text: str, fmt: str) -> bool:
    try:
        pl.Series([text]).str.to_datetime(fmt, time_zone="UTC")
    except pl.exceptions.PolarsError:
        return False
    return True


def _looks_like_funding(table: pl.DataFrame) -> bool:
    """freqtrade funding rows keep the rate in `open` and zeros elsewhere."""
    names = {name.lower() for name in table.columns}
    if {"rate", "funding_rate", "fundingrate"} & names:
        return True
    if table.is_empty() or not {"open", "high", "low", "close"} <= set(table.columns):
        return False
    zeros = pl.all_horizontal(pl.col(c) == 0 for c in ("high", "low", "close"))
    return bool(table.select(zeros.all()).item())


def _to_store_schema(table: pl.DataFrame, kind: ImportKind, path: Path) -> pl.DataFrame:
    frame = normalize_table(table, funding=kind == "funding", source=str(path))
    if kind == "funding" and "rate" not in frame.columns:
        frame = frame.select("timestamp", pl.col("open").alias("rate"))
    if kind == "mark":  # freqtrade stores mark candles without volume
        frame = frame.with_columns(pl.col("volume").fill_null(0.0))
    if frame.is_empty():
        raise DataError(f"{path}: no rows")
    return frame


def _infer(frame: pl.DataFrame) -> str | None:
    """The bar length: the greatest common divisor of the steps between sorted timestamps."""
    diffs = frame["timestamp"].sort().diff().drop_nulls().unique()
    steps = diffs.filter(diffs > 0).to_numpy()  # a handful of distinct values, even for 1M rows
    if steps.size == 0:
        return None
    try:
        return timeframe_from_ms(int(np.gcd.reduce(steps)))
    except ValidationError:
        return None


def import_file(
    store: CandleStore,
    path: str | Path,
    exchange: str,
    symbol: str | None = None,
    timeframe: str | None = None,
    progress: bool = True,
    *,
    force_progress: bool = False,
) -> WriteResult:
    """Read, validate and write one file; the bar shows on a TTY (or always with force_progress)."""
    show = force_progress or (progress and sys.stderr.isatty())
    with tqdm(total=3, desc=Path(path).name, unit="stage", disable=not show) as bar:
        bar.set_postfix_str("read")
        imported = load_file(path)
        bar.update()
        bar.set_postfix_str("validate")
        symbol = symbol or imported.symbol
        if symbol is None:
            raise ValidationError(f"{path}: symbol not in the file name; pass it", field="symbol")
        clean, timeframe = _validated(imported, symbol, timeframe)
        bar.update()
        bar.set_postfix_str("write")
        if imported.kind == "funding":
            result = store.write_funding(exchange, symbol, clean)
        else:
            result = store.write(exchange, symbol, timeframe, clean, kind=imported.kind)
        bar.update()
    return result


def _validated(
    imported: ImportedFrame, symbol: str, timeframe: str | None
) -> tuple[pl.DataFrame, str]:
    """The checked frame and the timeframe to store it under ("" for funding)."""
    source = f"{imported.path} ({symbol})"
    if imported.kind == "funding":
        return validate_funding(imported.frame, source=source), ""
    timeframe = timeframe or imported.timeframe
    if timeframe is None:
        raise ValidationError(f"{imported.path}: timeframe unknown; pass it", field="timeframe")
    timeframe = canonical_timeframe(timeframe)
    return validate_candles(imported.frame, timeframe, source=source), timeframe
