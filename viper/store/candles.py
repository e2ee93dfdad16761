"""The Parquet candle store: one zstd Parquet file per exchange, symbol, timeframe and kind.

Layout: `<root>/<exchange>/<SYMBOL>/<timeframe>.parquet` for candles, `<timeframe>-mark.parquet`
for mark-price candles and `funding.parquet` for funding-rate history. SYMBOL is the symbol
made filesystem-safe and reversible (see `encode_symbol`): "BTC/USDT:USDT" -> "BTC_USDT__USDT".
Writes merge with the stored rows (new rows win), then replace the file atomically. Methods are
synchronous; async callers use `asyncio.to_thread`. Locks are per process: one writer process.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Final, Literal
from urllib.parse import unquote

import msgspec
import polars as pl

from viper.errors import DataError, NotFoundError, ValidationError
from viper.marketdata.frames import (
    CANDLE_SCHEMA,
    FUNDING_SCHEMA,
    Gap,
    canonical_timeframe,
    empty,
    find_gaps,
    missing_bars,
    missing_funding,
    resample,
    validate_candles,
    validate_funding,
)
from viper.timeframes import timeframe_ms

__all__ = ["CandleStore", "DatasetInfo", "Gap", "WriteResult", "resample"]

CandleKind = Literal["ohlcv", "mark"]
DatasetKind = Literal["ohlcv", "mark", "funding"]

ROW_GROUP_ROWS: Final = 65_536  # ~45 days of 1m bars: a range read touches one or two groups
_FUNDING_FILE: Final = "funding.parquet"
_EXCHANGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-")
_SEPARATORS: Final = {"/": "_", ":": "__"}
_UNDERSCORES = re.compile(r"_+")


class WriteResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a write did: rows given, rows new to the file, rows now stored and their span."""

    rows_in: int
    rows_added: int
    rows_total: int
    first_ms: int | None
    last_ms: int | None


class DatasetInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One stored file; `timeframe` is None for funding, `error` set when it cannot be read."""

    exchange: str
    symbol: str
    timeframe: str | None
    kind: DatasetKind
    first_ms: int | None
    last_ms: int | None
    rows: int
    gaps: int
    bytes: int
    error: str | None = None


def encode_symbol(symbol: str) -> str:
    """`symbol` as a folder name: "/" -> "_", ":" -> "__", anything else unsafe -> %XX.

    A literal "_", "%", a leading "." and a separator next to another separator are
    percent-encoded, so every run of underscores decodes to exactly one separator.
    """
    if not symbol or len(symbol) > 100:
        raise ValidationError(f"symbol must be 1 to 100 characters, got {symbol!r}", field="symbol")
    parts = []
    for i, char in enumerate(symbol):
        near_separator = symbol[i - 1 : i] in _SEPARATORS or symbol[i + 1 : i + 2] in _SEPARATORS
        if char in _SEPARATORS and not near_separator:
            parts.append(_SEPARATORS[char])
        elif char in _PLAIN and not (i == 0 and char == "."):
            parts.append(char)
        else:
            parts.append("".join(f"%{byte:02X}" for byte in char.encode()))
    return "".join(parts)


def decode_symbol(name: str) -> str | None:
    """The symbol whose folder is `name`, or None when `name` is not one `encode_symbol` makes."""
    if any(len(run) > 2 for run in _UNDERSCORES.findall(name)):
        return None
    joined = _UNDERSCORES.sub(lambda m: "/" if len(m.group()) == 1 else ":", name)
    try:
        symbol = unquote(joined, errors="strict")
        return symbol if encode_symbol(symbol) == name else None
    except (UnicodeDecodeError, ValidationError):
        return None


def _collect(query: pl.LazyFrame, path: Path) -> pl.DataFrame:
    """Run `query` on the file at `path`; a corrupt or foreign file becomes a DataError."""
    try:
        return query.collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{path}: unreadable Parquet file (corrupt or truncated?): {exc}") from exc


def _checked(frame: pl.DataFrame, schema: dict[str, pl.DataType], path: Path) -> pl.DataFrame:
    if dict(frame.schema) != schema:
        raise DataError(f"{path}: columns {dict(frame.schema)} are not the store schema {schema}")
    return frame


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":  # Windows cannot open a directory for fsync
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, frame: pl.DataFrame) -> None:
    """Write to a temp file beside `path`, fsync, then rename over it: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            frame.write_parquet(handle, compression="zstd", row_group_size=ROW_GROUP_ROWS)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _merge(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    if old.is_empty():
        return new
    if new.is_empty() or old.item(-1, "timestamp") < new.item(0, "timestamp"):
        return pl.concat([old, new])
    both = pl.concat([old, new]).unique(subset="timestamp", keep="last", maintain_order=True)
    return both.sort("timestamp")


def _candle_kind(kind: str) -> CandleKind:
    if kind == "ohlcv":
        return "ohlcv"
    if kind == "mark":
        return "mark"
    raise ValidationError(f"candle kind must be 'ohlcv' or 'mark', got {kind!r}", field="kind")


def _dataset_name(file_name: str) -> tuple[DatasetKind, str | None] | None:
    """(kind, timeframe) of a store file name, or None for anything else."""
    if file_name == _FUNDING_FILE:
        return "funding", None
    stem = file_name.removesuffix(".parquet")
    kind: DatasetKind = "mark" if stem.endswith("-mark") else "ohlcv"
    timeframe = stem.removesuffix("-mark")
    try:
        return (kind, timeframe) if canonical_timeframe(timeframe) == timeframe else None
    except ValidationError:
        return None


class CandleStore:
    """Candles, mark-price candles and funding rates in Parquet files under `root`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._locks: dict[Path, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def path(self, exchange: str, symbol: str, timeframe: str, kind: DatasetKind = "ohlcv") -> Path:
        """The file of one dataset (it may not exist yet)."""
        if not _EXCHANGE.match(exchange):
            raise ValidationError(f"invalid exchange id {exchange!r}", field="exchange")
        folder = self.root / exchange / encode_symbol(symbol)
        if kind == "funding":
            return folder / _FUNDING_FILE
        suffix = "-mark" if kind == "mark" else ""
        return folder / f"{canonical_timeframe(timeframe)}{suffix}.parquet"

    def write(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        frame: pl.DataFrame,
        *,
        kind: CandleKind = "ohlcv",
    ) -> WriteResult:
        """Validate `frame`, merge it into the stored candles (new rows win), write atomically."""
        path = self.path(exchange, symbol, timeframe, _candle_kind(kind))
        source = f"{exchange} {symbol} {canonical_timeframe(timeframe)} {kind}"
        clean = validate_candles(frame, canonical_timeframe(timeframe), source=source)
        return self._merge_write(path, clean, frame.height, CANDLE_SCHEMA)

    def write_funding(self, exchange: str, symbol: str, frame: pl.DataFrame) -> WriteResult:
        """Validate funding rates (`timestamp`, `rate`) and merge them like `write`."""
        path = self.path(exchange, symbol, "", "funding")
        clean = validate_funding(frame, source=f"{exchange} {symbol} funding")
        return self._merge_write(path, clean, frame.height, FUNDING_SCHEMA)

    def read(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
        *,
        descending: bool = False,
        kind: CandleKind = "ohlcv",
    ) -> pl.DataFrame:
        """Candles with `start_ms <= timestamp < end_ms`; at most `limit`, newest first if asked."""
        path = self._existing(exchange, symbol, timeframe, _candle_kind(kind))
        return self._query(path, CANDLE_SCHEMA, start_ms, end_ms, limit, descending)

    def read_funding(
        self,
        exchange: str,
        symbol: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
        *,
        descending: bool = False,
    ) -> pl.DataFrame:
        """Funding rates with `start_ms <= timestamp < end_ms`, as `read` does for candles."""
        path = self._existing(exchange, symbol, "", "funding")
        return self._query(path, FUNDING_SCHEMA, start_ms, end_ms, limit, descending)

    def first_timestamp(
        self, exchange: str, symbol: str, timeframe: str, *, kind: DatasetKind = "ohlcv"
    ) -> int | None:
        """The oldest stored open time, or None when nothing is stored."""
        return self._stat(exchange, symbol, timeframe, kind, pl.col("timestamp").min())

    def last_timestamp(
        self, exchange: str, symbol: str, timeframe: str, *, kind: DatasetKind = "ohlcv"
    ) -> int | None:
        """The newest stored open time, or None when nothing is stored."""
        return self._stat(exchange, symbol, timeframe, kind, pl.col("timestamp").max())

    def row_count(
        self, exchange: str, symbol: str, timeframe: str, *, kind: DatasetKind = "ohlcv"
    ) -> int:
        """Stored rows (from the Parquet metadata); 0 when nothing is stored."""
        return self._stat(exchange, symbol, timeframe, kind, pl.len()) or 0

    def gaps(
        self, exchange: str, symbol: str, timeframe: str, *, kind: CandleKind = "ohlcv"
    ) -> list[Gap]:
        """Runs of missing bars between the first and the last stored candle."""
        path = self._existing(exchange, symbol, timeframe, _candle_kind(kind))
        stamps = _collect(pl.scan_parquet(path).select("timestamp"), path)["timestamp"]
        return find_gaps(stamps, timeframe_ms(timeframe))

    def datasets(self) -> list[DatasetInfo]:
        """Every stored file with its span, rows, missing bars and size; unreadable ones flagged."""
        if not self.root.is_dir():
            return []
        found = []
        for exchange_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for symbol_dir in sorted(p for p in exchange_dir.iterdir() if p.is_dir()):
                symbol = decode_symbol(symbol_dir.name)
                if symbol is None or not _EXCHANGE.match(exchange_dir.name):
                    continue
                for file in sorted(symbol_dir.glob("*.parquet")):
                    parsed = _dataset_name(file.name)
                    if parsed is not None:
                        found.append(_describe(file, exchange_dir.name, symbol, *parsed))
        return found

    def _existing(self, exchange: str, symbol: str, timeframe: str, kind: DatasetKind) -> Path:
        path = self.path(exchange, symbol, timeframe, kind)
        if not path.is_file():
            what = "funding rates" if kind == "funding" else f"{kind} {timeframe} candles"
            raise NotFoundError(f"no {what} stored for {symbol} on {exchange} (looked in {path})")
        return path

    def _stat(
        self, exchange: str, symbol: str, timeframe: str, kind: DatasetKind, expr: pl.Expr
    ) -> int | None:
        path = self.path(exchange, symbol, timeframe, kind)
        if not path.is_file():
            return None
        value = _collect(pl.scan_parquet(path).select(expr), path).item()
        return None if value is None else int(value)

    def _query(
        self,
        path: Path,
        schema: dict[str, pl.DataType],
        start_ms: int | None,
        end_ms: int | None,
        limit: int | None,
        descending: bool,
    ) -> pl.DataFrame:
        if limit is not None and limit < 0:
            raise ValidationError(f"limit must be >= 0, got {limit}", field="limit")
        query = pl.scan_parquet(path)
        if start_ms is not None:
            query = query.filter(pl.col("timestamp") >= start_ms)
        if end_ms is not None:
            query = query.filter(pl.col("timestamp") < end_ms)
        if descending:
            query = (query if limit is None else query.tail(limit)).reverse()
        elif limit is not None:
            query = query.head(limit)
        return _checked(_collect(query, path), schema, path)

    def _lock(self, path: Path) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(path, threading.Lock())

    def _merge_write(
        self, path: Path, clean: pl.DataFrame, rows_in: int, schema: dict[str, pl.DataType]
    ) -> WriteResult:
        with self._lock(path):
            old = empty(schema)
            if path.is_file():  # a corrupt file raises here and is left untouched
                old = _checked(_collect(pl.scan_parquet(path), path), schema, path)
            merged = _merge(old, clean)
            if not clean.is_empty():
                _atomic_write(path, merged)
        first, last = _span(merged["timestamp"])
        return WriteResult(
            rows_in=rows_in,
            rows_added=merged.height - old.height,
            rows_total=merged.height,
            first_ms=first,
            last_ms=last,
        )


def _span(stamps: pl.Series) -> tuple[int | None, int | None]:
    if stamps.is_empty():
        return None, None
    return int(stamps[0]), int(stamps[-1])


def _describe(
    path: Path, exchange: str, symbol: str, kind: DatasetKind, timeframe: str | None
) -> DatasetInfo:
    """Span, rows and missing bars of one file, from its timestamp column alone."""
    error = None
    try:
        stamps = _collect(pl.scan_parquet(path).select("timestamp"), path)["timestamp"]
    except DataError as exc:
        stamps, error = pl.Series("timestamp", [], dtype=pl.Int64), str(exc)
    if timeframe is None:
        missing = missing_funding(stamps)
    else:
        missing = missing_bars(stamps, timeframe_ms(timeframe))
    first, last = _span(stamps)
    return DatasetInfo(
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        kind=kind,
        first_ms=first,
        last_ms=last,
        rows=stamps.len(),
        gaps=missing,
        bytes=path.stat().st_size,
        error=error,
    )
