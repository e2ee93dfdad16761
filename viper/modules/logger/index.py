"""The bounded in-memory log index: the newest `capacity` records, searchable by word.

Records live in segments of `SEGMENT` rows: numpy columns (time, level, module) for the
filters, the texts in lists, and per segment an inverted index (word -> row offsets, uint16)
plus one for request ids. The oldest segment is dropped whole once every row in it has
fallen out of the window, so eviction costs nothing per record. A query walks the segments
newest first, intersects the posting lists of its words, masks the columns, and counts every
match while materializing only the page. Thread-safe: loguru may call the sink from any thread.
"""

from __future__ import annotations

import threading
from array import array
from collections import deque
from collections.abc import Sequence

import numpy as np

from viper.modules.logger.entries import LogEntry, LogFilter, iso_ms, words_of

SEGMENT = 16_384  # rows per segment; row offsets must fit in uint16
_EMPTY = np.zeros(0, dtype=np.uint16)


class Interned:
    """Small ids for a few repeated names (levels, modules)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.names: list[str] = []

    def id(self, name: str) -> int:
        found = self.ids.get(name)
        if found is None:
            found = self.ids[name] = len(self.names)
            self.names.append(name)
        return found


class Segment:
    """Up to SEGMENT consecutive records, starting at record id `base`."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.n = 0
        self.ts = np.zeros(SEGMENT, dtype=np.int64)
        self.level = np.zeros(SEGMENT, dtype=np.uint8)
        self.level_name = np.zeros(SEGMENT, dtype=np.uint8)
        self.module = np.zeros(SEGMENT, dtype=np.uint16)
        self.messages: list[str] = []
        self.request_ids: list[str] = []
        self.exceptions: dict[int, str] = {}
        self.words: dict[str, array[int]] = {}
        self.requests: dict[str, array[int]] = {}
        self.sealed = False
        self.ts_min = self.ts_max = 0
        self.level_min = 255

    def add(
        self,
        ts_ms: int,
        level: int,
        level_name: int,
        module: int,
        request_id: str,
        message: str,
        exception: str | None,
        words: set[str],
    ) -> None:
        i = self.n
        self.ts[i] = ts_ms
        self.level[i] = level
        self.level_name[i] = level_name
        self.module[i] = module
        self.messages.append(message)
        self.request_ids.append(request_id)
        if exception:
            self.exceptions[i] = exception
        index = self.words
        for word in words:
            posting = index.get(word)
            if posting is None:
                posting = index[word] = array("H")
            posting.append(i)
        if request_id:
            posting = self.requests.get(request_id)
            if posting is None:
                posting = self.requests[request_id] = array("H")
            posting.append(i)
        if i == 0:
            self.ts_min = self.ts_max = ts_ms
        elif ts_ms < self.ts_min:
            self.ts_min = ts_ms
        elif ts_ms > self.ts_max:
            self.ts_max = ts_ms
        self.level_min = min(self.level_min, level)
        self.n = i + 1
        self.sealed = self.n == SEGMENT

    def _rows(self, posting: array[int]) -> np.ndarray:
        rows = np.frombuffer(posting, dtype=np.uint16)
        # The open segment's arrays still grow: a copy leaves no view that would block them.
        return rows if self.sealed else rows.copy()

    def _candidates(self, f: LogFilter) -> np.ndarray | None:
        """Rows having every word and the request id (None: no such filter), ascending."""
        postings: list[array[int]] = []
        for word in f.words:
            posting = self.words.get(word)
            if posting is None:
                return _EMPTY
            postings.append(posting)
        if f.request_id is not None:
            posting = self.requests.get(f.request_id)
            if posting is None:
                return _EMPTY
            postings.append(posting)
        if not postings:
            return None
        postings.sort(key=len)
        rows = self._rows(postings[0])
        for posting in postings[1:]:
            other = self._rows(posting)
            at = np.searchsorted(other, rows)
            at[at == len(other)] = 0
            rows = rows[other[at] == rows]
            if not rows.size:
                break
        return rows

    def select(self, f: LogFilter, first: int, module_ids: np.ndarray | None) -> np.ndarray:
        """Rows from `first` on that pass `f`, ascending."""
        if self.n <= first or not self._in_range(f):
            return _EMPTY
        rows = self._candidates(f)
        if rows is None:
            rows = np.arange(first, self.n, dtype=np.uint16)
        elif first:
            rows = rows[rows >= first]
        if not rows.size:
            return rows
        mask = None
        if f.min_level > self.level_min:
            mask = self.level[rows] >= f.min_level
        if module_ids is not None:
            mask = _and(mask, np.isin(self.module[rows], module_ids))
        if f.since_ms is not None and self.ts_min < f.since_ms:
            mask = _and(mask, self.ts[rows] >= f.since_ms)
        if f.until_ms is not None and self.ts_max >= f.until_ms:
            mask = _and(mask, self.ts[rows] < f.until_ms)
        return rows if mask is None else rows[mask]

    def _in_range(self, f: LogFilter) -> bool:
        if f.since_ms is not None and self.ts_max < f.since_ms:
            return False
        return f.until_ms is None or self.ts_min < f.until_ms


def _and(mask: np.ndarray | None, more: np.ndarray) -> np.ndarray:
    return more if mask is None else mask & more


class LogIndex:
    """The newest `capacity` records, with tail and word search; safe across threads."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._segments: deque[Segment] = deque([Segment(0)])
        self._next = 0
        self._levels = Interned()
        self._modules = Interned()
        self.started_ms: int | None = None

    def __len__(self) -> int:
        return min(self._next, self.capacity)

    @property
    def evicted(self) -> int:
        """Records dropped to keep within capacity."""
        return max(0, self._next - self.capacity)

    def add(
        self,
        ts_ms: int,
        level: int,
        level_name: str,
        module: str,
        request_id: str,
        message: str,
        exception: str | None = None,
    ) -> int:
        """Index one record; returns its id."""
        words = words_of(message)
        if exception:
            words |= words_of(exception)
        level = min(max(level, 0), 255)
        with self._lock:
            segment = self._segments[-1]
            if segment.n == SEGMENT:
                segment = Segment(self._next)
                self._segments.append(segment)
            level_id, module_id = self._levels.id(level_name), self._modules.id(module)
            segment.add(ts_ms, level, level_id, module_id, request_id, message, exception, words)
            record_id = self._next
            self._next += 1
            if self.started_ms is None:
                self.started_ms = ts_ms
            first_live = self._next - self.capacity
            while self._segments[0].base + SEGMENT <= first_live:
                self._segments.popleft()
        return record_id

    def oldest_ms(self) -> int | None:
        """Time of the oldest record still held."""
        with self._lock:
            segment = self._segments[0]
            row = max(0, self._next - self.capacity - segment.base)
            return int(segment.ts[row]) if row < segment.n else None

    def covered_from_ms(self) -> int | None:
        """From when the index holds every record: its first one, or the oldest kept."""
        return self.oldest_ms() if self.evicted else self.started_ms

    def query(self, f: LogFilter, offset: int, limit: int) -> tuple[int, list[LogEntry]]:
        """Every match counted, and the page `offset : offset + limit` of them, newest first."""
        with self._lock:
            module_ids = self._module_ids(f.modules)
            if module_ids is not None and not module_ids.size:
                return 0, []
            first_live = max(0, self._next - self.capacity)
            total, skip = 0, offset
            page: list[LogEntry] = []
            for segment in reversed(self._segments):
                rows = segment.select(f, max(0, first_live - segment.base), module_ids)
                found = len(rows)
                total += found
                if len(page) >= limit or not found:
                    continue
                if skip >= found:
                    skip -= found
                    continue
                end = found - skip
                start = max(0, end - (limit - len(page)))
                page.extend(self._entry(segment, int(r)) for r in rows[start:end][::-1])
                skip = 0
            return total, page

    def _module_ids(self, names: frozenset[str] | None) -> np.ndarray | None:
        if names is None:
            return None
        ids = [self._modules.ids[n] for n in names if n in self._modules.ids]
        return np.array(ids, dtype=np.uint16)

    def _entry(self, segment: Segment, row: int) -> LogEntry:
        ts_ms = int(segment.ts[row])
        return LogEntry(
            id=segment.base + row,
            ts=iso_ms(ts_ms),
            ts_ms=ts_ms,
            level=self._levels.names[segment.level_name[row]],
            module=self._modules.names[segment.module[row]],
            request_id=segment.request_ids[row],
            message=segment.messages[row],
            exception=segment.exceptions.get(row),
        )

    def stats(self) -> dict[str, int]:
        """Sizes for health checks."""
        with self._lock:
            words = sum(len(s.words) for s in self._segments)
            return {
                "records": len(self),
                "capacity": self.capacity,
                "indexed_total": self._next,
                "evicted": self.evicted,
                "segments": len(self._segments),
                "words": words,
            }

    def modules(self) -> Sequence[str]:
        """Every module name seen so far."""
        return tuple(self._modules.names)
