"""The MCP server through the official SDK client over real HTTP: tools and their schemas,
a backtest run and read back, resources, and refusals by token and scope."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, MCPError, types

from tests.integration.modules.backtester.conftest import BTC, request_body
from tests.integration.modules.mcp.conftest import MODULES, Served, mcp_client, serving
from viper.events import AlertRaised

TOOLS = {
    "get_portfolio",
    "get_positions",
    "get_scores",
    "run_backtest",
    "get_backtest_result",
    "get_risk_status",
    "pause_trading",
    "place_order",
}
ORDER = {"symbol": BTC, "side": "buy", "price": 42_000.0, "stop_loss": 41_000.0}


def error_of(result: types.CallToolResult) -> dict[str, Any]:
    assert result.is_error, result
    body: dict[str, Any] = result.structured_content
    return body


async def test_lists_every_tool_with_its_input_schema(served: Served) -> None:
    async with mcp_client(served.mcp_url, served.tokens["read"]) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(listed) == TOOLS
    assert all(
        tool.description and tool.input_schema["type"] == "object" for tool in listed.values()
    )
    order = listed["place_order"].input_schema
    assert set(order["required"]) == {"symbol", "side", "price"}
    assert order["properties"]["confirm"] == {
        "description": order["properties"]["confirm"]["description"],
        "type": "boolean",
        "default": False,
    }
    assert order["properties"]["side"]["enum"] == ["buy", "sell"]
    assert order["additionalProperties"] is False
    backtest = listed["run_backtest"].input_schema
    assert set(backtest["required"]) == {"symbols", "start_date", "end_date"}
    assert "ISO 8601" in backtest["properties"]["start_date"]["description"]
    assert listed["get_backtest_result"].input_schema["required"] == ["id"]
    assert listed["get_portfolio"].input_schema["properties"] == {}
    assert listed["place_order"].annotations is not None
    assert listed["place_order"].annotations.destructive_hint is True


async def wait_result(client: Client, backtest_id: str, within: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = await client.call_tool("get_backtest_result", {"id": backtest_id, "trades": 3})
        if not result.is_error:
            body: dict[str, Any] = result.structured_content
            return body
        assert error_of(result)["error"] == "not_found"
        await asyncio.sleep(0.1)
    pytest.fail(f"backtest {backtest_id} has no result after {within} s")


async def test_runs_a_backtest_and_reads_its_result(served: Served) -> None:
    body = request_body(symbols=[BTC], end_date="2024-01-04")
    async with mcp_client(served.mcp_url, served.tokens["read"]) as client:
        started = await client.call_tool("run_backtest", body)
        assert not started.is_error, started
        job = started.structured_content
        assert job["state"] in ("queued", "running") and job["symbols"] == [BTC]
        result = await wait_result(client, job["id"])
    assert result["backtest_id"] == job["id"] and result["symbols"] == [BTC]
    assert result["initial_capital"] == 10_000
    assert result["trades_included"] == len(result["trades"]) <= 3
    assert len(result["trades"]) == min(3, result["total_trades"])
    assert "equity_curve" not in result


async def test_a_bad_backtest_request_is_a_tool_error_naming_the_field(served: Served) -> None:
    async with mcp_client(served.mcp_url, served.tokens["read"]) as client:
        result = await client.call_tool("run_backtest", {"symbols": [], "start_date": "x"})
        missing = await client.call_tool("get_backtest_result", {"id": "nope"})
    assert error_of(result)["error"] == "validation_error"
    assert error_of(missing)["error"] == "not_found"


async def test_resources_give_the_masked_config(served: Served) -> None:
    async with mcp_client(served.mcp_url, served.tokens["read"]) as client:
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        config = await client.read_resource("viper://config")
    assert uris == {"viper://config", "viper://alerts/recent"}
    content = config.contents[0]
    assert isinstance(content, types.TextResourceContents)
    assert '"modules"' in content.text and '"api_key"' in content.text


async def test_no_token_is_refused_with_401(served: Served) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient() as http:
        response = await http.post(served.mcp_url, json=initialize, headers=headers)
        unknown = await http.post(
            served.mcp_url, json=initialize, headers={**headers, "Authorization": "Bearer x"}
        )
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert unknown.status_code == 401
    with pytest.raises(ExceptionGroup) as refused:  # the SDK client cannot even connect
        async with mcp_client(served.mcp_url, None) as client:
            await client.list_tools()
    assert refused.group_contains(MCPError)


async def test_place_order_without_confirm_is_a_tool_error(served: Served) -> None:
    async with mcp_client(served.mcp_url, served.tokens["trade"]) as client:
        result = await client.call_tool("place_order", ORDER)
    error = error_of(result)
    assert error["error"] == "validation_error" and error["field"] == "confirm"


async def test_a_read_only_token_may_not_trade(served: Served) -> None:
    async with mcp_client(served.mcp_url, served.tokens["read"]) as client:
        order = await client.call_tool("place_order", {**ORDER, "confirm": True})
        pause = await client.call_tool("pause_trading", {"reason": "test"})
    assert error_of(order)["error"] == "forbidden" and error_of(order)["needed"] == "trade"
    assert error_of(pause)["error"] == "forbidden"


async def test_tools_of_modules_not_running_say_which_module(served: Served) -> None:
    async with mcp_client(served.mcp_url, served.tokens["trade"]) as client:
        pause = await client.call_tool("pause_trading", {})
        scores = await client.call_tool("get_scores", {})
        risk = await client.call_tool("get_risk_status", {})
    assert error_of(pause) == {
        "error": "temporarily_unavailable",
        "detail": "the live module is not running",
        "module": "live",
    }
    assert error_of(scores)["module"] == "signal" and error_of(risk)["module"] == "risk"


async def test_plain_get_describes_the_endpoint(served: Served) -> None:
    headers = {"Authorization": f"Bearer {served.tokens['read']}"}
    async with httpx.AsyncClient(headers=headers) as http:
        response = await http.get(served.mcp_url)
    assert response.status_code == 200
    body = response.json()
    assert body["transport"] == "streamable-http" and body["endpoint"] == "/mcp/"
    assert set(body["tools"]) == TOOLS


async def test_place_order_goes_through_the_risk_manager(tmp_path: Path) -> None:
    entry = {**ORDER, "confirm": True, "client_ref": "first"}
    async with (
        serving(tmp_path, [*MODULES, "risk", "exchange"]) as served,
        mcp_client(served.mcp_url, served.tokens["trade"]) as client,
    ):
        approved = await client.call_tool("place_order", entry)
        again = await client.call_tool("place_order", entry)
        refused = await client.call_tool(
            "place_order", {**ORDER, "symbol": "NOPE/USDT:USDT", "confirm": True}
        )
        risk = await client.call_tool("get_risk_status", {})
    assert not approved.is_error, approved
    order = approved.structured_content
    assert order["status"] == "approved" and order["side"] == "buy" and order["symbol"] == BTC
    assert float(order["amount"]) > 0 and order["client_order_id"].startswith("vpr")
    # The same client_ref is the same intent (an order placed again would have the same id);
    # the risk manager refuses a second entry while the first is pending.
    assert error_of(again)["intent_id"] == order["intent_id"]
    assert error_of(again)["reason"] == "position_open"
    assert error_of(refused)["error"] == "rejected"
    assert error_of(refused)["reason"] == "unknown_symbol"
    assert risk.structured_content["pending_entries"] == 1


async def test_scores_and_recent_alerts_come_from_their_modules(tmp_path: Path) -> None:
    async with serving(tmp_path, [*MODULES, "signal", "alerts"]) as served:
        await served.app.bus.publish(
            AlertRaised(
                ts_ms=served.app.clock.now_ms(),
                rule="manual",
                severity="warning",
                message="disk almost full",
            )
        )
        async with mcp_client(served.mcp_url, served.tokens["read"]) as client:
            scores = await client.call_tool("get_scores", {})
            unscored = await client.call_tool("get_scores", {"symbol": BTC})
            alerts: dict[str, Any] = {}
            deadline = time.monotonic() + 10
            while not alerts.get("alerts") and time.monotonic() < deadline:
                read = await client.read_resource("viper://alerts/recent")
                content = read.contents[0]
                assert isinstance(content, types.TextResourceContents)
                alerts = json.loads(content.text)
                await asyncio.sleep(0.05)
    assert not scores.is_error, scores
    assert scores.structured_content["count"] == 0 and scores.structured_content["threshold"] > 0
    assert error_of(unscored)["error"] == "not_found"  # no bar of BTC scored yet
    assert alerts["total"] == 1 and alerts["alerts"][0]["message"] == "disk almost full"
