"""The candle and funding frame schemas, their validation, gap finding and resampling.

Candles: `timestamp` (Int64, ms UTC, bar open), `open`, `high`, `low`, `close`, `volume`
(Float64), sorted ascending with unique timestamps. Funding: `timestamp`, `rate`.
Bars of N weeks open on Mondays (as exchanges do); every other timeframe is aligned to the epoch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import msgspec
import numpy as np
import polars as pl

from viper.errors import DataError, ValidationError
from viper.timeframes import timeframe_ms

CANDLE_SCHEMA: Final[dict[str, pl.DataType]] = {
    "timestamp": pl.Int64(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
}
FUNDING_SCHEMA: Final[dict[str, pl.DataType]] = {"timestamp": pl.Int64(), "rate": pl.Float64()}
PRICES: Final = ("open", "high", "low", "close")

_SECOND, _MINUTE, _HOUR, _DAY, _WEEK = 1_000, 60_000, 3_600_000, 86_400_000, 604_800_000
_MONDAY_OFFSET: Final = 4 * _DAY  # 1970-01-01 was a Thursday; the first Monday is 4 days later


class Gap(msgspec.Struct, frozen=True, kw_only=True):
    """A run of missing bars: `start_ms` is the first missing open time, `end_ms` the last."""

    start_ms: int
    end_ms: int
    missing: int


def iso_ms(ts_ms: int) -> str:
    """`ts_ms` as an ISO 8601 UTC string, for error messages."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def canonical_timeframe(timeframe: str) -> str:
    """One name per bar length ("60m" -> "1h", "24h" -> "1d"); weeks stay weeks."""
    ms = timeframe_ms(timeframe)
    if timeframe.strip().endswith("w"):
        return f"{ms // _WEEK}w"
    return timeframe_from_ms(ms, weeks=False)


def timeframe_from_ms(ms: int, *, weeks: bool = True) -> str:
    """The timeframe name of a bar `ms` long, in the largest unit that divides it."""
    if ms <= 0:
        raise ValidationError(f"timeframe length must be positive, got {ms} ms", field="timeframe")
    units = (("w", _WEEK),) if weeks else ()
    for suffix, size in (*units, ("d", _DAY), ("h", _HOUR), ("m", _MINUTE), ("s", _SECOND)):
        if ms % size == 0:
            return f"{ms // size}{suffix}"
    raise ValidationError(f"{ms} ms is not a whole number of seconds", field="timeframe")


def grid_offset_ms(timeframe: str) -> int:
    """Where the bar grid of `timeframe` starts relative to the epoch (Mondays for weeks)."""
    step = timeframe_ms(timeframe)
    return _MONDAY_OFFSET % step if timeframe.strip().endswith("w") else 0


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A frame with no rows and exactly `schema`."""
    return pl.DataFrame(schema=schema)


def validate_candles(frame: pl.DataFrame, timeframe: str | None, *, source: str) -> pl.DataFrame:
    """`frame` cast to the candle schema, checked, de-duplicated (last wins) and sorted.

    Raises DataError naming `source` for missing or non-numeric columns, nulls, NaN or infinite
    values, prices <= 0, negative volume, high < low, or timestamps off the `timeframe` grid.
    """
    out = coerce(frame, CANDLE_SCHEMA, source=source)
    problems = {
        "NaN or infinite values": ~pl.all_horizontal(
            [pl.col(c).is_finite() for c in (*PRICES, "volume")]
        ),
        "a price <= 0": pl.min_horizontal(*PRICES) <= 0,
        "negative volume": pl.col("volume") < 0,
        "high < low": pl.col("high") < pl.col("low"),
        "a timestamp before 1970": pl.col("timestamp") < 0,
    }
    if timeframe is not None:
        step, offset = timeframe_ms(timeframe), grid_offset_ms(timeframe)
        problems[f"a timestamp not on the {timeframe} grid"] = (
            pl.col("timestamp") - offset
        ) % step != 0
    _raise_problems(out, problems, source)
    return dedupe_sorted(out)


def validate_funding(frame: pl.DataFrame, *, source: str) -> pl.DataFrame:
    """`frame` cast to the funding schema (`timestamp`, `rate`), checked, de-duplicated, sorted."""
    out = coerce(frame, FUNDING_SCHEMA, source=source)
    problems = {
        "a NaN or infinite rate": ~pl.col("rate").is_finite(),
        "a timestamp before 1970": pl.col("timestamp") < 0,
    }
    _raise_problems(out, problems, source)
    return dedupe_sorted(out)


def coerce(frame: pl.DataFrame, schema: dict[str, pl.DataType], *, source: str) -> pl.DataFrame:
    """Only the `schema` columns, cast safely (ints and floats to Float64, datetimes to ms)."""
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; expected {list(schema)}")
    exprs = [_timestamp_expr(frame, source)]
    for name in schema:
        if name == "timestamp":
            continue
        if not frame.schema[name].is_numeric():
            raise DataError(f"{source}: column {name!r} is {frame.schema[name]}, not numbers")
        exprs.append(pl.col(name).cast(pl.Float64, strict=True))
    try:
        out = frame.select(exprs)
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"{source}: cannot cast to the store schema: {exc}") from exc
    nulls = {name: count for name, count in out.null_count().row(0, named=True).items() if count}
    if nulls:
        raise DataError(f"{source}: null values in {nulls}")
    return out


def _timestamp_expr(frame: pl.DataFrame, source: str) -> pl.Expr:
    dtype = frame.schema["timestamp"]
    col = pl.col("timestamp")
    if isinstance(dtype, pl.Datetime):
        return col.dt.epoch("ms")
    if isinstance(dtype, pl.Date):
        return col.cast(pl.Datetime("ms")).dt.epoch("ms")
    if dtype.is_integer():
        return col.cast(pl.Int64, strict=True)
    if dtype.is_float():
        if frame.select((col.is_finite() & (col % 1 == 0)).all()).item() is not True:
            raise DataError(f"{source}: timestamps must be whole milliseconds")
        return col.cast(pl.Int64, strict=True)
    raise DataError(f"{source}: timestamp is {dtype}; expected integer ms UTC or a datetime")


def _raise_problems(frame: pl.DataFrame, problems: dict[str, pl.Expr], source: str) -> None:
    if frame.is_empty():
        return
    counts = frame.select([expr.sum().alias(name) for name, expr in problems.items()])
    found = []
    for name, count in counts.row(0, named=True).items():
        if count:
            first = int(frame.filter(problems[name]).item(0, "timestamp"))
            found.append(f"{count} row(s) with {name} (first at {iso_ms(first)} = {first})")
    if found:
        raise DataError(f"{source}: " + "; ".join(found))


def dedupe_sorted(frame: pl.DataFrame) -> pl.DataFrame:
    """Sorted by timestamp, keeping the last row of each duplicated timestamp."""
    if frame.height < 2 or frame.select(pl.col("timestamp").diff().min()).item() > 0:
        return frame
    unique = frame.unique(subset="timestamp", keep="last", maintain_order=True)
    return unique.sort("timestamp")


def find_gaps(timestamps: pl.Series, step_ms: int) -> list[Gap]:
    """Runs of missing bars between consecutive sorted on-grid `timestamps`."""
    ts = timestamps.to_numpy()
    diffs = np.diff(ts)
    where = np.flatnonzero(diffs > step_ms)
    return [
        Gap(
            start_ms=int(ts[i]) + step_ms,
            end_ms=int(ts[i + 1]) - step_ms,
            missing=int(diffs[i] // step_ms) - 1,
        )
        for i in where
    ]


def missing_bars(timestamps: pl.Series, step_ms: int) -> int:
    """How many bars of `step_ms` are missing between the first and the last timestamp."""
    diffs = np.diff(timestamps.to_numpy())
    return int(np.maximum(diffs // step_ms - 1, 0).sum())


def missing_funding(timestamps: pl.Series) -> int:
    """Missing funding events, against the typical cadence (funding times jitter by a few ms)."""
    diffs = np.diff(timestamps.to_numpy())
    if diffs.size == 0:
        return 0
    cadence = max(round(float(np.median(diffs)) / _MINUTE) * _MINUTE, _MINUTE)
    return int(np.maximum(np.rint(diffs / cadence) - 1, 0).sum())


def resample(
    frame: pl.DataFrame, source_tf: str, target_tf: str, *, complete_only: bool = True
) -> pl.DataFrame:
    """Candles of `source_tf` aggregated into UTC-aligned bars of `target_tf`.

    open=first, high=max, low=min, close=last, volume=sum. With `complete_only`, a target bar is
    kept only when it holds every source bar (this drops a still-forming last bar and bars over
    holes in the source); otherwise partial bars are kept too.
    """
    source_ms = timeframe_ms(source_tf, "source_tf")
    target_ms = timeframe_ms(target_tf, "target_tf")
    if target_ms < source_ms or target_ms % source_ms:
        raise ValidationError(
            f"cannot resample {source_tf} into {target_tf}: not a whole multiple",
            field="target_tf",
        )
    offset = grid_offset_ms(target_tf)
    bucket = (pl.col("timestamp") - offset) // target_ms * target_ms + offset
    out = (
        frame.lazy()
        .sort("timestamp")
        .group_by(bucket.alias("bucket"), maintain_order=True)
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
            pl.len().alias("bars"),
        )
    )
    if complete_only:
        out = out.filter(pl.col("bars") == target_ms // source_ms)
    return out.select(pl.col("bucket").alias("timestamp"), *PRICES, "volume").collect()
