"""The dashboard's web app: a JSON API under ``/api/v1`` and the static front end at ``/``.

The app only knows a :class:`~seetrain.server.datasource.DataSource`, so the same app
serves the local logdir (``seetrain ui``) and the tracking server's database
(``seetrain server`` adds its ingest API through ``extra_routers``). It never writes.
"""

from __future__ import annotations

import hmac
import pathlib
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from seetrain.server.artifacts_routes import artifacts_router
from seetrain.server.datasource import DEFAULT_CONSOLE_LIMIT, DEFAULT_MAX_POINTS, MAX_MAX_POINTS, DataSource

STATIC_DIR = pathlib.Path(__file__).with_name("static")
MAX_COMPARE = 50
_MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                ".webp": "image/webp", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
                ".txt": "text/plain; charset=utf-8", ".json": "application/json"}


def _split_ids(runs: str) -> list[str]:
    ids = [r for r in (part.strip() for part in runs.split(",")) if r]
    if not ids:
        raise HTTPException(400, "runs must list at least one run id (comma separated)")
    if len(ids) > MAX_COMPARE:
        raise HTTPException(400, f"at most {MAX_COMPARE} runs at once")
    return ids


def _require_token(token: str | None) -> Any:
    """A dependency checking ``Authorization: Bearer <token>`` or ``?token=`` (for <img src>)."""
    def check(request: Request) -> None:
        if token is None:
            return
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else request.query_params.get("token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "a valid read token is required")
    return check


def api_router(source: DataSource, read_token: str | None = None) -> APIRouter:
    """The read API over ``source`` (mounted under ``/api/v1`` by :func:`create_app`)."""
    router = APIRouter(dependencies=[Depends(_require_token(read_token))])

    def need_run(project: str, run_id: str) -> dict[str, Any]:
        run = source.run(project, run_id)
        if run is None:
            raise HTTPException(404, f"no run {run_id!r} in project {project!r}")
        return run

    @router.get("/projects", tags=["projects"], summary="All projects with run counts")
    def projects() -> list[dict[str, Any]]:
        return source.projects()

    @router.get("/projects/{project}/runs", tags=["projects"], summary="The runs of a project")
    def runs(project: str) -> list[dict[str, Any]]:
        found = source.runs(project)
        if not found and project not in {p["name"] for p in source.projects()}:
            raise HTTPException(404, f"no project {project!r}")
        return found

    @router.get("/projects/{project}/compare", tags=["projects"], summary="Config diff and summaries of runs")
    def compare(project: str, runs: str = Query(..., description="comma separated run ids")) -> dict[str, Any]:
        result = source.compare(project, _split_ids(runs))
        if not result["runs"]:
            raise HTTPException(404, "none of these runs exist")
        return result

    @router.get("/projects/{project}/compare/report", tags=["projects"],
                summary="The `seetrain compare` report: per-metric statistics, timing, resources")
    def compare_report(project: str, runs: str = Query(..., description="comma separated run ids, "
                                                                        "the first is the baseline")
                       ) -> dict[str, Any]:
        build = getattr(source, "report", None)
        if build is None:
            raise HTTPException(501, "this data source does not build comparison reports")
        result = build(project, _split_ids(runs))
        if result is None:
            raise HTTPException(404, "none of these runs exist")
        return result

    @router.get("/projects/{project}/metric", tags=["metrics"],
                summary="One metric of several runs, downsampled (one request for an overlaid chart)")
    def project_metric(project: str, key: str = Query(..., min_length=1),
                       runs: str = Query(..., description="comma separated run ids"),
                       x_min: float | None = None, x_max: float | None = None,
                       max_points: int = Query(DEFAULT_MAX_POINTS, ge=2, le=MAX_MAX_POINTS),
                       x_axis: str = Query("step", pattern="^(step|time|relative)$")) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for rid in _split_ids(runs):
            series = source.metric(project, rid, key, x_min=x_min, x_max=x_max, max_points=max_points,
                                   x_axis=x_axis)
            if series is not None:
                out[rid] = series
        return {"key": key, "runs": out}

    @router.get("/runs/{project}/{run_id}", tags=["runs"], summary="One run: config, summary, metadata, keys")
    def run(project: str, run_id: str) -> dict[str, Any]:
        return need_run(project, run_id)

    @router.get("/runs/{project}/{run_id}/metric", tags=["metrics"], summary="One metric series, downsampled")
    def metric(project: str, run_id: str, key: str = Query(..., min_length=1),
               x_min: float | None = Query(None, description="start of the x range (zoom)"),
               x_max: float | None = Query(None, description="end of the x range (zoom)"),
               max_points: int = Query(DEFAULT_MAX_POINTS, ge=2, le=MAX_MAX_POINTS),
               after_step: int | None = Query(None, description="only points after this step (live polling)"),
               x_axis: str = Query("step", pattern="^(step|time|relative)$")) -> dict[str, Any]:
        series = source.metric(project, run_id, key, x_min=x_min, x_max=x_max, max_points=max_points,
                               after_step=after_step, x_axis=x_axis)
        if series is None:
            need_run(project, run_id)
            raise HTTPException(404, f"no metric {key!r} in run {run_id!r}")
        return series

    @router.get("/runs/{project}/{run_id}/media", tags=["media"], summary="Images, audio, text, histograms")
    def media(project: str, run_id: str,
              kind: str | None = Query(None, pattern="^(image|audio|text|histogram)$"),
              key: str | None = None) -> list[dict[str, Any]]:
        need_run(project, run_id)
        return source.media(project, run_id, kind=kind, key=key)

    @router.get("/runs/{project}/{run_id}/file/{relpath:path}", tags=["media"], summary="A media file",
                response_class=FileResponse)
    def media_file(project: str, run_id: str, relpath: str) -> FileResponse:
        path = source.media_file(project, run_id, relpath)
        if path is None:
            raise HTTPException(404, "no such media file")
        media_type = _MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
        # nosniff: a browser must never reinterpret a logged file as HTML.
        return FileResponse(path, media_type=media_type, headers={"X-Content-Type-Options": "nosniff",
                                                                  "Cache-Control": "max-age=3600"})

    @router.get("/runs/{project}/{run_id}/console", tags=["runs"], summary="Captured stdout/stderr lines")
    def console(project: str, run_id: str, after: int = Query(0, ge=0),
                limit: int = Query(DEFAULT_CONSOLE_LIMIT, ge=1, le=100_000)) -> list[dict[str, Any]]:
        need_run(project, run_id)
        return source.console(project, run_id, after=after, limit=limit)

    @router.get("/runs/{project}/{run_id}/events", tags=["runs"],
                summary="Structured records such as LLM calls (kind=llm_call) or a model summary")
    def events(project: str, run_id: str,
               kind: str = Query(..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
               ) -> list[dict[str, Any]]:
        need_run(project, run_id)
        return source.events(project, run_id, kind)

    return router


def create_app(source: DataSource, *, extra_routers: Iterable[APIRouter] = (),
               read_token: str | None = None, title: str = "SeeTrain") -> FastAPI:
    """The dashboard app over ``source``; ``extra_routers`` are included as given (ingest API)."""
    app = FastAPI(title=f"{title} API", version="1", docs_url="/docs", openapi_url="/openapi.json",
                  description="Read-only access to projects, runs, metrics and media.")
    app.state.source = source

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_params(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
        return JSONResponse({"error": "invalid parameters", "detail": problems}, status_code=400)

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    app.include_router(api_router(source, read_token), prefix="/api/v1")
    app.include_router(artifacts_router(source), prefix="/api/v1", dependencies=[Depends(_require_token(read_token))])
    for router in extra_routers:
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
