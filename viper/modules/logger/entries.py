"""Log records as the logger serves them, the filters over them, and their validation.

A record keeps what `viper.logs` writes to the JSON file: ts_ms, level, module, request id,
the (already redacted) message and exception text. Filters come from query parameters; each
bad one is a ValidationError naming its field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from viper.errors import ValidationError
from viper.timeframes import parse_time

# loguru's standard levels; a custom level is kept under its own name and number.
LEVELS: dict[str, int] = {
    "TRACE": 5,
    "DEBUG": 10,
    "INFO": 20,
    "SUCCESS": 25,
    "WARNING": 30,
    "ERROR": 40,
    "CRITICAL": 50,
}
# Letters and digits; a run longer than 64 (a hash, a blob) is cut into 64-character words.
_WORD = re.compile(r"[^\W_]{1,64}")
Source = Literal["auto", "memory", "files"]


def words_of(text: str) -> set[str]:
    """The distinct lower-case words of `text` (letters and digits; `_` and punctuation split)."""
    return set(_WORD.findall(text.lower()))


def iso_ms(ts_ms: int) -> str:
    """ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat(timespec="milliseconds")


class LogEntry(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One log record; `id` rises by one per record indexed (None for one read from a file)."""

    id: int | None
    ts: str
    ts_ms: int
    level: str
    module: str
    request_id: str = ""
    message: str
    exception: str | None = None


class LogFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Validated filters: all must hold (words AND-ed, `since <= ts_ms < until`)."""

    min_level: int = 0
    modules: frozenset[str] | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    request_id: str | None = None
    words: tuple[str, ...] = ()

    def matches(self, level_no: int, entry: LogEntry) -> bool:
        """Whether `entry` (of level number `level_no`) passes every filter."""
        if level_no < self.min_level:
            return False
        if self.modules is not None and entry.module not in self.modules:
            return False
        if self.since_ms is not None and entry.ts_ms < self.since_ms:
            return False
        if self.until_ms is not None and entry.ts_ms >= self.until_ms:
            return False
        if self.request_id is not None and entry.request_id != self.request_id:
            return False
        if not self.words:
            return True
        found = words_of(entry.message)
        if entry.exception:
            found |= words_of(entry.exception)
        return all(w in found for w in self.words)


class LogQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Query parameters of /logger/logs and /logger/stream."""

    level: str | None = None
    module: str | None = None
    since: str | None = None
    until: str | None = None
    request_id: str | None = None
    limit: Annotated[int, Meta(ge=1)] = 100
    offset: Annotated[int, Meta(ge=0)] = 0
    source: Source = "auto"


class SearchQuery(LogQuery, kw_only=True, forbid_unknown_fields=True):
    """Query parameters of /logger/search: `q`, the words to find (without it, every record)."""

    q: str | None = None


class LogPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of records, newest first.

    `total` counts every match (None when reading files, which stop at the page);
    `next_offset` is where the next page starts (None on the last one).
    """

    source: Literal["memory", "files"]
    total: int | None
    offset: int
    limit: int
    count: int
    next_offset: int | None
    oldest_ms: int | None
    records: list[LogEntry]


def level_number(value: str) -> int:
    """The number of a level name (any case) or a number; ValidationError names `level`."""
    text = value.strip().upper()
    if text.isdigit():
        return int(text)
    if text not in LEVELS:
        raise ValidationError(
            f"level: unknown level {value!r}; use one of {', '.join(LEVELS)}", field="level"
        )
    return LEVELS[text]


def build_filter(query: LogQuery, q: str | None = None) -> LogFilter:
    """The filter a query asks for; each bad parameter raises a ValidationError naming it."""
    since = parse_time(query.since, "since")
    until = parse_time(query.until, "until")
    if since is not None and until is not None and until <= since:
        raise ValidationError("until: must be after since", field="until")
    modules = None
    if query.module is not None:
        names = frozenset(m.strip() for m in query.module.split(",") if m.strip())
        if not names:
            raise ValidationError("module: give one or more module names", field="module")
        modules = names
    words: tuple[str, ...] = ()
    if q is not None:
        words = tuple(sorted(words_of(q)))
        if not words:
            raise ValidationError("q: no words to search for", field="q")
    request_id = query.request_id.strip() if query.request_id is not None else None
    if request_id == "":
        raise ValidationError("request_id: must not be empty", field="request_id")
    return LogFilter(
        min_level=level_number(query.level) if query.level else 0,
        modules=modules,
        since_ms=since,
        until_ms=until,
        request_id=request_id,
        words=words,
    )
