"""Routes of the data module: datasets, candles by range (JSON or Parquet), sync jobs."""

from __future__ import annotations

import io
from typing import Annotated, Literal, Protocol, runtime_checkable

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper.errors import ValidationError
from viper.http import ApiRoute, json_response, module_of, query_as, read_json
from viper.modules.data.service import CandlePage, DataService, page_rows
from viper.modules.data.sync import SyncJob, SyncJobs
from viper.store.candles import DatasetInfo
from viper.timeframes import parse_time, timeframe_ms

PARQUET = "application/vnd.apache.parquet"


@runtime_checkable
class DataView(Protocol):
    """What these handlers need of the data module."""

    @property
    def service(self) -> DataService: ...

    @property
    def jobs(self) -> SyncJobs: ...

    @property
    def exchange(self) -> str: ...

    @property
    def max_rows(self) -> int: ...


class DatasetList(msgspec.Struct, frozen=True, kw_only=True):
    """Stored datasets."""

    count: int
    datasets: list[DatasetInfo]


class DatasetQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    exchange: str | None = None
    symbol: str | None = None
    timeframe: str | None = None


class CandlesQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    symbol: str
    timeframe: str
    exchange: str | None = None
    start: str | None = None
    end: str | None = None
    limit: Annotated[int, Meta(ge=1)] = 1000
    order: Literal["asc", "desc"] = "asc"
    format: Literal["json", "parquet"] = "json"


class SyncRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Download or update `symbols`; `since` is needed only for symbols with nothing stored."""

    symbols: Annotated[list[str], Meta(min_length=1, max_length=50)]
    timeframe: str = "1m"
    since: str | None = None
    until: str | None = None
    exchange: str | None = None


class SyncJobList(msgspec.Struct, frozen=True, kw_only=True):
    jobs: list[SyncJob]


async def list_datasets(request: Request) -> Response:
    """Stored datasets: exchange, symbol, timeframe, first, last, rows, gaps, bytes."""
    data = module_of(request, DataView)
    query = query_as(request, DatasetQuery)
    found = [
        d
        for d in await data.service.datasets()
        if (query.exchange is None or d.exchange == query.exchange)
        and (query.symbol is None or d.symbol == query.symbol)
        and (query.timeframe is None or d.timeframe == query.timeframe)
    ]
    return json_response(DatasetList(count=len(found), datasets=found))


async def get_candles(request: Request) -> Response:
    """Candles of one dataset by range, paginated; `format=parquet` downloads a Parquet file."""
    data = module_of(request, DataView)
    query = query_as(request, CandlesQuery)
    timeframe_ms(query.timeframe)
    if query.limit > data.max_rows:
        raise ValidationError(f"limit: at most {data.max_rows} rows per page", field="limit")
    start, end = parse_time(query.start, "start"), parse_time(query.end, "end")
    if start is not None and end is not None and end <= start:
        raise ValidationError("end: must be after start", field="end")
    exchange = query.exchange or data.exchange
    frame, cursor = await data.service.page(
        exchange, query.symbol, query.timeframe, start, end, query.limit, query.order == "desc"
    )
    if query.format == "parquet":
        buffer = io.BytesIO()
        frame.write_parquet(buffer, compression="zstd")
        safe = query.symbol.replace("/", "_").replace(":", "_")
        name = f"{exchange}_{safe}_{query.timeframe}.parquet"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(buffer.getvalue(), media_type=PARQUET, headers=headers)
    page = CandlePage(
        exchange=exchange,
        symbol=query.symbol,
        timeframe=query.timeframe,
        count=frame.height,
        candles=page_rows(frame),
        next_start=cursor if query.order == "asc" else None,
        next_end=cursor if query.order == "desc" else None,
    )
    return json_response(page)


async def start_sync(request: Request) -> Response:
    """Download or update candles in the background; answers 202 with the job."""
    data = module_of(request, DataView)
    body = await read_json(request, SyncRequest)
    timeframe_ms(body.timeframe)
    job = data.jobs.start(
        body.exchange or data.exchange,
        body.symbols,
        body.timeframe,
        parse_time(body.since, "since"),
        parse_time(body.until, "until"),
    )
    return json_response(job, status_code=202)


async def list_sync(request: Request) -> Response:
    """Recent sync jobs with their progress, newest first."""
    return json_response(SyncJobList(jobs=module_of(request, DataView).jobs.list()))


async def get_sync(request: Request) -> Response:
    """One sync job with per-symbol progress and ETA."""
    return json_response(module_of(request, DataView).jobs.get(request.path_params["job_id"]))


async def cancel_sync(request: Request) -> Response:
    """Cancel a sync job; what it stored stays stored."""
    jobs = module_of(request, DataView).jobs
    return json_response(await jobs.cancel(request.path_params["job_id"]))


routes: list[BaseRoute] = [
    ApiRoute("/data", list_datasets, query=DatasetQuery, response=DatasetList),
    ApiRoute("/candles", get_candles, query=CandlesQuery, response=CandlePage),
    ApiRoute(
        "/sync", start_sync, methods=["POST"], body=SyncRequest, response=SyncJob, status_code=202
    ),
    ApiRoute("/sync", list_sync, response=SyncJobList),
    ApiRoute("/sync/{job_id}", get_sync, response=SyncJob),
    ApiRoute("/sync/{job_id}", cancel_sync, methods=["DELETE"], response=SyncJob),
]
