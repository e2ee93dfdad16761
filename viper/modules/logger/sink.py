"""The loguru sink that feeds the index and the live tail.

It runs after `viper.logs`' patcher, so the message is already redacted and the exception
text (redacted too) sits inside the record's JSON line. Without that patcher (a test, an
embedding) it redacts the message itself with the process's redactor. It never logs: a log
call from inside a sink would come straight back to it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from viper.http import request_id_var
from viper.modules.logger.entries import LogEntry, iso_ms
from viper.modules.logger.index import LogIndex
from viper.modules.logger.tail import LiveTail

if TYPE_CHECKING:
    from loguru import Message, Record

_decode = msgspec.json.Decoder(dict[str, Any]).decode


def no_text(record: Record) -> str:
    """A loguru format that renders nothing: the sink reads the record, not the text."""
    return ""


class IndexSink:
    """`logger.add(IndexSink(...))`: every record into the index, and to live clients."""

    def __init__(
        self, index: LogIndex, tail: LiveTail, redact: Callable[[str], str] | None = None
    ) -> None:
        self.index = index
        self.tail = tail
        self._redact = redact

    def __call__(self, message: Message) -> None:
        record = message.record
        extra = record["extra"]
        patched = "_json" in extra
        text = record["message"]
        if not patched and self._redact is not None:
            text = self._redact(text)
        exception = None
        if record["exception"] is not None:
            exception = self._exception(record, patched)
        level = record["level"]
        ts_ms = int(record["time"].timestamp() * 1000)
        module = str(extra.get("module", "core"))
        request_id = str(extra.get("request_id") or request_id_var.get())
        record_id = self.index.add(ts_ms, level.no, level.name, module, request_id, text, exception)
        if self.tail.active:
            entry = LogEntry(
                id=record_id,
                ts=iso_ms(ts_ms),
                ts_ms=ts_ms,
                level=level.name,
                module=module,
                request_id=request_id,
                message=text,
                exception=exception,
            )
            self.tail.publish(level.no, entry)

    def _exception(self, record: Record, patched: bool) -> str | None:
        if patched:
            text = _decode(record["extra"]["_json"]).get("exception")
            return str(text) if text else None
        exc = record["exception"]
        if exc is None or exc.type is None:
            return None
        text = "".join(traceback.format_exception(exc.type, exc.value, exc.traceback))
        return self._redact(text) if self._redact is not None else text
