"""Log filters from query parameters: each bad one names its field."""

from __future__ import annotations

import pytest

from viper.errors import ValidationError
from viper.modules.logger.entries import LogEntry, LogFilter, LogQuery, build_filter, words_of


def test_filters_are_built_from_query_parameters() -> None:
    query = LogQuery(
        level="warning", module="risk, order", since="2024-01-01", until="1704067260000"
    )
    f = build_filter(query, q="Daily LOSS")
    assert f.min_level == 30 and f.modules == frozenset({"risk", "order"})
    assert (f.since_ms, f.until_ms) == (1_704_067_200_000, 1_704_067_260_000)
    assert f.words == ("daily", "loss")


@pytest.mark.parametrize(
    ("query", "q", "field"),
    [
        (LogQuery(level="LOUD"), None, "level"),
        (LogQuery(since="yesterday"), None, "since"),
        (LogQuery(since="2000", until="1000"), None, "until"),
        (LogQuery(module=" , "), None, "module"),
        (LogQuery(request_id=" "), None, "request_id"),
        (LogQuery(), "  ;; ", "q"),
    ],
)
def test_bad_filters_name_their_field(query: LogQuery, q: str | None, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build_filter(query, q)
    assert caught.value.field == field


def test_words_split_on_punctuation_and_underscores_in_any_case() -> None:
    assert words_of("Order_rejected: BTC/USDT:USDT x=1") == {
        "order",
        "rejected",
        "btc",
        "usdt",
        "x",
        "1",
    }


def test_an_entry_matches_a_filter_like_the_index_does() -> None:
    entry = LogEntry(
        id=1,
        ts="",
        ts_ms=5,
        level="ERROR",
        module="risk",
        request_id="r",
        message="Kill switch tripped",
        exception="RuntimeError: halted",
    )
    assert LogFilter(min_level=40, words=("halted", "kill")).matches(40, entry)
    assert not LogFilter(min_level=50).matches(40, entry)
    assert not LogFilter(modules=frozenset({"order"})).matches(40, entry)
    assert not LogFilter(since_ms=6).matches(40, entry)
    assert not LogFilter(until_ms=5).matches(40, entry)
    assert not LogFilter(request_id="other").matches(40, entry)
    assert not LogFilter(words=("switch", "missing")).matches(40, entry)
