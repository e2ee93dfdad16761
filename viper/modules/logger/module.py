"""The logger module: every module's log records in a bounded, searchable index, behind /logger.

`start` adds a loguru sink that feeds the index and the live tail; `stop` removes it. Older
history is read from the rotating JSON files `viper.logs` writes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from loguru import logger
from starlette.routing import BaseRoute

from viper.config import LoggerConfig
from viper.errors import ConflictError, ValidationError
from viper.modules.base import Health, ModuleContext
from viper.modules.logger.entries import LogEntry, LogFilter, LogPage, LogQuery, build_filter
from viper.modules.logger.files import read_page
from viper.modules.logger.index import LogIndex
from viper.modules.logger.routes import routes
from viper.modules.logger.sink import IndexSink, no_text
from viper.modules.logger.tail import LiveTail, LogFeed
from viper.protocols import SecretRedactor

MAX_BACKLOG = 1000


class LoggerModule:
    """Indexes log records; serves /logger/logs, /logger/search and /logger/stream."""

    name = "logger"
    requires: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.config = LoggerConfig()
        self.heartbeat_seconds = self.config.heartbeat_seconds
        self._index: LogIndex | None = None
        self._tail: LiveTail | None = None
        self._sink_id: int | None = None
        self._log_file = ""

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return routes

    @property
    def index(self) -> LogIndex:
        if self._index is None:
            raise ConflictError("the logger module is not running")
        return self._index

    async def start(self, ctx: ModuleContext) -> None:
        """Build the index and the live tail, then add the sink."""
        cfg = ctx.section if isinstance(ctx.section, LoggerConfig) else LoggerConfig()
        self.config, self.heartbeat_seconds = cfg, cfg.heartbeat_seconds
        self._log_file = ctx.config.logging.file
        self._index = LogIndex(cfg.max_records)
        self._tail = LiveTail(asyncio.get_running_loop(), cfg.stream_queue)
        redactor = ctx.services.maybe(SecretRedactor)
        sink = IndexSink(self._index, self._tail, getattr(redactor, "redact", None))
        self._sink_id = logger.add(
            sink,
            level=cfg.level or ctx.config.logging.level,
            format=no_text,
            backtrace=False,
            diagnose=False,
            catch=True,
        )

    async def stop(self) -> None:
        """Remove the sink and end every live stream; safe twice."""
        sink_id, self._sink_id = self._sink_id, None
        if sink_id is not None:
            with contextlib.suppress(ValueError):  # someone reset loguru meanwhile
                logger.remove(sink_id)
        if self._tail is not None:
            self._tail.close_all()

    def health(self) -> Health:
        if self._index is None or self._sink_id is None:
            return Health(status="down", detail="not started")
        checks: dict[str, object] = dict(self._index.stats())
        checks["streams"] = len(self._tail) if self._tail is not None else 0
        checks["log_file"] = self._log_file
        return Health(status="ok", checks=checks)

    # --- views -----------------------------------------------------------------------------

    async def logs(self, query: LogQuery, q: str | None = None) -> LogPage:
        """A page of records, newest first, from memory or (for older history) the files."""
        if query.limit > self.config.max_page:
            raise ValidationError(
                f"limit: at most {self.config.max_page} records per page", field="limit"
            )
        log_filter = build_filter(query, q)
        index = self.index
        if self._source(query, log_filter) == "files":
            page, more = await asyncio.to_thread(
                read_page, self._log_file, log_filter, query.offset, query.limit
            )
            total = None
            next_offset = query.offset + len(page) if more else None
            source = "files"
        else:
            total, page = await asyncio.to_thread(
                index.query, log_filter, query.offset, query.limit
            )
            end = query.offset + len(page)
            next_offset = end if end < total else None
            source = "memory"
        return LogPage(
            source=source,  # type: ignore[arg-type]
            total=total,
            offset=query.offset,
            limit=query.limit,
            count=len(page),
            next_offset=next_offset,
            oldest_ms=index.oldest_ms(),
            records=page,
        )

    def _source(self, query: LogQuery, log_filter: LogFilter) -> str:
        """memory, or files when asked for or when the window starts before the index does."""
        if query.source == "files" and not self._log_file:
            raise ValidationError(
                "source: no log file is configured ([logging] file)", field="source"
            )
        if query.source != "auto" or not self._log_file:
            return query.source if query.source != "auto" else "memory"
        covered = self.index.covered_from_ms()
        wanted = log_filter.since_ms if log_filter.since_ms is not None else log_filter.until_ms
        if wanted is None or covered is None:
            return "memory"
        return "files" if wanted < covered else "memory"

    def open_stream(self, log_filter: LogFilter, backlog: int = 0) -> LogFeed:
        """A live feed of new records passing `log_filter`, after the last `backlog` of them."""
        if self._tail is None or self._index is None:
            raise ConflictError("the logger module is not running")
        if not 0 <= backlog <= MAX_BACKLOG:
            raise ValidationError(f"backlog: between 0 and {MAX_BACKLOG}", field="backlog")
        recent: list[LogEntry] = []
        if backlog:
            _, recent = self._index.query(log_filter, 0, backlog)
        return self._tail.open(log_filter, reversed(recent))
