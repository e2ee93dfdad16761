"""Backtests over HTTP: started by both APIs, run in their own processes, stored, reported,
cancelled for real, run side by side, and never in the way of the event loop."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import make_config
from tests.integration.modules.backtester.conftest import (
    BTC,
    ETH,
    LONG_BARS,
    MODULES,
    SOL,
    client_for,
    request_body,
    seed,
    wait_job,
    wait_state,
)
from viper.app import ViperApp

LONG = {"symbols": [SOL], "start_date": "2024-01-01", "end_date": "2027-01-01"}


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_original_api_starts_a_backtest_that_is_stored(http: httpx.AsyncClient) -> None:
    started = await http.post("/api/backtest/start", json=request_body())
    assert started.status_code == 200
    answer = started.json()
    assert answer["status"] == "started"
    assert answer["estimated_duration"] > 0
    assert answer["backtest_id"] in answer["message"]
    job = await wait_job(http, answer["backtest_id"])
    assert job["state"] == "done", job
    assert job["progress"] == 1.0 and job["eta_seconds"] == 0.0
    assert job["result_id"] == answer["backtest_id"]
    assert job["started_ms"] <= job["finished_ms"]
    listed = (await http.get("/backtester/results")).json()
    assert listed["total"] == 1
    summary = listed["results"][0]
    assert summary["id"] == answer["backtest_id"]
    assert summary["source"] == "api"
    assert summary["params"]["threshold"] == 75
    assert summary["settings"]["risk"]["risk_per_trade"] == 0.01
    assert summary["symbols"] == [BTC, ETH]
    assert len(summary["config_id"]) == 16
    full = (await http.get(f"/backtester/results/{answer['backtest_id']}")).json()
    assert full["final_capital"] == summary["final_capital"]
    assert len(full["trades"]) == full["total_trades"] == summary["total_trades"] > 0
    assert len(full["equity_curve"]["equity"]) > 100


async def test_backtester_endpoint_answers_202_with_the_job(http: httpx.AsyncClient) -> None:
    body = request_body(strategy="sma_cross", parameters={"fast": 10, "slow": 50, "sl_pct": 0.01})
    accepted = await http.post("/backtester/backtest", json=body)
    assert accepted.status_code == 202
    job = accepted.json()
    assert job["state"] in ("queued", "running")
    assert job["strategy"] == "sma_cross"
    assert job["bars"] == 2 * 9 * 1_440
    assert job["estimated_duration_seconds"] > 0
    done = await wait_job(http, job["id"])
    assert done["state"] == "done"
    assert [j["id"] for j in (await http.get("/backtester/backtest")).json()["jobs"]] == [job["id"]]
    light = (await http.get(f"/backtester/results/{job['id']}", params={"trades": "false"})).json()
    assert light["trades"] == [] and light["total_trades"] > 0


async def test_report_is_self_contained_html_with_svg_charts(http: httpx.AsyncClient) -> None:
    job = (await http.post("/backtester/backtest", json=request_body())).json()
    await wait_job(http, job["id"])
    report = await http.get(f"/backtester/results/{job['id']}/report")
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    assert "<svg" in report.text and "Drawdown" in report.text
    assert "http" not in report.text
    assert "<script" not in report.text


async def test_results_are_paginated_newest_first_and_filtered(http: httpx.AsyncClient) -> None:
    bodies = [
        request_body(symbols=[BTC]),
        request_body(symbols=[ETH], strategy="sma_cross", parameters={"sl_pct": 0.01}),
        request_body(symbols=[BTC, ETH]),
    ]
    ids = []
    for body in bodies:
        ids.append((await http.post("/backtester/backtest", json=body)).json()["id"])
        await wait_job(http, ids[-1])
    newest_first = list(reversed(ids))
    page = (await http.get("/backtester/results", params={"limit": 2})).json()
    assert page["total"] == 3 and [r["id"] for r in page["results"]] == newest_first[:2]
    rest = (await http.get("/backtester/results", params={"limit": 2, "offset": 2})).json()
    assert [r["id"] for r in rest["results"]] == newest_first[2:]
    viper = (await http.get("/backtester/results", params={"strategy": "viper"})).json()
    assert [r["id"] for r in viper["results"]] == [ids[2], ids[0]]
    eth = (await http.get("/backtester/results", params={"symbol": ETH})).json()
    assert [r["id"] for r in eth["results"]] == [ids[2], ids[1]]
    bad = await http.get("/backtester/results", params={"limit": 0})
    assert bad.status_code == 422 and bad.json()["field"] == "limit"


async def test_a_job_that_fails_in_its_process_says_why_and_stores_nothing(
    http: httpx.AsyncClient,
) -> None:
    body = request_body(strategy="sma_cross", sizing="risk")  # no stop: risk sizing cannot work
    job = (await http.post("/backtester/backtest", json=body)).json()
    failed = await wait_job(http, job["id"])
    assert failed["state"] == "failed"
    assert failed["field"] == "sizing"
    assert "stop" in failed["error"]
    assert (await http.get("/backtester/results")).json()["total"] == 0


async def test_unknown_ids_are_404(http: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/backtester/backtest/nope"),
        ("DELETE", "/backtester/backtest/nope"),
        ("GET", "/backtester/results/nope"),
        ("GET", "/backtester/results/nope/report"),
    ]:
        response = await http.request(method, path)
        assert response.status_code == 404, path


async def test_cancel_ends_the_running_process_and_stores_nothing(tmp_path: Path) -> None:
    config = make_config(tmp_path, modules={"enabled": MODULES}, backtester={"workers": 1})
    seed(Path(config.store.candles_dir), (SOL,), bars=LONG_BARS)
    viper = ViperApp(config)
    async with viper.running(), await client_for(viper) as http:
        job = (await http.post("/backtester/backtest", json=request_body(**LONG))).json()
        running = await wait_state(http, job["id"], "running")
        pid = running["worker_pid"]
        assert pid is not None and not gone(pid)
        cancelled = await http.delete(f"/backtester/backtest/{job['id']}")
        assert cancelled.status_code == 200
        assert cancelled.json()["state"] == "cancelled"
        assert gone(pid)
        await asyncio.sleep(1.0)
        after = (await http.get(f"/backtester/backtest/{job['id']}")).json()
        results = (await http.get("/backtester/results")).json()
        again = (await http.delete(f"/backtester/backtest/{job['id']}")).json()
    assert after["state"] == "cancelled" and after["result_id"] is None
    assert results["total"] == 0
    assert again["state"] == "cancelled"


async def test_jobs_beyond_the_workers_wait_and_a_queued_one_can_be_dropped(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path, modules={"enabled": MODULES}, backtester={"workers": 1})
    seed(Path(config.store.candles_dir))
    seed(Path(config.store.candles_dir), (SOL,), bars=LONG_BARS // 5)
    viper = ViperApp(config)
    async with viper.running(), await client_for(viper) as http:
        # a long first job, so the queue cannot drain while the test looks at it
        first = (await http.post("/backtester/backtest", json=request_body(**LONG))).json()
        second = (await http.post("/backtester/backtest", json=request_body())).json()
        third = (await http.post("/backtester/backtest", json=request_body())).json()
        await wait_state(http, first["id"], "running")
        assert (await http.get(f"/backtester/backtest/{second['id']}")).json()["state"] == "queued"
        dropped = (await http.delete(f"/backtester/backtest/{second['id']}")).json()
        assert [(await wait_job(http, j["id"]))["state"] for j in (first, third)] == ["done"] * 2
        results = (await http.get("/backtester/results")).json()
    assert dropped["state"] == "cancelled"
    assert dropped["started_ms"] is None and dropped["worker_pid"] is None
    assert {r["id"] for r in results["results"]} == {first["id"], third["id"]}


async def test_two_workers_run_two_jobs_at_once(http: httpx.AsyncClient) -> None:
    ids = [
        (await http.post("/backtester/backtest", json=request_body(symbols=[s]))).json()["id"]
        for s in (BTC, ETH)
    ]
    together = False
    states: list[str] = []
    while not all(s in ("done", "failed", "cancelled") for s in states) or not states:
        states = [(await http.get(f"/backtester/backtest/{i}")).json()["state"] for i in ids]
        together = together or states == ["running", "running"]
        await asyncio.sleep(0.02)
    assert together
    assert states == ["done", "done"]
    assert (await http.get("/backtester/results")).json()["total"] == 2


async def test_the_event_loop_answers_while_a_backtest_runs(tmp_path: Path) -> None:
    config = make_config(tmp_path, modules={"enabled": MODULES})
    seed(Path(config.store.candles_dir), (SOL,), bars=LONG_BARS)
    viper = ViperApp(config)
    async with viper.running(), await client_for(viper) as http:
        await http.get("/health")  # warm up the route
        job = (await http.post("/backtester/backtest", json=request_body(**LONG))).json()
        await wait_state(http, job["id"], "running")
        latencies = []
        while (await http.get(f"/backtester/backtest/{job['id']}")).json()["state"] == "running":
            began = time.perf_counter()
            health = await http.get("/health")
            latencies.append(time.perf_counter() - began)
            assert health.status_code == 200
            await asyncio.sleep(0.02)
        done = await wait_job(http, job["id"])
    assert done["state"] == "done", done
    assert len(latencies) >= 5
    assert max(latencies) < 0.1, latencies


async def test_a_stored_result_answers_as_a_done_job_after_a_restart(tmp_path: Path) -> None:
    config = make_config(tmp_path, modules={"enabled": MODULES})
    seed(Path(config.store.candles_dir))
    first = ViperApp(config)
    async with first.running(), await client_for(first) as http:
        job = (await http.post("/backtester/backtest", json=request_body())).json()
        await wait_job(http, job["id"])
    second = ViperApp(config)
    async with second.running(), await client_for(second) as http:
        again = (await http.get(f"/backtester/backtest/{job['id']}")).json()
        cancel = (await http.delete(f"/backtester/backtest/{job['id']}")).json()
        assert (await http.get(f"/backtester/results/{job['id']}")).status_code == 200
    assert again["state"] == cancel["state"] == "done"
    assert again["result_id"] == job["id"]


async def test_stopping_the_app_ends_running_jobs(tmp_path: Path) -> None:
    config = make_config(tmp_path, modules={"enabled": MODULES})
    seed(Path(config.store.candles_dir), (SOL,), bars=LONG_BARS)
    viper = ViperApp(config)
    async with viper.running(), await client_for(viper) as http:
        job = (await http.post("/backtester/backtest", json=request_body(**LONG))).json()
        pid = (await wait_state(http, job["id"], "running"))["worker_pid"]
    assert gone(pid)
    health = viper.modules["backtester"].health()
    assert health.status == "down" or health.checks.get("running") == 0


@pytest.mark.parametrize("workers", [2])
async def test_health_reports_workers_and_active_jobs(app: ViperApp, workers: int) -> None:
    checks = app.modules["backtester"].health().checks
    assert checks == {"workers": workers, "queued": 0, "running": 0}
