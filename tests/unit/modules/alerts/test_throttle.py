"""Throttle: the first fire is sent, repeats in the window are counted, summaries come at its end."""

from __future__ import annotations

from viper.modules.alerts.models import Candidate
from viper.modules.alerts.throttle import Throttle, span


def fire(key: str = "k", rule: str = "r", severity: str = "warning") -> Candidate:
    return Candidate(category=rule, rule=rule, severity=severity, key=key, message=f"m-{key}")  # type: ignore[arg-type]


def test_repeats_in_the_window_fold_into_one_summary() -> None:
    throttle = Throttle(60, 10)
    sent = [throttle.offer(fire(), now=t * 0.5) for t in range(100)]
    assert sent.count(True) == 1 and sent[0]
    assert throttle.due(59.9) == []
    [(summary, repeats)] = throttle.due(60)
    assert repeats == 99 and summary.message == "+99 more in the last minute (latest: m-k)"
    assert throttle.next_due() is None and throttle.suppressed_total == 99


def test_the_summary_carries_the_worst_severity_folded() -> None:
    throttle = Throttle(60, 10)
    throttle.offer(fire(severity="warning"), 0)
    throttle.offer(fire(severity="critical"), 1)
    [(summary, _)] = throttle.due(60)
    assert summary.severity == "critical"


def test_distinct_keys_are_separate_alerts_up_to_the_rule_cap() -> None:
    throttle = Throttle(60, 2)
    assert [throttle.offer(fire(key=k), 0) for k in "abcd"] == [True, True, False, False]
    assert throttle.offer(fire(key="a"), 1) is False
    summaries = {s.key: n for s, n in throttle.due(60)}
    assert summaries == {"a": 1, "*": 2}


def test_after_the_window_the_next_fire_is_sent_again() -> None:
    throttle = Throttle(30, 10)
    assert throttle.offer(fire(), 0)
    assert not throttle.offer(fire(), 29)
    assert throttle.offer(fire(), 30)
    assert throttle.next_due() == 30  # the first window's summary is waiting
    [(_, repeats)] = throttle.due(30)
    assert repeats == 1 and throttle.next_due() == 60


def test_a_window_that_ended_before_the_next_fire_still_gets_its_summary() -> None:
    throttle = Throttle(60, 10)
    throttle.offer(fire(), 0)
    throttle.offer(fire(), 10)
    assert throttle.offer(fire(), 75)  # no flush in between
    [(summary, repeats)] = throttle.due(75)
    assert repeats == 1 and summary.key == "k"


def test_window_spans_read_naturally() -> None:
    assert [span(60), span(300), span(45)] == ["minute", "5 minutes", "45 s"]
