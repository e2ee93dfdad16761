"""Distributed studies: two `viper optimize --worker` processes share one study's N trials.

Against the PostgreSQL server on 127.0.0.1:5432 (a database of the test's own, dropped after)
and against Redis on 127.0.0.1:6379 (journal storage, db 12, flushed after). Each is skipped
with the reason when its server is unreachable, and fails instead under CI=true.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest

from tests.conftest import REPO, SHARED_DATA
from viper.marketdata.importers import load_file
from viper.store.candles import CandleStore

PG_HOST, PG_PORT, PG_DB = "127.0.0.1", 5432, "viper_optuna_test"
REDIS_URL = "redis://127.0.0.1:6379/12"
BTC = "BTC/USDT:USDT"
TRIALS = 40
FILE = (
    SHARED_DATA / "ohlcv/Roshan7869__algotrading/binance/futures/BTC_USDT_USDT-1h-futures.feather"
)


def unreachable(host: str, port: int) -> str | None:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError as exc:
        return f"{host}:{port} unreachable: {exc}"
    return None


def need(problem: str | None) -> None:
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(problem)
    pytest.skip(problem)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    need(unreachable(PG_HOST, PG_PORT))
    import psycopg

    admin = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")
    try:
        yield f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{PG_DB}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


@pytest.fixture
def redis_journal_url() -> Iterator[str]:
    need(unreachable("127.0.0.1", 6379))
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    if not FILE.is_file():
        pytest.skip(f"real candles not found at {FILE}")
    CandleStore(tmp_path / "candles").write("bitget", BTC, "1h", load_file(FILE).frame)
    (tmp_path / "config.toml").write_text(
        f'[store]\ndatabase = "{tmp_path / "viper.db"}"\ncandles_dir = "{tmp_path / "candles"}"\n'
        '[logging]\nfile = ""\nconsole = false\n'
    )
    return tmp_path


def start_worker(workdir: Path, storage: str, study: str) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        "-m",
        "viper",
        "optimize",
        "--config",
        str(workdir / "config.toml"),
        "--strategy",
        "viper",
        "--method",
        "optuna",
        "--symbols",
        BTC,
        "--timeframe",
        "1h",
        "--start",
        "2020-01-01",
        "--end",
        "2024-01-01",
        "--trials",
        str(TRIALS),
        "--min-trades",
        "1",
        "--study",
        study,
        "--storage",
        storage,
        "--worker",
        "--json",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        args, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run_two_workers(workdir: Path, storage: str, study: str) -> list[dict[str, Any]]:
    workers = [start_worker(workdir, storage, study) for _ in range(2)]
    outputs = []
    for w in workers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        outputs.append(json.loads(out))
    return outputs


def check_study(
    storage: optuna.storages.BaseStorage, study: str, outputs: list[dict[str, Any]]
) -> None:
    trials = optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)
    assert len(trials) == TRIALS
    assert sorted(t.number for t in trials) == list(range(TRIALS))
    finished = {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}
    assert all(t.state in finished for t in trials), [t.state for t in trials]
    params = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(params)) == TRIALS, "two trials ran the same parameters"
    assert sum(o["ran_here"] for o in outputs) == TRIALS
    assert all(o["ran_here"] > 0 for o in outputs), [o["ran_here"] for o in outputs]
    assert len({t.user_attrs["worker"] for t in trials}) == 2
    values = [t.value for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = max(values)
    for out in outputs:
        assert out["trials"] == TRIALS
        assert out["best_value"] == best
        assert out["top"][0]["value"] == best
        assert out["top"][0]["params"] == next(t.params for t in trials if t.value == best)


@pytest.mark.slow
def test_two_workers_share_one_postgresql_study(workdir: Path, postgres_url: str) -> None:
    outputs = run_two_workers(workdir, postgres_url, "viper-pg")
    from viper.optimizer.storage import open_storage

    check_study(open_storage(postgres_url), "viper-pg", outputs)


@pytest.mark.slow
def test_two_workers_share_one_redis_journal_study(workdir: Path, redis_journal_url: str) -> None:
    outputs = run_two_workers(workdir, redis_journal_url, "viper-redis")
    from viper.optimizer.storage import open_storage

    check_study(open_storage(redis_journal_url), "viper-redis", outputs)
