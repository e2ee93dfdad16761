"""The Redis Streams bus: `InMemoryBus` locally, plus one shared stream between processes.

Each event is delivered to local subscribers at once and appended (msgpack, one entry per
event) to the stream by a writer task, a batch per call (a server-side script; a pipeline of
XADDs where scripts are not allowed); a reader task hands other processes' events to local
subscribers. Delivery across
processes is at-least-once: a batch cut off by a lost connection is sent or read again.
"""

from __future__ import annotations

import asyncio
import collections
import os
import secrets
import socket
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import msgspec
from loguru import logger
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoPermissionError, RedisError, ResponseError

from viper.bus import BusCollector, InMemoryBus
from viper.errors import ConfigError, ConflictError
from viper.events import EVENT_TYPES, BaseEvent, Event

BATCH = 1000  # entries per XADD pipeline and per XREADGROUP
BLOCK_MS = 200  # how long one XREADGROUP waits, which bounds how fast the reader notices stop()
BUFFER_CAP = 100_000  # events kept for Redis while it is unreachable; older ones are dropped
BACKOFF_BASE = 0.1
BACKOFF_CAP = 5.0
CONNECT_TIMEOUT = 5.0
NETWORK_ERRORS = (RedisError, OSError, TimeoutError)
WIRE_TYPES = frozenset(EVENT_TYPES)  # anything else stays local: no other process could decode it

# Appends every event of a batch to the stream in one call (one round trip, one reply, where a
# pipeline of XADDs costs a reply to parse per event); an entry Redis refuses is counted and
# skipped, as a pipeline would. KEYS: the stream; ARGV: maxlen, origin, then each event.
XADD_MANY = """
local refused = 0
for i = 3, #ARGV do
  local added = redis.pcall(
    'XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'o', ARGV[2], 'e', ARGV[i])
  if type(added) == 'table' and added.err then refused = refused + 1 end
end
return refused
"""

Entry = tuple[bytes, dict[bytes, bytes]]  # (entry id, fields); fields are empty once trimmed


def _backoff(failures: int) -> float:
    """Capped doubling: 0.1 s, 0.2 s, ... 5 s."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(failures - 1, 16))


def _scrub(text: str, url: str) -> str:
    """`text` with the URL's credentials replaced, so messages never carry a password."""
    parts = urlsplit(url)
    secret = parts.password or parts.username  # "redis://secret@host" puts it in the user part
    return text.replace(secret, "***") if secret else text


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _scripts_refused(exc: ResponseError) -> bool:
    """Redis will not run scripts here (disabled, or not allowed for this user)."""
    return isinstance(exc, NoPermissionError) or "unknown command" in str(exc).lower()


def _report_crash(task: asyncio.Task[None]) -> None:
    """Log a loop that died of a bug at once, not only when stop() collects it."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.opt(exception=exc).error("{} died: events no longer cross", task.get_name())


def _safe_url(url: str) -> str:
    """The URL without its user and password."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}***@{rest.rpartition('@')[2]}" if "@" in rest else url


class RedisBus(InMemoryBus):
    """The bus shared through a Redis stream; same interface as `InMemoryBus`.

    With `group=""` the process has its own consumer group (every process gets every event) that
    is destroyed at stop. Processes that share a named `group` split its events between them;
    give such a process a stable `node_id` so a restart re-reads what it had not acknowledged.
    """

    def __init__(
        self,
        url: str,
        *,
        stream: str = "viper:events",
        group: str = "",
        maxlen: int = 100_000,
        queue_size: int = 10_000,
        drain_timeout: float = 5.0,
        node_id: str | None = None,
        redis_client: Redis | None = None,
    ) -> None:
        super().__init__(queue_size=queue_size, drain_timeout=drain_timeout)
        self._url = url  # private: it may carry the password
        self.stream = stream
        self.maxlen = maxlen
        self.node_id = node_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.group = group or self.node_id
        self.anonymous = not group
        # counters for stats() and RedisBusCollector; `dropped`: lost to a full send buffer
        self.sent = 0
        self.received = 0
        self.decode_errors = 0
        self.send_errors = 0
        self.receive_errors = 0
        self.dropped = 0
        self._origin = self.node_id.encode()
        # XADD stream MAXLEN ~ maxlen * o <node_id> e <event>, encoded once: packing the
        # arguments anew for every event costs the writer about 15% of its time
        xadd = ("XADD", stream.encode(), b"MAXLEN", b"~", b"%d" % maxlen, b"*")
        self._xadd = (*xadd, b"o", self._origin, b"e")
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder: msgspec.msgpack.Decoder[Event] = msgspec.msgpack.Decoder(Event)
        self._buffer: collections.deque[BaseEvent] = collections.deque()
        self._wake = asyncio.Event()
        self._owns_client = redis_client is None
        self._client = redis_client if redis_client is not None else self._connect(url)
        self._append_many: AsyncScript | None = self._client.register_script(XADD_MANY)
        self._writer: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._reading = False
        self._flushing = False
        self._group_ready = False
        self._closed = False

    @staticmethod
    def _connect(url: str) -> Redis:
        try:
            return Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT)
        except ValueError as exc:
            raise ConfigError(f"redis.url is not a Redis URL: {_scrub(str(exc), url)}") from exc

    @property
    def buffered(self) -> int:
        """Events waiting to be written to the stream."""
        return len(self._buffer)

    # --- publishing ----------------------------------------------------------------------

    async def publish(self, event: BaseEvent) -> None:
        if self._stopped:
            return
        await super().publish(event)
        self._enqueue(event)

    def publish_nowait(self, event: BaseEvent) -> None:
        if self._stopped:
            return
        super().publish_nowait(event)
        self._enqueue(event)

    def _enqueue(self, event: BaseEvent) -> None:
        if type(event) not in WIRE_TYPES:
            return
        if len(self._buffer) >= BUFFER_CAP:
            self._buffer.popleft()
            self.dropped += 1
        self._buffer.append(event)
        self._wake.set()

    async def _write_loop(self) -> None:
        """Send the buffer in batches until stop() asks for a final flush and it is empty."""
        buffer = self._buffer
        failures = 0
        while True:
            if not buffer:
                if self._flushing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [buffer.popleft() for _ in range(min(len(buffer), BATCH))]
            try:
                await self._send(batch)
            except asyncio.CancelledError:
                buffer.extendleft(reversed(batch))  # so stop() counts them as not sent
                raise
            except NETWORK_ERRORS as exc:
                buffer.extendleft(reversed(batch))
                self.send_errors += 1
                failures += 1
                delay = _backoff(failures)
                logger.warning(
                    "redis bus: send failed ({}), retry in {:.1f}s", _describe(exc), delay
                )
                await asyncio.sleep(delay)
                continue
            if failures:
                logger.info("redis bus: sending again after {} failures", failures)
                failures = 0

    async def _send(self, batch: Sequence[BaseEvent]) -> None:
        """Append `batch` to the stream in one call; an event Redis refuses is counted and
        dropped. Where scripts are not allowed, one pipeline of XADDs does it instead."""
        encode = self._encoder.encode
        payloads = [encode(event) for event in batch]
        script = self._append_many
        if script is not None:
            try:
                refused = int(
                    await script(keys=[self.stream], args=[self.maxlen, self._origin, *payloads])
                )
            except ResponseError as exc:
                if not _scripts_refused(exc):
                    self._refused(len(batch), len(batch), exc)
                    return
                logger.warning("redis bus: scripts not allowed ({}); XADD one by one", exc)
                self._append_many = None
            else:
                self._refused(len(batch), refused, None)
                return
        pipe = self._client.pipeline(transaction=False)
        xadd = self._xadd
        for payload in payloads:
            pipe.execute_command(*xadd, payload)
        results = await pipe.execute(raise_on_error=False)
        errors = [r for r in results if isinstance(r, Exception)]
        self._refused(len(batch), len(errors), errors[0] if errors else None)

    def _refused(self, sent: int, refused: int, example: BaseException | None) -> None:
        """Count a batch: `refused` of its `sent` events were refused by Redis (and dropped)."""
        self.sent += sent - refused
        if refused:
            self.send_errors += refused
            detail = _describe(example) if example is not None else "see the Redis log"
            logger.error("redis bus: Redis refused {} events: {}", refused, detail)

    # --- reading -------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        """Read, deliver and acknowledge until stop(); first our own pending entries if named."""
        cursor: bytes | str = ">" if self.anonymous else "0"
        failures = 0
        while self._reading:
            try:
                entries = await self._read(cursor)
                if cursor != ">":
                    cursor = entries[-1][0] if entries else ">"
                if entries:
                    await self._consume(entries)
            except NETWORK_ERRORS as exc:
                failures = await self._reader_failed(exc, failures)
            else:
                if failures:
                    logger.info("redis bus: reading again after {} failures", failures)
                    failures = 0

    async def _reader_failed(self, exc: Exception, failures: int) -> int:
        """Count and log a failed round, back off, and re-create the group if it vanished."""
        self.receive_errors += 1
        failures += 1
        delay = _backoff(failures)
        logger.warning("redis bus: read failed ({}), retry in {:.1f}s", _describe(exc), delay)
        await asyncio.sleep(delay)
        if isinstance(exc, ResponseError) and str(exc).startswith(("NOGROUP", "UNBLOCKED")):
            # the stream or group is gone (a Redis restart without persistence, a DEL)
            try:
                await self._create_group()
            except NETWORK_ERRORS as again:
                logger.warning(
                    "redis bus: could not create group {}: {}", self.group, _describe(again)
                )
        return failures

    async def _read(self, cursor: bytes | str) -> list[Entry]:
        # A process's own group is never re-read (it reads only new entries, and is destroyed
        # at stop), so its entries need no acknowledgement: NOACK spares an XACK per batch.
        reply: Any = await self._client.xreadgroup(
            self.group,
            self.node_id,
            {self.stream: cursor},
            count=BATCH,
            block=BLOCK_MS,
            noack=self.anonymous,
        )
        if not reply:
            return []
        if isinstance(reply, dict):  # RESP3 client
            return list(next(iter(reply.values()))[0])
        return list(reply[0][1])

    async def _consume(self, entries: list[Entry]) -> None:
        """Deliver other processes' events, count what cannot be read, then XACK the batch
        (a named group's: entries read by the process's own group are never pending)."""
        origin = self._origin
        decode = self._decoder.decode
        for entry_id, fields in entries:
            if not fields or fields.get(b"o") == origin:
                continue  # trimmed away while pending, or ours: delivered locally at publish
            try:
                event = decode(fields[b"e"])
            except (msgspec.DecodeError, KeyError) as exc:
                self.decode_errors += 1
                logger.error(
                    "redis bus: undecodable entry {!r} skipped: {}", entry_id, _describe(exc)
                )
                continue
            self.received += 1
            for sub in self._targets(type(event)):
                if not sub.offer(event):
                    await sub.put(event)
        if not self.anonymous:
            await self._client.xack(self.stream, self.group, *[entry_id for entry_id, _ in entries])

    # --- lifecycle -----------------------------------------------------------------------

    async def _create_group(self) -> None:
        try:
            await self._client.xgroup_create(self.stream, self.group, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def _ping(self) -> None:
        url = self._url
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await self._client.ping()
        except NETWORK_ERRORS as exc:
            detail = _scrub(_describe(exc), url)
            raise ConfigError(
                f"redis.url: cannot reach Redis at {_safe_url(url)} ({detail})", field="redis.url"
            ) from exc

    async def start(self) -> None:
        """Check Redis, make sure the group exists, start the writer and reader, then deliver."""
        if self._running:
            return
        if self._closed:
            raise ConflictError("the bus is stopped")
        await self._ping()
        try:
            await self._create_group()
        except NETWORK_ERRORS as exc:
            raise ConfigError(
                f"bus.stream: cannot use stream {self.stream!r} with group {self.group!r}: "
                f"{_scrub(str(exc), self._url)}",
                field="bus.stream",
            ) from exc
        self._reading = True
        self._writer = self._spawn(self._write_loop(), "writer")
        self._reader = self._spawn(self._read_loop(), "reader")
        await super().start()

    def _spawn(self, loop: Coroutine[Any, Any, None], role: str) -> asyncio.Task[None]:
        task = asyncio.create_task(loop, name=f"redis-bus:{role}:{self.stream}")
        task.add_done_callback(_report_crash)
        return task

    async def stop(self) -> None:
        """Flush the buffer, stop reading, drain local queues, drop an own group, disconnect."""
        if self._closed:
            return
        self._closed = True
        self._flushing = True
        self._wake.set()
        await self._finish(self._writer, "writer")
        if self._buffer:
            logger.warning("redis bus stopped with {} events not sent", len(self._buffer))
        self._reading = False
        await self._finish(self._reader, "reader")
        await super().stop()
        await self._disconnect()

    async def _finish(self, task: asyncio.Task[None] | None, what: str) -> None:
        """Let `task` end by itself within drain_timeout, else cancel it."""
        if task is None:
            return
        done, _ = await asyncio.wait([task], timeout=self.drain_timeout)
        if not done:
            logger.warning(
                "redis bus: {} did not finish in {}s, cancelling", what, self.drain_timeout
            )
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _disconnect(self) -> None:
        try:
            await self._leave_group()
        except NETWORK_ERRORS as exc:
            logger.warning("redis bus: could not leave group {}: {}", self.group, _describe(exc))
        if self._owns_client:
            try:
                await self._client.aclose()
            except NETWORK_ERRORS as exc:
                logger.warning("redis bus: closing the connection failed: {}", _describe(exc))

    async def _leave_group(self) -> None:
        """Destroy an own group; in a named one, forget this consumer if it owes nothing."""
        client, stream, group = self._client, self.stream, self.group
        if not self._group_ready:
            return
        if self.anonymous:
            await client.xgroup_destroy(stream, group)
        elif not await client.xpending_range(stream, group, "-", "+", 1, self.node_id):
            # consumers of processes that come and go would otherwise pile up in the group
            await client.xgroup_delconsumer(stream, group, self.node_id)

    def stats(self) -> dict[str, object]:
        """The parent's counters plus the stream's."""
        stats = super().stats()
        stats["redis"] = {
            "stream": self.stream,
            "group": self.group,
            "node_id": self.node_id,
            "sent": self.sent,
            "received": self.received,
            "decode_errors": self.decode_errors,
            "send_errors": self.send_errors,
            "receive_errors": self.receive_errors,
            "buffered": self.buffered,
            "dropped": self.dropped,
        }
        return stats


class RedisBusCollector(BusCollector):
    """`BusCollector` plus the Redis counters, read at scrape time."""

    def __init__(self, bus: RedisBus) -> None:
        super().__init__(bus)
        self._redis_bus = bus

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        yield from super().collect()
        bus = self._redis_bus
        sent = CounterMetricFamily("viper_bus_redis_sent", "Events written to the Redis stream")
        sent.add_metric([], bus.sent)
        received = CounterMetricFamily(
            "viper_bus_redis_received", "Events of other processes read from the Redis stream"
        )
        received.add_metric([], bus.received)
        errors = CounterMetricFamily(
            "viper_bus_redis_errors", "Redis bus failures by kind", labels=["kind"]
        )
        errors.add_metric(["send"], bus.send_errors)
        errors.add_metric(["receive"], bus.receive_errors)
        errors.add_metric(["decode"], bus.decode_errors)
        errors.add_metric(["dropped"], bus.dropped)
        buffered = GaugeMetricFamily("viper_bus_redis_buffered", "Events waiting to be sent")
        buffered.add_metric([], bus.buffered)
        yield from (sent, received, errors, buffered)
