"""History from the JSON-lines files: newest first across rotated files, read from the end."""

from __future__ import annotations

import json
import os
from pathlib import Path

from viper.modules.logger.entries import LogFilter
from viper.modules.logger.files import log_files, read_page, reverse_lines

T0 = 1_700_000_000_000


def write(path: Path, start: int, n: int, mtime: float) -> None:
    lines = [
        json.dumps(
            {
                "ts": "x",
                "ts_ms": T0 + i,
                "level": "WARNING" if i % 2 else "INFO",
                "module": "risk",
                "request_id": "",
                "message": f"line {i}",
                "logger": "l",
                "function": "f",
                "line": 1,
            }
        )
        for i in range(start, start + n)
    ]
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (mtime, mtime))


def test_reverse_lines_crosses_chunk_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"".join(b"line %d\n" % i for i in range(1000)))
    assert list(reverse_lines(path, chunk=7)) == [b"line %d" % i for i in range(999, -1, -1)]


def test_pages_run_newest_first_through_rotated_files(tmp_path: Path) -> None:
    current = tmp_path / "viper.jsonl"
    write(tmp_path / "viper.2026-01-01_00-00-00_000000.jsonl", 0, 50, 1_000)
    write(tmp_path / "viper.2026-01-02_00-00-00_000000.jsonl", 50, 50, 2_000)
    write(current, 100, 50, 3_000)
    (tmp_path / "other.jsonl").write_text("{}\n")
    assert [p.name for p in log_files(current)][:1] == ["viper.jsonl"]
    assert len(log_files(current)) == 3
    page, more = read_page(current, LogFilter(), 45, 10)
    assert [e.message for e in page] == [f"line {i}" for i in range(104, 94, -1)]
    assert more and page[0].id is None
    warnings, _ = read_page(current, LogFilter(min_level=30, words=("line", "7")), 0, 5)
    assert [e.message for e in warnings] == ["line 7"]
    recent, more = read_page(current, LogFilter(since_ms=T0 + 140), 0, 100)
    assert [e.message for e in recent] == [f"line {i}" for i in range(149, 139, -1)]
    assert not more


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    current = tmp_path / "viper.jsonl"
    write(current, 0, 3, 1_000)
    with current.open("a") as handle:
        handle.write('{"ts_ms": 17')
    page, _ = read_page(current, LogFilter(), 0, 10)
    assert [e.message for e in page] == ["line 2", "line 1", "line 0"]


def test_no_files_is_an_empty_page(tmp_path: Path) -> None:
    assert read_page(tmp_path / "none" / "viper.jsonl", LogFilter(), 0, 10) == ([], False)
