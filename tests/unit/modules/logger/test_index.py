"""The log index: newest first, every filter, word search, pages, and a bounded size."""

from __future__ import annotations

import threading

import pytest

from viper.modules.logger.entries import LogFilter
from viper.modules.logger.index import SEGMENT, LogIndex

T0 = 1_700_000_000_000
LEVEL_NOS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}


def add(index: LogIndex, n: int, *, start: int = 0) -> None:
    """`n` records: module by i % 3, level by i % 4, one request per 10 records."""
    modules, levels = ("risk", "order", "data"), ("DEBUG", "INFO", "WARNING", "ERROR")
    for i in range(start, start + n):
        level = levels[i % 4]
        message = f"record {i} of {modules[i % 3]} Order-{i % 7}"
        index.add(T0 + i, LEVEL_NOS[level], level, modules[i % 3], f"req-{i // 10}", message)


def ids(index: LogIndex, f: LogFilter, offset: int = 0, limit: int = 1000) -> list[int | None]:
    return [e.id for e in index.query(f, offset, limit)[1]]


def test_tail_is_newest_first_with_a_total_and_pages() -> None:
    index = LogIndex(100)
    add(index, 30)
    total, page = index.query(LogFilter(), 0, 5)
    assert total == 30 and [e.id for e in page] == [29, 28, 27, 26, 25]
    assert ids(index, LogFilter(), offset=25, limit=10) == [4, 3, 2, 1, 0]
    entry = page[0]
    assert (entry.module, entry.level, entry.request_id) == ("data", "INFO", "req-2")
    assert entry.message == "record 29 of data Order-1"
    assert entry.ts.startswith("2023-11-14T22:13:20.029")


def test_filters_combine() -> None:
    index = LogIndex(1000)
    add(index, 100)
    assert all(i % 4 >= 2 for i in ids(index, LogFilter(min_level=30)))  # type: ignore[operator]
    assert set(ids(index, LogFilter(modules=frozenset({"risk"})))) == set(range(0, 100, 3))
    assert ids(index, LogFilter(since_ms=T0 + 95)) == [99, 98, 97, 96, 95]
    assert ids(index, LogFilter(until_ms=T0 + 2)) == [1, 0]
    assert ids(index, LogFilter(request_id="req-3")) == list(range(39, 29, -1))
    both = LogFilter(min_level=40, modules=frozenset({"order"}), since_ms=T0 + 50)
    assert ids(index, both) == [i for i in range(99, 49, -1) if i % 4 == 3 and i % 3 == 1]
    assert index.query(LogFilter(modules=frozenset({"nobody"})), 0, 10) == (0, [])


def test_search_matches_every_word_in_any_case() -> None:
    index = LogIndex(1000)
    add(index, 100)
    assert ids(index, LogFilter(words=("order", "risk"))) == list(range(99, -1, -3))
    assert ids(index, LogFilter(words=("4", "order"))) == [
        i for i in range(99, -1, -1) if i == 4 or i % 7 == 4
    ]
    assert ids(index, LogFilter(words=("missing",))) == []
    index.add(T0, 20, "INFO", "api", "", "Timeout talking to BITGET; retrying", "Trace\nErr: x")
    assert ids(index, LogFilter(words=("bitget", "timeout"))) == [100]
    assert ids(index, LogFilter(words=("err",))) == [100]  # exception text is searched too


def test_capacity_bounds_the_index_and_drops_the_oldest() -> None:
    capacity = SEGMENT + 100
    index = LogIndex(capacity)
    add(index, 3 * SEGMENT)
    total, page = index.query(LogFilter(), 0, 1)
    assert total == capacity == len(index)
    assert page[0].id == 3 * SEGMENT - 1
    oldest = 3 * SEGMENT - capacity
    assert ids(index, LogFilter(), offset=capacity - 1, limit=5) == [oldest]
    assert index.oldest_ms() == T0 + oldest
    assert index.evicted == 3 * SEGMENT - capacity
    assert index.stats()["segments"] <= 3
    searched = index.query(LogFilter(words=("record",)), 0, 1)[0]
    assert searched == capacity


def test_pages_walk_across_segments_without_gaps() -> None:
    index = LogIndex(3 * SEGMENT)
    add(index, 2 * SEGMENT + 10)
    seen: list[int | None] = []
    offset = 0
    f = LogFilter(modules=frozenset({"risk"}))
    while True:
        total, page = index.query(f, offset, 997)
        if not page:
            break
        seen.extend(e.id for e in page)
        offset += len(page)
    assert seen == [i for i in range(2 * SEGMENT + 9, -1, -1) if i % 3 == 0]
    assert total == len(seen)


def test_records_from_many_threads_are_all_indexed() -> None:
    index = LogIndex(100_000)

    def work(n: int) -> None:
        for i in range(2_000):
            index.add(T0 + i, 20, "INFO", f"t{n}", "", f"thread {n} line {i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert index.query(LogFilter(), 0, 1)[0] == 8_000
    assert index.query(LogFilter(words=("thread", "2")), 0, 1)[0] >= 2_000


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        LogIndex(0)
