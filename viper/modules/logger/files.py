"""History beyond the memory index: the JSON-lines files `viper.logs` writes and rotates.

Files are read newest first, each from its end, and reading stops once the page is full (or
the records are older than `since`), so a recent page is cheap whatever the files hold.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import msgspec

from viper.modules.logger.entries import LEVELS, LogEntry, LogFilter, iso_ms

CHUNK = 1 << 20
# Records from several threads reach the file slightly out of order: read this far past `since`.
ORDER_SLACK_MS = 5_000


class FileRecord(msgspec.Struct, kw_only=True):
    """The fields of a JSON log line the logger serves (others are ignored)."""

    ts_ms: int
    level: str
    module: str = "core"
    request_id: str = ""
    message: str = ""
    exception: str | None = None


_decoder = msgspec.json.Decoder(FileRecord)


def log_files(path: str | Path) -> list[Path]:
    """The current log file and its rotated siblings (`name.<time>.ext`), newest first."""
    current = Path(path)
    folder = current.parent
    if not folder.is_dir():
        return []
    rotated = [
        p for p in folder.glob(f"{current.stem}.*{current.suffix}") if p != current and p.is_file()
    ]
    found = [current] if current.is_file() else []
    found.extend(sorted(rotated, key=lambda p: p.stat().st_mtime, reverse=True))
    return found


def reverse_lines(path: Path, chunk: int = CHUNK) -> Iterator[bytes]:
    """The lines of a file, last first, read in chunks from the end."""
    with path.open("rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        rest = b""
        while position > 0:
            step = min(chunk, position)
            position -= step
            handle.seek(position)
            block = handle.read(step) + rest
            lines = block.split(b"\n")
            rest = lines[0]
            for line in reversed(lines[1:]):
                if line.strip():
                    yield line
        if rest.strip():
            yield rest


def _entries(path: Path) -> Iterator[tuple[int, LogEntry]]:
    for line in reverse_lines(path):
        try:
            rec = _decoder.decode(line)
        except msgspec.DecodeError:  # a line being written, or not ours
            continue
        entry = LogEntry(
            id=None,
            ts=iso_ms(rec.ts_ms),
            ts_ms=rec.ts_ms,
            level=rec.level,
            module=rec.module,
            request_id=rec.request_id,
            message=rec.message,
            exception=rec.exception,
        )
        yield LEVELS.get(rec.level, 0), entry


def read_page(
    path: str | Path, log_filter: LogFilter, offset: int, limit: int
) -> tuple[list[LogEntry], bool]:
    """Matches `offset : offset + limit` from the files, newest first, and whether more follow."""
    page: list[LogEntry] = []
    skip = offset
    since = log_filter.since_ms
    for file in log_files(path):
        for level_no, entry in _entries(file):
            if since is not None and entry.ts_ms < since - ORDER_SLACK_MS:
                return page, False
            if not log_filter.matches(level_no, entry):
                continue
            if skip:
                skip -= 1
            elif len(page) < limit:
                page.append(entry)
            else:
                return page, True
    return page, False
