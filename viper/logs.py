"""Logging with loguru: readable lines on the console, JSON lines in a rotating file.

Every record carries the module it came from and the request it served. A redactor removes
every known secret (and `key=value` pairs that look like credentials) before any sink sees
the record; tracebacks never show variable values.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from loguru import logger

from viper.http import request_id_var

if TYPE_CHECKING:
    from loguru import Record

    from viper.config import LoggingConfig

MASK = "***"
_CREDENTIAL = re.compile(
    r"(?i)\b(api[_-]?key|api[_-]?secret|secret|password|passphrase|token|authorization)"
    r"(\s*[=:]\s*)(\"?)(?:Bearer\s+)?[^\s\"',;&]+"
)
CONSOLE_FORMAT = (
    "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <8}</level> "
    "<cyan>{extra[module]: <10}</cyan> {message}"
)
_json_encoder = msgspec.json.Encoder()


class Redactor:
    """Knows the secrets to hide; the vault adds to it when a secret is set."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Hide these values from now on (values under 4 characters are too common to hide)."""
        with self._lock:
            known = set(self._secrets) | {s for s in secrets if s and len(s) >= 4}
            self._secrets = tuple(sorted(known, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """`text` with every secret and credential-looking value masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{MASK}", text)


def _json_line(record: Record, redactor: Redactor) -> str:
    extra = {k: v for k, v in record["extra"].items() if not k.startswith("_")}
    entry: dict[str, Any] = {
        "ts": record["time"].isoformat(),
        "ts_ms": int(record["time"].timestamp() * 1000),
        "level": record["level"].name,
        "module": extra.pop("module", "core"),
        "request_id": extra.pop("request_id", ""),
        "message": record["message"],
        "logger": record["name"],
        "function": record["function"],
        "line": record["line"],
    }
    if extra:
        entry["extra"] = {k: redactor.redact(str(v)) for k, v in extra.items()}
    exc = record["exception"]
    if exc is not None and exc.type is not None:
        text = "".join(traceback.format_exception(exc.type, exc.value, exc.traceback))
        entry["exception"] = redactor.redact(text)
    return _json_encoder.encode(entry).decode()


def _file_format(record: Record) -> str:
    # A callable format: loguru appends no traceback, which already sits inside the JSON.
    return "{extra[_json]}\n"


def make_patcher(redactor: Redactor) -> Any:
    """A loguru patcher: default fields, the request id, and the redacted message."""

    def patch(record: Record) -> None:
        extra = record["extra"]
        extra.setdefault("module", "core")
        if "request_id" not in extra:
            rid = request_id_var.get()
            if rid:
                extra["request_id"] = rid
        record["message"] = redactor.redact(record["message"])
        extra["_json"] = _json_line(record, redactor)

    return patch


class InterceptHandler(logging.Handler):
    """Sends the standard library's records (uvicorn, asyncio) through loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        module = record.name.split(".")[0]
        logger.bind(module=module).opt(depth=6, exception=record.exc_info).log(
            level, record.getMessage()
        )


def setup_logging(
    config: LoggingConfig, redactor: Redactor, *, debug: bool = False, console: bool | None = None
) -> None:
    """Configure loguru's sinks for this process (called once, by the CLI)."""
    logger.remove()
    logger.configure(patcher=make_patcher(redactor), extra={"module": "core"})
    level = "DEBUG" if debug and config.level == "INFO" else config.level
    if config.console if console is None else console:
        logger.add(
            sys.stderr,
            level=level,
            format=CONSOLE_FORMAT,
            backtrace=debug,
            diagnose=False,
            colorize=None,
        )
    if config.file:
        Path(config.file).parent.mkdir(parents=True, exist_ok=True)
        logger.add(
            config.file,
            level=level,
            format=_file_format,
            rotation=config.rotation,
            retention=config.retention,
            enqueue=True,
            backtrace=False,
            diagnose=False,
            encoding="utf-8",
        )
    logging.basicConfig(handlers=[InterceptHandler()], level=logging.INFO, force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "asyncio"):
        std = logging.getLogger(name)
        std.handlers = [InterceptHandler()]
        std.propagate = False
    logging.getLogger("uvicorn.access").disabled = True
