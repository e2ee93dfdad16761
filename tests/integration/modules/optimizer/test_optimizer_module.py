"""The optimizer over HTTP: jobs with progress and ETA, real cancel, results, applying parameters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import make_config
from tests.integration.optimizer_data import BTC, ETH, store_real_candles
from viper.app import ViperApp
from viper.events import StrategyParametersApplied

BODY = {
    "symbols": [BTC],
    "timeframe": "1h",
    "start_date": "2022-01-01",
    "end_date": "2024-01-01",
    "strategy": "sma_cross",
    "method": "grid",
    "constraints": {"min_trades": 5},
}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ViperApp]:
    config = make_config(
        tmp_path,
        modules={"enabled": ["data", "optimizer"]},
        backtester={"workers": 2},
        risk={"max_drawdown": 1.0, "daily_loss_limit": 1.0},
    )
    store_real_candles(Path(config.store.candles_dir), (BTC, ETH))
    viper = ViperApp(config)
    async with viper.running():
        yield viper


@pytest.fixture
async def http(app: ViperApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://viper") as client:
        yield client


async def wait_for(
    http: httpx.AsyncClient, job_id: str, done: Any, within: float = 120.0
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        job = (await http.get(f"/optimizer/optimize/{job_id}")).json()
        if done(job):
            return job
        await asyncio.sleep(0.05)
    pytest.fail(f"optimization {job_id} never got there")


def finished(job: dict[str, Any]) -> bool:
    return job["state"] not in ("queued", "running")


async def test_grid_job_runs_reports_progress_and_stores_its_result(
    http: httpx.AsyncClient,
) -> None:
    accepted = await http.post(
        "/optimizer/optimize", json={**BODY, "symbols": [BTC, ETH], "top_n": 5}
    )
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    assert job["state"] in ("queued", "running") and job["method"] == "grid"
    done = await wait_for(http, job["id"], finished)
    assert done["state"] == "done", done
    assert done["progress"] == 1.0 and done["eta_seconds"] == 0.0 and done["worker_pids"] == []
    result = done["result"]
    assert result["trials"] == 90 and len(result["top"]) == 5
    assert result["best_params"] == result["top"][0]["params"]
    assert set(result["importance"]) == {"fast", "slow"}
    stored = (await http.get(f"/optimizer/results/{job['id']}")).json()
    assert stored["best_value"] == result["best_value"]
    listed = (await http.get("/optimizer/optimize")).json()["jobs"]
    assert [j["id"] for j in listed] == [job["id"]]


async def test_parameters_show_spaces_and_best_and_apply_is_audited(
    app: ViperApp, http: httpx.AsyncClient
) -> None:
    events: list[StrategyParametersApplied] = []

    async def record(event: StrategyParametersApplied) -> None:
        events.append(event)

    app.bus.subscribe(StrategyParametersApplied, record, name="test.applied")
    job = (await http.post("/optimizer/optimize", json=BODY)).json()
    done = await wait_for(http, job["id"], finished)
    best = done["result"]["best_params"]
    shown = (await http.get("/optimizer/parameters")).json()
    assert shown["spaces"]["sma_cross"]["params"]["fast"] == {
        "type": "int",
        "low": 5,
        "high": 50,
        "step": 5,
        "log": False,
    }
    assert set(shown["spaces"]["viper"]["params"]) == {
        "threshold",
        "lookback",
        "sl_atr",
        "tp_atr",
        "exit_threshold",
    }
    assert [(b["strategy"], b["symbol"], b["params"]) for b in shown["best"]] == [
        ("sma_cross", BTC, best)
    ]
    applied = await http.post(
        "/optimizer/parameters/apply", json={"job_id": job["id"]}, headers={"X-Actor": "alice"}
    )
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert body["params"]["fast"] == best["fast"] and body["params"]["slow"] == best["slow"]
    assert body["actor"] == "alice" and body["source_job"] == job["id"] and body["symbol"] == "*"
    for _ in range(100):
        if events:
            break
        await asyncio.sleep(0.01)
    assert [(e.strategy, e.actor, e.source_job) for e in events] == [
        ("sma_cross", "alice", job["id"])
    ]
    assert events[0].params == body["params"]
    now = (await http.get("/optimizer/parameters")).json()["applied"]
    assert [(a["strategy"], a["params"]) for a in now] == [("sma_cross", body["params"])]


async def test_cancel_ends_the_worker_processes(http: httpx.AsyncClient) -> None:
    body = {
        **BODY,
        "strategy": "viper",
        "method": "optuna",
        "trials": 5000,
        "start_date": "2020-01-01",
    }
    job = (await http.post("/optimizer/optimize", json=body)).json()
    running = await wait_for(http, job["id"], lambda j: len(j["worker_pids"]) == 2, within=60)
    pids = running["worker_pids"]
    assert all(psutil.pid_exists(p) for p in pids)
    cancelled = await http.delete(f"/optimizer/optimize/{job['id']}")
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled" and cancelled.json()["worker_pids"] == []
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert (await http.get(f"/optimizer/results/{job['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"space": {"fast": {"type": "int", "low": 50, "high": 5}}}, "space.fast"),
        ({"space": {"fast": {"type": "int", "low": 5, "high": 50, "step": 0}}}, "space.fast"),
        ({"space": {"speed": {"type": "int", "low": 1, "high": 5}}}, "space.speed"),
        ({"objective": "alpha"}, "objective"),
        ({"method": "annealing"}, "method"),
        ({"symbols": ["DOGE/USDT:USDT"]}, "symbols"),
        ({"end_date": "2021-01-01"}, "end_date"),
        ({"method": "optuna", "trials": 500}, "trials"),
        ({"study": "x"}, "study"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    http: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    answer = await http.post("/optimizer/optimize", json={**BODY, **change})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert (await http.get("/optimizer/optimize")).json()["jobs"] == []


async def test_applying_bad_parameters_is_a_422(http: httpx.AsyncClient) -> None:
    answer = await http.post(
        "/optimizer/parameters/apply",
        json={"strategy": "sma_cross", "parameters": {"fast": 80, "slow": 20}},
    )
    assert answer.status_code == 422 and answer.json()["field"] == "parameters.fast"
    missing = await http.post("/optimizer/parameters/apply", json={"job_id": "nope"})
    assert missing.status_code == 404
