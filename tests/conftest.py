"""Fixtures shared by every test: an isolated environment, a clean config, real Redis."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import msgspec
import pytest

from viper.clock import TestClock
from viper.config import ENV_PREFIX, LEGACY_ENV, Config, parse_config

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REPO = Path(__file__).resolve().parents[1]


def _shared_data() -> Path:
    """The real market data beside the repository (CI lays `shared/` next to the clone)."""
    candidates = [
        Path(os.environ["VIPER_SHARED_DATA"]) if os.environ.get("VIPER_SHARED_DATA") else None,
        REPO.parent / "shared" / "data",
        Path("/work/shared/data"),
    ]
    return next(
        (p for p in candidates if p is not None and p.is_dir()), REPO.parent / "shared" / "data"
    )


SHARED_DATA = _shared_data()


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees VIPER's variables from the developer's shell."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX) or name in LEGACY_ENV or name == "VIPER_MASTER_KEY":
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


def make_config(tmp_path: Path, **sections: dict[str, object]) -> Config:
    """A config whose files live under `tmp_path`, with `sections` overriding the defaults."""
    data: dict[str, dict[str, object]] = {
        "store": {
            "database": str(tmp_path / "viper.db"),
            "candles_dir": str(tmp_path / "candles"),
        },
        "logging": {"file": "", "console": False},
        "vault": {"key_file": str(tmp_path / "vault.key")},
        # Off for the hundreds of tests about other things; tests of auth switch it on.
        "auth": {"enabled": False},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return parse_config(data, {}, "test")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


def redis_reachable() -> str | None:
    """None when Redis answers on 127.0.0.1:6379, else why not."""
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(16)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if reply.startswith(b"+PONG") else f"unexpected reply {reply!r}"


@pytest.fixture
def redis_url() -> str:
    """A Redis database of the tests' own (14); skipped when Redis is down, failed under CI."""
    problem = redis_reachable()
    if problem is not None:
        message = f"Redis not reachable on {REDIS_HOST}:{REDIS_PORT}: {problem}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/14"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def to_plain(value: object) -> object:
    return msgspec.to_builtins(value)
