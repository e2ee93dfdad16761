"""The logger over HTTP: tail with filters and pages, search, history from files, SSE live tail."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from loguru import logger

from tests.conftest import make_config
from tests.fakes.bitget_ws import eventually
from tests.integration.modules.logger.conftest import logger_module, logging_to, serve
from viper.app import ViperApp
from viper.http import request_id_var
from viper.logs import Redactor


def log_mix() -> None:
    """Records from three modules at several levels, two of them inside one request."""
    logger.bind(module="risk").info("intent i-1 approved for BTC/USDT:USDT")
    logger.bind(module="risk").warning("daily loss at 2.5% of equity")
    token = request_id_var.set("req-42")
    try:
        logger.bind(module="order").warning("order viper-1 rejected: insufficient margin")
        logger.bind(module="order").error("order viper-2 rejected: price out of band")
    finally:
        request_id_var.reset(token)
    logger.bind(module="data").debug("cache hit market_data BTC")


async def test_tail_filters_by_level_module_time_and_request(
    app: ViperApp, client: httpx.AsyncClient
) -> None:
    log_mix()
    everything = (await client.get("/logger/logs")).json()
    warnings = (await client.get("/logger/logs", params={"level": "warning"})).json()
    orders = (await client.get("/logger/logs", params={"module": "order"})).json()
    request = (await client.get("/logger/logs", params={"request_id": "req-42"})).json()
    now_ms = int(time.time() * 1000)
    future = (await client.get("/logger/logs", params={"since": now_ms + 60_000})).json()
    assert [r["module"] for r in everything["records"][:5]] == [
        "data",
        "order",
        "order",
        "risk",
        "risk",
    ]
    assert everything["source"] == "memory"
    assert [r["level"] for r in warnings["records"]] == ["ERROR", "WARNING", "WARNING"]
    assert orders["total"] == 2 and orders["records"][0]["message"].startswith("order viper-2")
    assert [r["request_id"] for r in request["records"]] == ["req-42", "req-42"]
    assert future["total"] == 0 and future["records"] == []
    assert everything["records"][0]["ts_ms"] <= now_ms


async def test_search_ands_words_in_any_case_with_filters_and_pages(
    app: ViperApp, client: httpx.AsyncClient
) -> None:
    for i in range(25):
        logger.bind(module="exchange").warning("Timeout talking to bitget, attempt {}", i)
    log_mix()
    found = (await client.get("/logger/search", params={"q": "REJECTED order"})).json()
    page = (
        await client.get(
            "/logger/search", params={"q": "timeout bitget", "limit": 10, "offset": 20}
        )
    ).json()
    narrowed = (
        await client.get("/logger/search", params={"q": "rejected", "level": "ERROR"})
    ).json()
    assert found["total"] == 2 and {r["module"] for r in found["records"]} == {"order"}
    assert page["total"] == 25 and page["count"] == 5 and page["next_offset"] is None
    assert page["records"][-1]["message"] == "Timeout talking to bitget, attempt 0"
    assert [r["message"] for r in narrowed["records"]] == [
        "order viper-2 rejected: price out of band"
    ]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/logger/logs", {"level": "LOUD"}, "level"),
        ("/logger/logs", {"since": "yesterday"}, "since"),
        ("/logger/logs", {"until": "soon"}, "until"),
        ("/logger/logs", {"since": "2000", "until": "1000"}, "until"),
        ("/logger/logs", {"limit": 0}, "limit"),
        ("/logger/logs", {"limit": 100_000}, "limit"),
        ("/logger/logs", {"offset": -1}, "offset"),
        ("/logger/logs", {"colour": "red"}, "colour"),
        ("/logger/logs", {"source": "tape"}, "source"),
        ("/logger/logs", {"source": "files"}, "source"),  # no log file configured
        ("/logger/search", {"q": "!!"}, "q"),
        ("/logger/stream", {"level": "LOUD"}, "level"),
        ("/logger/stream", {"backlog": 5000}, "backlog"),
    ],
)
async def test_bad_filters_are_422_naming_the_field(
    client: httpx.AsyncClient, path: str, params: dict, field: str
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


async def test_history_before_the_index_comes_from_the_log_files(tmp_path: Path) -> None:
    file = tmp_path / "logs" / "viper.jsonl"
    with logging_to(file, Redactor()):
        started_ms = int(time.time() * 1000)
        logger.bind(module="risk").warning("before the logger started")
        logger.complete()
        await asyncio.sleep(0.01)
        config = make_config(tmp_path, modules={"enabled": ["logger"]}, logging={"file": str(file)})
        app = ViperApp(config)
        async with app.running():
            logger.bind(module="risk").warning("after the logger started")
            logger.complete()
            transport = httpx.ASGITransport(app=app.http)
            async with httpx.AsyncClient(transport=transport, base_url="http://v") as http:
                memory = (await http.get("/logger/logs", params={"module": "risk"})).json()
                history = (
                    await http.get("/logger/logs", params={"module": "risk", "since": started_ms})
                ).json()
                files = (
                    await http.get("/logger/search", params={"q": "before", "source": "files"})
                ).json()
    assert memory["source"] == "memory"
    assert [r["message"] for r in memory["records"]] == ["after the logger started"]
    assert history["source"] == "files" and history["total"] is None
    assert [r["message"] for r in history["records"]] == [
        "after the logger started",
        "before the logger started",
    ]
    assert [r["message"] for r in files["records"]] == ["before the logger started"]


async def test_live_tail_streams_matching_records_and_unsubscribes_on_disconnect(
    app: ViperApp,
) -> None:
    module = logger_module(app)
    module.heartbeat_seconds = 0.05
    logger.bind(module="risk").warning("old warning")
    received: list[dict] = []
    heartbeats = 0
    params = {"module": "risk", "level": "WARNING", "backlog": 1}
    async with (
        serve(app) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
        http.stream("GET", "/logger/stream", params=params) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        await eventually(lambda: module.health().checks["streams"] == 1)
        logger.bind(module="order").warning("other module")
        logger.bind(module="risk").info("too quiet")
        logger.bind(module="risk").error("kill switch tripped")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                received.append(json.loads(line.removeprefix("data: ")))
            elif line == ": heartbeat":
                heartbeats += 1
            if len(received) == 2 and heartbeats:
                break
    await eventually(lambda: module.health().checks["streams"] == 0)
    assert [r["message"] for r in received] == ["old warning", "kill switch tripped"]
    assert received[1]["level"] == "ERROR" and received[1]["id"] > received[0]["id"]
