"""The one router: a mount per module, JSON errors everywhere, request ids, metrics, OpenAPI."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import make_config
from viper.app import ViperApp
from viper.config import MODULE_NAMES
from viper.http import read_json
from viper.modules.base import Health

SEED_ROUTES = {
    "backtester": ["/backtest", "/results"],
    "risk": ["/risk", "/limits"],
    "data": ["/data", "/sync"],
    "optimizer": ["/optimize", "/parameters"],
    "exchange": ["/orders", "/balance"],
    "monitoring": ["/metrics", "/health"],
    "live": ["/trade", "/positions"],
    "vault": ["/credentials", "/tokens"],
    "streamer": ["/realtime"],  # /stream is endless SSE: tested against a real server
    "signal": ["/signals", "/scores"],
    "alerts": ["/alerts", "/notifications"],
    "order": ["/orders", "/lifecycle/x1"],
    "sync": ["/sync", "/positions"],
    "mcp": ["/"],
    "logger": ["/logs", "/search"],
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = ViperApp(make_config(tmp_path))
    async with app.running():
        transport = httpx.ASGITransport(app=app.http)
        async with httpx.AsyncClient(transport=transport, base_url="http://viper") as http:
            yield http


async def test_health_reports_every_module_running(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["modules"]) == set(MODULE_NAMES)
    assert all(m["state"] == "running" for m in body["modules"].values())
    assert body["rss_bytes"] > 0


@contextlib.asynccontextmanager
async def risk_app(
    tmp_path: Path, max_age: float
) -> AsyncIterator[tuple[ViperApp, httpx.AsyncClient]]:
    """A running app with the risk module, whose /health snapshot lives `max_age` seconds."""
    modules, server = {"enabled": ["api", "risk"]}, {"health_max_age_seconds": max_age}
    app = ViperApp(make_config(tmp_path, modules=modules, server=server))
    async with app.running():
        transport = httpx.ASGITransport(app=app.http)
        async with httpx.AsyncClient(transport=transport, base_url="http://viper") as http:
            yield app, http


async def test_health_answers_from_a_snapshot_until_it_ages_or_a_module_changes_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    halted = Health(status="degraded", detail="halted: test")
    async with risk_app(tmp_path, max_age=60) as (app, http):
        first = await http.get("/health")
        monkeypatch.setattr(app.modules["risk"], "health", lambda: halted)
        again = await http.get("/health")
        assert again.content == first.content  # the snapshot, not yet 60 s old
        assert (await http.get("/risk/health")).json()["health"]["status"] == "degraded"

        app.runner.transitions += 1  # what every module start, stop or failure does
        renewed = await http.get("/health")
        assert renewed.json()["status"] == "degraded"
        assert renewed.json()["modules"]["risk"]["health"]["detail"] == "halted: test"

    async with risk_app(tmp_path, max_age=0) as (app, http):
        assert (await http.get("/health")).json()["status"] == "ok"
        monkeypatch.setattr(app.modules["risk"], "health", lambda: halted)
        assert (await http.get("/health")).json()["status"] == "degraded"  # 0: every time


@pytest.mark.parametrize("module", sorted(SEED_ROUTES))
async def test_every_module_owns_its_mount_and_seed_routes(
    client: httpx.AsyncClient, module: str
) -> None:
    health = await client.get(f"/{module}/health")
    assert health.status_code == 200
    assert health.json()["state"] == "running"
    for path in SEED_ROUTES[module]:
        response = await client.get(f"/{module}{path}")
        if response.status_code == 405:
            response = await client.post(f"/{module}{path}", json={})
        # a handler may answer 404/422 for the placeholder id or empty body; never "no route"
        assert response.status_code in (200, 404, 422, 501), (module, path, response.status_code)
        assert not response.json().get("detail", "").startswith("no route for")
        if response.status_code == 501:
            assert response.json()["error"] == "not_implemented"
            assert "not built yet" in response.json()["detail"]


async def test_services_status_lists_all_seventeen_modules(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/services/status")).json()
    assert body["total"] == 17 and body["enabled"] == 17 and body["running"] == 17
    assert [s["name"] for s in body["services"]] == list(MODULE_NAMES)


async def test_a_disabled_module_loses_its_mount_and_shows_disabled(tmp_path: Path) -> None:
    enabled = [m for m in MODULE_NAMES if m not in ("risk", "live")]
    app = ViperApp(make_config(tmp_path, modules={"enabled": enabled}))
    async with app.running():
        transport = httpx.ASGITransport(app=app.http)
        async with httpx.AsyncClient(transport=transport, base_url="http://viper") as http:
            assert (await http.get("/risk/risk")).status_code == 404
            assert (await http.get("/risk/health")).status_code == 404
            status = (await http.get("/api/services/status")).json()
            by_name = {s["name"]: s for s in status["services"]}
            assert by_name["risk"]["enabled"] is False and by_name["risk"]["state"] is None
            assert by_name["live"]["enabled"] is False
            assert status["enabled"] == 15


async def test_unknown_route_is_404_json_and_wrong_method_405_json(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/no/such/thing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"
    assert missing.json()["error"] == "not_found"
    wrong = await client.delete("/health")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    fresh = await client.get("/health")
    assert len(fresh.headers["x-request-id"]) == 32
    echoed = await client.get("/health", headers={"X-Request-ID": "trace-42"})
    assert echoed.headers["x-request-id"] == "trace-42"
    unsafe = await client.get("/nope", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"
    assert unsafe.json()["request_id"] == unsafe.headers["x-request-id"]


async def test_metrics_parse_and_count_requests_by_route_template(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/order/lifecycle/abc")
    await client.get("/order/lifecycle/def")
    text = (await client.get("/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in (
        "viper_http_requests",
        "viper_response_time_seconds",
        "viper_bus_published",
        "viper_module_up",
        "viper_memory_usage",
        "process_resident_memory_bytes",
    ):
        assert name in families, name
    samples = [
        s
        for s in families["viper_http_requests"].samples
        if s.labels.get("route") == "/order/lifecycle/{order_id}" and s.name.endswith("_total")
    ]
    assert samples and samples[0].value == 2.0


async def test_openapi_describes_every_route(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for module, routes in SEED_ROUTES.items():
        for path in routes:
            template = "/order/lifecycle/{order_id}" if "lifecycle" in path else f"/{module}{path}"
            template = template.rstrip("/") if template != "/mcp/" else template
            assert template in paths, template
    assert "/api/services/status" in paths
    schema = paths["/api/services/status"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    assert schema["$ref"].endswith("/ServicesStatus")
    assert "ServicesStatus" in spec["components"]["schemas"]
    assert "Error" in spec["components"]["schemas"]


class Order(msgspec.Struct):
    symbol: str
    amount: float


async def echo(request: Request) -> Response:
    order = await read_json(request, Order)
    return Response(f"{order.symbol}:{order.amount}")


async def explode(request: Request) -> Response:
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture
async def body_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = ViperApp(make_config(tmp_path, modules={"enabled": ["api"]}))
    http_app = app.build_http(
        [Route("/echo", echo, methods=["POST"]), Route("/explode", explode)], lifespan=False
    )
    transport = httpx.ASGITransport(app=http_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://viper") as http:
        yield http


async def test_malformed_json_body_is_400_json(body_client: httpx.AsyncClient) -> None:
    response = await body_client.post("/echo", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    empty = await body_client.post("/echo", content=b"")
    assert empty.status_code == 400


async def test_body_of_the_wrong_shape_is_422_naming_the_field(
    body_client: httpx.AsyncClient,
) -> None:
    wrong_type = await body_client.post("/echo", json={"symbol": "BTC", "amount": "lots"})
    assert wrong_type.status_code == 422
    assert wrong_type.json()["field"] == "amount"
    missing = await body_client.post("/echo", json={"amount": 1})
    assert missing.status_code == 422
    assert missing.json()["field"] == "symbol"
    ok = await body_client.post("/echo", json={"symbol": "BTC", "amount": 2})
    assert ok.text == "BTC:2.0"


async def test_unexpected_error_is_500_json_without_internals(
    body_client: httpx.AsyncClient,
) -> None:
    response = await body_client.get("/explode")
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "internal"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text


async def test_dashboard_page_and_assets_are_served_from_the_package(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and "<title>VIPER</title>" in page.text
    assert "http://" not in page.text.replace("http://127", "")  # no CDN links
    script = await client.get("/static/status.js")
    assert script.status_code == 200 and "/api/services/status" in script.text


async def test_legacy_apps_serve_each_module_at_its_seed_port_root(tmp_path: Path) -> None:
    app = ViperApp(make_config(tmp_path, server={"legacy_ports": True}))
    legacy = app.legacy_apps()
    assert sorted(legacy) == [
        8001,
        8002,
        8003,
        8004,
        8005,
        8006,
        8007,
        8008,
        8010,
        8011,
        8012,
        8013,
        8014,
        8015,
        8016,
    ]
    async with app.running():
        transport = httpx.ASGITransport(app=legacy[8001])
        async with httpx.AsyncClient(transport=transport, base_url="http://viper") as http:
            response = await http.post("/backtest", json={})
            assert response.status_code == 422  # built: the empty body lacks its symbols
            assert response.json()["field"] == "symbols"
            assert (await http.get("/health")).json()["module"] == "backtester"
            assert (await http.get("/risk")).status_code == 404


def test_rss_bytes_reads_the_resident_memory_psutil_reports() -> None:
    import psutil

    from viper.metrics import rss_bytes

    ours, theirs = rss_bytes(), psutil.Process().memory_info().rss
    assert abs(ours - theirs) <= 0.05 * theirs
    assert rss_bytes() > 0  # the open file is read again from the start


def test_settle_moves_what_start_up_built_out_of_the_collectors_way() -> None:
    try:
        ViperApp.settle()
        frozen = gc.get_freeze_count()
        assert frozen > 1000
        assert len(gc.get_objects()) < frozen  # collections walk the few objects made since
    finally:
        gc.unfreeze()  # the other tests run in this process
