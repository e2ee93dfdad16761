"""Serves a ViperApp with uvicorn: the main port, and the legacy ports when configured.

Signals are ours, not uvicorn's: SIGINT or SIGTERM stops every server, the lifespan stops the
modules in reverse order and drains the bus, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator

import uvicorn
from loguru import logger

from viper.app import ViperApp
from viper.errors import ConfigError

SETTLE_AFTER_SECONDS = 1.0  # when the start-up objects are moved out of the collector's way


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to us."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int, key: str = "server.port") -> socket.socket:
    """A listening socket, or a ConfigError naming the key when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"{key}: cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _server(app: object, host: str, port: int) -> _Server:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        lifespan="off",  # the modules are started by `viper.running()` around the servers
        log_config=None,
        access_log=False,
        server_header=False,
        loop="none",
        timeout_graceful_shutdown=5,
    )
    return _Server(config)


async def serve(viper: ViperApp, host: str, port: int) -> None:
    """Start the modules, serve until SIGINT/SIGTERM, then stop everything cleanly."""
    legacy = viper.legacy_apps() if viper.config.server.legacy_ports else {}
    apps = [(port, viper.http), *sorted(legacy.items())]
    sockets: list[socket.socket] = []
    try:
        for p, _ in apps:
            key = "server.port" if p == port else "server.legacy_ports"
            sockets.append(bind(host, p, key))
    except ConfigError:
        for sock in sockets:
            sock.close()
        raise
    servers = [_server(app, host, p) for p, app in apps]
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def request_stop(sig: signal.Signals) -> None:
        if stopping.is_set():
            logger.warning("second {}: forcing exit", sig.name)
            for srv in servers:
                srv.force_exit = True
            return
        logger.info("{} received: stopping", sig.name)
        stopping.set()
        viper.closing.set()  # event streams end now, so the servers need not wait for them
        for srv in servers:
            srv.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_stop, sig)
    try:
        async with viper.running():
            tasks = [
                asyncio.create_task(srv.serve(sockets=[sock]), name=f"http:{srv.config.port}")
                for srv, sock in zip(servers, sockets, strict=True)
            ]
            # uvicorn exposes no "started" event to wait on, so poll its flag briefly.
            while not all(s.started for s in servers) and not any(t.done() for t in tasks):  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            # after the first probes: a pause of tens of milliseconds, once
            loop.call_later(SETTLE_AFTER_SECONDS, viper.settle)
            logger.info(
                "VIPER {} serving http://{}:{}/ ({} modules{})",
                viper.config.exchange.mode,
                host,
                port,
                len(viper.modules),
                f", legacy ports {', '.join(map(str, sorted(legacy)))}" if legacy else "",
            )
            await asyncio.gather(*tasks)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
