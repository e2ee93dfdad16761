"""Optuna storages by URL, and the study lock that makes trial hand-out exact across workers.

URLs: `postgresql://...` (and other SQLAlchemy URLs: `mysql://`, `sqlite:///file.db`) open an
RDBStorage; `redis://host:port/db` a JournalStorage on Redis; `journal:///path/file.log` a
JournalStorage on a local file. `postgresql://` is driven by psycopg 3.

The lock serializes one short step per trial across every worker of a study: taking a trial
ticket and choosing its parameters. That makes "no trial runs twice, exactly N trials" hold
under any number of workers, and lets the sampler see every earlier trial's parameters.
PostgreSQL uses an advisory lock, Redis a `SET NX` lock, files (journal, SQLite) `flock`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import optuna
import redis
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalRedisBackend
from sqlalchemy import text

from viper.errors import TemporaryError
from viper.optimizer.urls import check_url, scheme_of


def sqlalchemy_url(url: str) -> str:
    """`postgresql://` for the psycopg 3 driver this project ships (psycopg2 is not needed)."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg" + url[len(parts.scheme) :]
    return url


def open_storage(url: str, attempts: int = 5) -> BaseStorage:
    """The optuna storage at `url`; TemporaryError when the server does not answer.

    Workers starting together on a fresh database race to create its schema; the loser's
    IntegrityError is retried, by then the tables exist.
    """
    for attempt in range(attempts):
        try:
            return _open(url)
        except TemporaryError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _open(url: str) -> BaseStorage:
    check_url(url)
    scheme = scheme_of(url)
    try:
        if scheme in ("redis", "rediss"):
            with warnings.catch_warnings():  # experimental since optuna 3.1, stable in use
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return JournalStorage(JournalRedisBackend(url))
        if scheme == "journal":
            return JournalStorage(JournalFileBackend(_journal_path(url)))
        return RDBStorage(sqlalchemy_url(url), engine_kwargs={"pool_pre_ping": True})
    except (optuna.exceptions.StorageInternalError, OSError, ConnectionError) as exc:
        raise TemporaryError(f"storage: cannot open the optuna storage: {exc}") from exc
    except Exception as exc:  # sqlalchemy / redis errors: reported without the URL
        raise TemporaryError(
            f"storage: cannot open the optuna storage: {type(exc).__name__}"
        ) from exc


def _journal_path(url: str) -> str:
    path = urlsplit(url).path
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


def _key(study: str) -> int:
    return int.from_bytes(hashlib.sha256(study.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
    with open(path + ".viper-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class StudyLock:
    """A lock shared by every worker of one study on one storage (a context manager)."""

    def __init__(self, url: str, study: str, storage: BaseStorage | None = None) -> None:
        self._url, self._study, self._storage = url, study, storage
        self._local = threading.Lock()
        self._redis: Any = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the block."""
        scheme = scheme_of(self._url)
        with self._local:
            if scheme in ("postgresql", "postgres") and isinstance(self._storage, RDBStorage):
                with self._advisory():
                    yield
            elif scheme in ("redis", "rediss"):
                with self._redis_lock():
                    yield
            elif scheme in ("journal", "sqlite") and urlsplit(self._url).path:
                with _file_lock(urlsplit(self._url).path):
                    yield
            else:
                yield

    @contextlib.contextmanager
    def _advisory(self) -> Iterator[None]:
        assert isinstance(self._storage, RDBStorage)
        with self._storage.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _key(self._study)})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(self._study)})
                conn.commit()

    @contextlib.contextmanager
    def _redis_lock(self) -> Iterator[None]:
        if self._redis is None:
            self._redis = redis.Redis.from_url(self._url)
        lock = self._redis.lock(f"viper:optuna:{self._study}:lock", timeout=300)
        lock.acquire(blocking=True)
        try:
            yield
        finally:
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()
