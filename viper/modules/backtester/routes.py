"""Routes of the backtester module: start, follow, cancel jobs; list, fetch, report results."""

from __future__ import annotations

from typing import Annotated, Protocol, runtime_checkable

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute

from viper.backtest.metrics import BacktestResult
from viper.http import ApiRoute, json_response, module_of, query_as, read_json
from viper.modules.backtester.service import BacktestService
from viper.protocols import BacktestJob, BacktestRequest
from viper.store.backtests import ResultPage


@runtime_checkable
class BacktesterView(Protocol):
    """What these handlers need of the backtester module."""

    @property
    def service(self) -> BacktestService: ...


class JobList(msgspec.Struct, frozen=True, kw_only=True):
    """Jobs this process knows, newest first."""

    jobs: list[BacktestJob]


class ResultsQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    limit: Annotated[int, Meta(ge=1, le=500)] = 50
    offset: Annotated[int, Meta(ge=0)] = 0
    strategy: str | None = None
    symbol: str | None = None


class ResultQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    trades: bool = True


def _service(request: Request) -> BacktestService:
    return module_of(request, BacktesterView).service


async def start_backtest(request: Request) -> Response:
    """Validate a backtest and run it in the background; answers 202 with the job."""
    body = await read_json(request, BacktestRequest)
    job = await _service(request).start(body)
    return json_response(job, status_code=202)


async def list_jobs(request: Request) -> Response:
    """Recent jobs with their state, progress and ETA, newest first."""
    return json_response(JobList(jobs=_service(request).jobs.list()))


async def get_job(request: Request) -> Response:
    """One job: state (queued/running/done/failed/cancelled), progress 0..1, ETA."""
    return json_response(await _service(request).job(request.path_params["job_id"]))


async def cancel_job(request: Request) -> Response:
    """Cancel a job: a queued one never runs, a running one's process is ended."""
    return json_response(await _service(request).cancel(request.path_params["job_id"]))


async def list_results(request: Request) -> Response:
    """Stored results, newest first: `limit`, `offset`, filters `strategy` and `symbol`."""
    query = query_as(request, ResultsQuery)
    page = await _service(request).page(query.limit, query.offset, query.strategy, query.symbol)
    return json_response(page)


async def get_result(request: Request) -> Response:
    """One full result with its trades and equity curve (`?trades=false` leaves trades out)."""
    query = query_as(request, ResultQuery)
    body = await _service(request).result_json(request.path_params["result_id"], query.trades)
    return Response(body, media_type="application/json")


async def get_report(request: Request) -> Response:
    """A self-contained HTML report of one result, with equity and drawdown charts."""
    return HTMLResponse(await _service(request).report(request.path_params["result_id"]))


routes: list[BaseRoute] = [
    ApiRoute(
        "/backtest",
        start_backtest,
        methods=["POST"],
        body=BacktestRequest,
        response=BacktestJob,
        status_code=202,
    ),
    ApiRoute("/backtest", list_jobs, response=JobList),
    ApiRoute("/backtest/{job_id}", get_job, response=BacktestJob),
    ApiRoute("/backtest/{job_id}", cancel_job, methods=["DELETE"], response=BacktestJob),
    ApiRoute("/results", list_results, query=ResultsQuery, response=ResultPage),
    ApiRoute("/results/{result_id}", get_result, query=ResultQuery, response=BacktestResult),
    ApiRoute("/results/{result_id}/report", get_report),
]
