"""Routes of the web module: the page and its static files, from the installed package."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"


async def index(request: Request) -> Response:
    """The dashboard page."""
    return FileResponse(STATIC / "index.html", media_type="text/html")


routes: list[BaseRoute] = [
    Route("/", index, methods=["GET"]),
    Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
]
