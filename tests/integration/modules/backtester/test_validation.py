"""Bad backtest requests: 422 naming the field (400 for unreadable bodies), and nothing started."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_config
from tests.integration.modules.backtester.conftest import (
    BTC,
    ETH,
    client_for,
    request_body,
    seed,
)
from viper.app import ViperApp

ENDPOINTS = ["/api/backtest/start", "/backtester/backtest"]
CASES: list[tuple[dict[str, Any], str]] = [
    ({"start_date": "2024-01-10", "end_date": "2024-01-05"}, "end_date"),
    ({"start_date": "2024-01-05", "end_date": "2024-01-05"}, "end_date"),
    ({"symbols": ["DOGE/USDT:USDT"]}, "symbols"),
    ({"symbols": [BTC, "NOPE/USDT:USDT"]}, "symbols"),
    ({"symbols": []}, "symbols"),
    ({"start_date": "2025-01-01", "end_date": "2025-02-01"}, "start_date"),
    ({"start_date": "2023-01-01", "end_date": "2023-02-01"}, "end_date"),
    ({"score_threshold": 101}, "score_threshold"),
    ({"score_threshold": -0.5}, "score_threshold"),
    ({"risk_per_trade": 0}, "risk_per_trade"),
    ({"risk_per_trade": 0.11}, "risk_per_trade"),
    ({"initial_capital": 0}, "initial_capital"),
    ({"initial_capital": -1_000}, "initial_capital"),
    ({"strategy": "moon"}, "strategy"),
    ({"strategy": "sma_cross", "parameters": {"fast": "ten"}}, "parameters.fast"),
    ({"strategy": "sma_cross", "parameters": {"fast": 80, "slow": 20}}, "parameters.fast"),
    ({"parameters": {"colour": "red"}}, "parameters.colour"),
    ({"start_date": "2024-13-45"}, "start_date"),
    ({"end_date": "next week"}, "end_date"),
    ({"timeframe": "7x"}, "timeframe"),
    ({"colour": "red"}, "colour"),
]


async def nothing_started(http: httpx.AsyncClient) -> None:
    assert (await http.get("/backtester/backtest")).json()["jobs"] == []
    assert (await http.get("/backtester/results")).json()["total"] == 0


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("change", "field"), CASES)
async def test_bad_requests_name_the_field_and_start_nothing(
    http: httpx.AsyncClient, endpoint: str, change: dict[str, Any], field: str
) -> None:
    response = await http.post(endpoint, json=request_body(**change))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == field
    assert body["error"] == "validation_error"
    await nothing_started(http)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_missing_field_is_named(http: httpx.AsyncClient, endpoint: str) -> None:
    body = request_body()
    del body["symbols"]
    response = await http.post(endpoint, json=body)
    assert response.status_code == 422
    assert response.json()["field"] == "symbols"
    await nothing_started(http)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("content", [b"{not json", b"", b"symbols=BTC", b'{"symbols": ["BTC'])
async def test_unreadable_bodies_are_400(
    http: httpx.AsyncClient, endpoint: str, content: bytes
) -> None:
    response = await http.post(
        endpoint, content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    await nothing_started(http)


async def test_original_api_answers_503_naming_the_disabled_backtester(tmp_path: Path) -> None:
    config = make_config(tmp_path, modules={"enabled": ["api", "data"]})
    seed(Path(config.store.candles_dir), (BTC, ETH), bars=100)  # data there, module off
    viper = ViperApp(config)
    async with viper.running(), await client_for(viper) as http:
        response = await http.post("/api/backtest/start", json=request_body())
    assert response.status_code == 503
    body = response.json()
    assert body["module"] == "backtester"
    assert "backtester" in body["detail"]
