"""The composition root: config -> bus, clock, store, metrics -> modules -> one Starlette app.

`ViperApp.running()` is the one lifespan: it opens the store, starts the bus and the modules
in dependency order, and undoes all of it in reverse. Every app it builds (the main one and
the legacy-port ones) authenticates through one shared `Authenticator`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TextIO

import msgspec
from loguru import logger
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from viper import __version__
from viper.auth import (
    Authenticate,
    Authenticator,
    TokenBootstrap,
    auth_routes,
    declare_scopes,
    show_first_token,
)
from viper.bus import BusCollector, InMemoryBus
from viper.clock import Clock, LiveClock
from viper.config import MODULE_NAMES, Config, secret_values, section_of, to_dict
from viper.errors import ConfigError
from viper.http import (
    EXCEPTION_HANDLERS,
    BindModule,
    RequestContext,
    RootMount,
    encode,
    json_response,
)
from viper.logs import Redactor
from viper.metrics import (
    BreakerMetrics,
    HttpMetrics,
    ModuleStateCollector,
    new_registry,
    rss_bytes,
)
from viper.modules.base import Health, Module, ModuleContext, Services
from viper.modules.registry import LEGACY_PORTS, build_modules
from viper.openapi import build_openapi
from viper.protocols import SecretRedactor, StatusSource, TokenScope
from viper.runner import ModuleRunner, ModuleStatus
from viper.store.sqlite import Database

ROOT_MODULE = "web"  # mounted at "/" and last, so it never shadows another mount
# Scopes above what the method asks for, per module: "*" is every route of the module,
# "METHOD /path" one route. Config changes and the vault need `admin`.
# Routes declare their own scope (`ApiRoute(scope=...)`); this adds whole-module rules.
MODULE_SCOPES: Mapping[str, Mapping[str, TokenScope]] = {
    "vault": {"*": "admin"},
}


class HealthReport(msgspec.Struct, frozen=True, kw_only=True):
    """The body of /health."""

    status: str
    version: str
    uptime_seconds: float
    pid: int
    rss_bytes: int
    modules: dict[str, ModuleStatus]


def make_bus(config: Config, node: str) -> InMemoryBus:
    """The configured bus backend; the Redis one is imported only when chosen."""
    bus_cfg = config.bus
    if bus_cfg.backend == "memory":
        return InMemoryBus(
            queue_size=bus_cfg.queue_size, drain_timeout=bus_cfg.drain_timeout_seconds
        )
    if not config.redis.url:
        raise ConfigError("bus.backend: 'redis' needs redis.url to be set")
    redis_bus = importlib.import_module("viper.redis_bus")
    bus: InMemoryBus = redis_bus.RedisBus(
        config.redis.url,
        stream=bus_cfg.stream,
        group=bus_cfg.group,
        maxlen=bus_cfg.stream_maxlen,
        queue_size=bus_cfg.queue_size,
        drain_timeout=bus_cfg.drain_timeout_seconds,
        node_id=node,
    )
    return bus


def bus_collector(bus: InMemoryBus) -> BusCollector:
    """The Prometheus view of whichever bus backend runs."""
    if type(bus).__name__ == "RedisBus":
        redis_bus = importlib.import_module("viper.redis_bus")
        collector: BusCollector = redis_bus.RedisBusCollector(bus)
        return collector
    return BusCollector(bus)


class ViperApp:
    """One VIPER process: its modules, bus, store, metrics and HTTP app."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        redactor: SecretRedactor | None = None,
        console: TextIO | None = None,
    ) -> None:
        if config.auth.enabled and "vault" not in config.modules.enabled:
            raise ConfigError(
                "auth.enabled needs the vault module (it holds the API tokens): "
                "add 'vault' to modules.enabled or set auth.enabled = false"
            )
        self.config = config
        self.console = console  # where the first admin token is shown; None = stderr
        self.node = config.bus.node_id or f"{socket.gethostname()}:{os.getpid()}"
        self.clock: Clock = clock or LiveClock()
        self.metrics = new_registry()
        self.http_metrics = HttpMetrics(self.metrics)
        self.bus = make_bus(config, self.node)
        self.metrics.register(bus_collector(self.bus))
        self.store = Database(config.store.database)
        self.services = Services()
        self.services.provide(StatusSource, self)
        # One set of circuit-breaker gauges for every module that guards a remote side.
        self.services.provide(BreakerMetrics, BreakerMetrics(self.metrics))
        # The log redactor (the CLI's, wired to the sinks): the vault adds each secret it holds.
        self.services.provide(
            SecretRedactor, redactor if redactor is not None else Redactor(secret_values(config))
        )
        self.auth = Authenticator(
            config.auth, services=self.services, clock=self.clock, store=self.store
        )
        self.modules: dict[str, Module] = build_modules(config.modules.enabled)
        self.runner = ModuleRunner(
            self.modules,
            self._context,
            bus=self.bus,
            clock=self.clock,
            all_names=MODULE_NAMES,
            start_timeout=config.server.start_timeout_seconds,
            stop_timeout=config.server.stop_timeout_seconds,
        )
        self.metrics.register(ModuleStateCollector(lambda: dict(self.runner.states)))
        self.started_monotonic: float | None = None
        self._running = False
        # The last /health answer: (built at, module transitions then, JSON body, status code)
        self._health_snapshot: tuple[float, int, bytes, int] | None = None
        # Set when the process starts stopping: open event streams end instead of holding it up.
        self.closing = asyncio.Event()
        self.http = self.build_http(self.routes())

    # --- lifecycle -------------------------------------------------------------------

    def _context(self, module: Module) -> ModuleContext:
        return ModuleContext(
            name=module.name,
            section=section_of(self.config, module.name),
            config=self.config,
            bus=self.bus,
            clock=self.clock,
            store=self.store,
            metrics=self.metrics,
            logger=logger.bind(module=module.name),
            services=self.services,
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ViperApp]:
        """Open the store, start the bus and every module; undo it all on exit (idempotent)."""
        if self._running:
            yield self
            return
        await self.store.open()
        try:
            await self.auth.audit.open()
            await self.bus.start()
            await self.runner.start()
        except BaseException:
            await self.bus.stop()
            await self.store.close()
            raise
        self._running = True
        self.started_monotonic = time.monotonic()
        try:
            await self._publish_config()
            await self._first_token()
            yield self
        finally:
            self._running = False
            self.closing.set()
            problems = await self.runner.stop()
            await self.bus.stop()
            await self.store.close()
            if problems:
                logger.error("stopped with errors: {}", "; ".join(problems))

    @staticmethod
    def settle() -> None:
        """Once everything has started: collect the start-up garbage, then move every object
        alive now out of the cyclic collector's way (`gc.freeze`). What start-up built lives
        as long as the process, so later collections walk only what trading allocates: a
        full collection takes a few milliseconds instead of tens."""
        gc.collect()
        gc.freeze()
        logger.debug("{} start-up objects left out of garbage collection", gc.get_freeze_count())

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """The ASGI lifespan: the same `running()` context."""
        async with self.running():
            yield

    async def _first_token(self) -> None:
        """With auth on and no active token, issue an admin token and show it once."""
        bootstrap = self.services.maybe(TokenBootstrap)
        if not self.config.auth.enabled or bootstrap is None:
            return
        issued = await bootstrap.first_admin_token()
        if issued is not None:
            # Straight to the console, never through the log sinks (and so not to the files).
            show_first_token(issued, self.console or sys.stderr)
            logger.warning("issued the first admin token {} (shown once on stderr)", issued.id)

    async def _publish_config(self) -> None:
        """With Redis configured, publish risk settings and symbols under the original keys."""
        if not (self.config.redis.url and self.config.redis.publish_config):
            return
        redis_asyncio = importlib.import_module("redis.asyncio")
        client = redis_asyncio.Redis.from_url(self.config.redis.url)
        try:
            payload = to_dict(self.config)
            await client.set("config:risk_management", msgspec.json.encode(payload["risk"]))
            await client.set(
                "config:trading_symbols", msgspec.json.encode(payload["trading"]["symbols"])
            )
        except Exception as exc:  # Redis is optional here: say so and carry on
            logger.warning("could not publish the config to Redis: {}", type(exc).__name__)
        finally:
            await client.aclose()

    # --- status ------------------------------------------------------------------------

    def services_status(self) -> list[ModuleStatus]:
        """Every known module, enabled or not."""
        return self.runner.status()

    def health_report(self) -> tuple[HealthReport, int]:
        """The /health body and its HTTP status (503 unless every enabled module runs)."""
        statuses = self.runner.status()
        enabled = [s for s in statuses if s.enabled]
        if any(s.state != "running" for s in enabled):
            overall, code = "down", 503
        elif any(s.health is not None and s.health.status != "ok" for s in enabled):
            overall, code = "degraded", 200
        else:
            overall, code = "ok", 200
        uptime = time.monotonic() - self.started_monotonic if self.started_monotonic else 0.0
        report = HealthReport(
            status=overall,
            version=__version__,
            uptime_seconds=round(uptime, 3),
            pid=os.getpid(),
            rss_bytes=rss_bytes(),
            modules={s.name: s for s in statuses},
        )
        return report, code

    # --- HTTP --------------------------------------------------------------------------

    async def _health(self, request: Request) -> Response:
        """Process and per-module health; 503 while any enabled module is not running."""
        body, code = self.health_body()
        return Response(body, status_code=code, media_type="application/json")

    def health_body(self) -> tuple[bytes, int]:
        """The /health JSON and status, from a snapshot at most `health_max_age_seconds` old
        and taken since the last module state change (probes and balancers poll it often)."""
        now = time.monotonic()
        snapshot = self._health_snapshot
        if (
            snapshot is not None
            and now - snapshot[0] < self.config.server.health_max_age_seconds
            and snapshot[1] == self.runner.transitions
        ):
            return snapshot[2], snapshot[3]
        report, code = self.health_report()
        body = encode(report)
        self._health_snapshot = (now, self.runner.transitions, body, code)
        return body, code

    async def _metrics(self, request: Request) -> Response:
        """Prometheus metrics in the text exposition format."""
        return Response(generate_latest(self.metrics), media_type=CONTENT_TYPE_LATEST)

    async def _openapi(self, request: Request) -> Response:
        """The OpenAPI description of every route."""
        return json_response(build_openapi(self.http.routes))

    def module_routes(self, module: Module) -> list[BaseRoute]:
        """A module's routes plus its own `/health`, with the scopes of `MODULE_SCOPES`."""

        async def module_health(request: Request) -> Response:
            state = self.runner.states.get(module.name)
            health = (
                module.health() if state == "running" else Health(status="down", detail=str(state))
            )
            return json_response(
                {"module": module.name, "state": state, "health": health},
                status_code=200 if health.status != "down" else 503,
            )

        module_health.__doc__ = f"Health of the {module.name} module"
        routes = [*module.routes, Route("/health", module_health, methods=["GET"])]
        return declare_scopes(routes, MODULE_SCOPES.get(module.name, {}))

    def routes(self) -> list[BaseRoute]:
        """Core routes, then one mount per enabled module (the root module last)."""
        routes: list[BaseRoute] = [
            Route("/health", self._health, methods=["GET"]),
            Route("/metrics", self._metrics, methods=["GET"]),
            Route("/openapi.json", self._openapi, methods=["GET"]),
            *auth_routes(self.auth),
        ]
        for name, module in self.modules.items():
            if name == ROOT_MODULE:
                continue
            routes.append(self._mount(f"/{name}", module, self.module_routes(module)))
        root = self.modules.get(ROOT_MODULE)
        if root is not None:
            routes.append(RootMount(root.routes, [Middleware(BindModule, module=root)]))
        return routes

    @staticmethod
    def _mount(path: str, module: Module, routes: Sequence[BaseRoute]) -> Mount:
        return Mount(path, routes=list(routes), middleware=[Middleware(BindModule, module=module)])

    def build_http(self, routes: Sequence[BaseRoute], *, lifespan: bool = True) -> Starlette:
        """A Starlette app over `routes` with VIPER's middleware and error handlers."""
        routes = list(routes)
        http = Starlette(
            debug=False,
            routes=routes,
            middleware=[
                Middleware(
                    RequestContext,
                    metrics=self.http_metrics,
                    access_log=self.config.server.access_log,
                ),
                Middleware(Authenticate, auth=self.auth, routes=routes),
            ],
            exception_handlers=dict(EXCEPTION_HANDLERS),
            lifespan=self.lifespan if lifespan else None,
        )
        http.state.closing = self.closing
        return http

    def legacy_apps(self) -> dict[int, Starlette]:
        """For `[server] legacy_ports`: each module's routes at the root of its original port."""
        offset = self.config.server.legacy_port_offset
        apps: dict[int, Starlette] = {}
        for name, module in self.modules.items():
            port = LEGACY_PORTS.get(name)
            if port is None:
                continue
            routes = [self._mount("", module, self.module_routes(module))]
            apps[port + offset] = self.build_http(routes, lifespan=False)
        return apps
