"""Routes of the optimizer module: start, follow, cancel optimizations; spaces, best and
applied parameters; apply the best parameters to the live strategy."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from viper.auth.principal import actor_of
from viper.http import ApiRoute, json_response, module_of, read_json
from viper.modules.optimizer.jobs import OptimizeJob
from viper.modules.optimizer.service import ApplyRequest, OptimizerService, Parameters
from viper.optimizer.results import OptimizationResult
from viper.optimizer.spec import OptimizeRequest
from viper.optimizer.store import AppliedParameters


@runtime_checkable
class OptimizerView(Protocol):
    """What these handlers need of the optimizer module."""

    @property
    def service(self) -> OptimizerService: ...


class JobList(msgspec.Struct, frozen=True, kw_only=True):
    """Jobs this process knows, newest first."""

    jobs: list[OptimizeJob]


def _service(request: Request) -> OptimizerService:
    return module_of(request, OptimizerView).service


async def start_optimization(request: Request) -> Response:
    """Validate an optimization (grid, optuna or walk_forward) and run it; 202 with the job."""
    body = await read_json(request, OptimizeRequest)
    return json_response(await _service(request).start(body), status_code=202)


async def list_jobs(request: Request) -> Response:
    """Recent optimization jobs with their state, progress and ETA, newest first."""
    return json_response(JobList(jobs=_service(request).jobs.list()))


async def get_job(request: Request) -> Response:
    """One job: state, progress 0..1, ETA, worker processes; its result once done."""
    return json_response(await _service(request).job(request.path_params["job_id"]))


async def cancel_job(request: Request) -> Response:
    """Cancel a job: a queued one never runs, a running one's worker processes are ended."""
    return json_response(await _service(request).cancel(request.path_params["job_id"]))


async def get_result(request: Request) -> Response:
    """One stored result: top-N table, importance, walk-forward windows."""
    return json_response(await _service(request).result(request.path_params["job_id"]))


async def get_parameters(request: Request) -> Response:
    """Search spaces, strategy defaults, best stored parameters per strategy and symbol."""
    return json_response(await _service(request).parameters())


async def apply_parameters(request: Request) -> Response:
    """Apply parameters (a job's best, or given ones) to the live strategy; audited."""
    body = await read_json(request, ApplyRequest)
    return json_response(await _service(request).apply(body, actor_of(request)))


routes: list[BaseRoute] = [
    ApiRoute(
        "/optimize",
        start_optimization,
        methods=["POST"],
        body=OptimizeRequest,
        response=OptimizeJob,
        status_code=202,
    ),
    ApiRoute("/optimize", list_jobs, response=JobList),
    ApiRoute("/optimize/{job_id}", get_job, response=OptimizeJob),
    ApiRoute("/optimize/{job_id}", cancel_job, methods=["DELETE"], response=OptimizeJob),
    ApiRoute("/results/{job_id}", get_result, response=OptimizationResult),
    ApiRoute("/parameters", get_parameters, response=Parameters),
    ApiRoute(
        "/parameters/apply",
        apply_parameters,
        methods=["POST"],
        body=ApplyRequest,
        response=AppliedParameters,
    ),
]
