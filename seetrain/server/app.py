"""The dashboard's web app: a JSON API under ``/api/v1`` and the static front end at ``/``.

The app only knows a :class:`~seetrain.server.datasource.DataSource`, so the same app
serves the local logdir (``seetrain ui``) and the tracking server's database
(``seetrain server`` adds its ingest API through ``extra_routers``). It never writes the
store: saved views and run edits (rename, notes, tags, archive, delete) go through their own
small stores (:mod:`seetrain.server.views`, :mod:`seetrain.server.run_edit`), and only when
the source offers them (a local logdir does). Responses over 1 KB are gzip-compressed.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import pathlib
import socket
from collections.abc import Iterable
from typing import Any

import orjson
from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from seetrain.server.aggregate import Aggregator
from seetrain.server.artifacts_routes import artifacts_router
from seetrain.server.datasource import DEFAULT_CONSOLE_LIMIT, DEFAULT_MAX_POINTS, MAX_MAX_POINTS, DataSource
from seetrain.server.export import iter_csv
from seetrain.server.report_jobs import ReportJobs
from seetrain.server.response_cache import GZIP_LEVEL, GZIP_MIN_SIZE, Encoded, ResponseCache, run_signature
from seetrain.server.run_edit import LocalRunEdits, RunningRunError
from seetrain.server.sweep import SUMMARY_FIELDS, sweep_table
from seetrain.server.views import JsonViewStore

STATIC_DIR = pathlib.Path(__file__).with_name("static")
# Runs in one request (a chart of a sweep, compare). Past POINT_BUDGET points in one chart
# request, each run's max_points is lowered so the answer stays small.
MAX_COMPARE = 1000
POINT_BUDGET = 40_000
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


LOCAL_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


def trusted_hosts(bind_host: str, extra: Iterable[str] = ()) -> list[str]:
    """The ``Host`` header values a server bound to ``bind_host`` answers: the bind address,
    the loopback names and ``extra`` (``--allowed-host``; ``*`` turns the check off). Bound to
    every interface (``0.0.0.0``/``::``), this machine's hostname and its addresses count too.
    Anything else is refused, which stops DNS-rebinding pages from reading a loopback server."""
    hosts = {*LOCAL_NAMES, *(h.strip() for h in extra if h.strip())}
    if bind_host in ("0.0.0.0", "::", ""):
        name = socket.gethostname()
        hosts.update({name, socket.getfqdn()})
        try:
            hosts.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
        except OSError:
            pass
    else:
        hosts.add(bind_host)
    return sorted(hosts)


def _require_token(token: str | None, also: str | None = None, what: str = "read", limiter: Any = None) -> Any:
    """A dependency checking ``Authorization: Bearer <token>`` or ``?token=`` (for <img src>);
    ``also`` is a second token that passes too (the write token may read). An address with too
    many failures gets 429 from ``limiter`` for a while."""
    def check(request: Request) -> None:
        if token is None:
            return
        client = request.client.host if request.client else "unknown"
        if limiter is not None:
            limiter.check(client)
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else request.query_params.get("token", "")
        ok = hmac.compare_digest(given.encode(), token.encode())
        if also is not None:
            ok = hmac.compare_digest(given.encode(), also.encode()) or ok
        if not ok:
            if limiter is not None:
                limiter.failed(client)
            raise HTTPException(401, f"a valid {what} token is required")
    return check


def _etag_json(request: Request, payload: Any) -> Response:
    """``payload`` as JSON with an ETag; 304 when the client already has this exact answer
    (the dashboard polls the runs and projects lists every few seconds: cheap when unchanged)."""
    body = orjson.dumps(payload, default=str)  # like FastAPI's encoder: never a 500 over an odd config value
    tag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


POINT_FIELDS = ("step", "time", "value", "flag")


def _dropped_fields(fields: str | None) -> tuple[str, ...]:
    """The point columns a ``fields=`` list leaves out (a chart drawn against steps needs no wall
    times: half of a 100-run answer's bytes)."""
    if fields is None:
        return ()
    wanted = {f.strip() for f in fields.split(",") if f.strip()}
    unknown = wanted.difference(POINT_FIELDS)
    if unknown or not wanted:
        raise HTTPException(422, f"fields must name some of {', '.join(POINT_FIELDS)}; got {fields!r}")
    return tuple(f for f in POINT_FIELDS if f not in wanted)


def _index_page() -> bytes:
    """index.html with a ``modulepreload`` link per front-end module: the browser fetches them
    all at once instead of discovering them import by import (three round trips deep)."""
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    modules = sorted(p.relative_to(STATIC_DIR).as_posix() for p in (STATIC_DIR / "js").glob("*.js"))
    modules.append("vendor/uplot/uPlot.esm.js")
    links = "".join(f'  <link rel="modulepreload" href="/static/{m}">\n' for m in modules)
    return html.replace("</head>", links + "</head>", 1).encode()


def _round_series(series: dict[str, Any], digits: int) -> None:
    """Round values to ``digits`` significant digits in place (a chart needs no 17)."""
    out = []
    for v in series["value"]:
        if v is None or v == 0:
            out.append(v)
        else:
            out.append(round(v, digits - 1 - int(math.floor(math.log10(abs(v))))))
    series["value"] = out


def api_router(source: DataSource, read_token: str | None = None, write_token: str | None = None,
               views: Any = None, edits: LocalRunEdits | None = None, limiter: Any = None) -> APIRouter:
    """The API over ``source`` (mounted under ``/api/v1`` by :func:`create_app`). Reads need
    ``read_token`` when set; writes (views, layout, run edits) ``write_token`` when set."""
    router = APIRouter(dependencies=[Depends(_require_token(read_token, write_token, limiter=limiter))])
    need_write = Depends(_require_token(write_token, what="write", limiter=limiter))
    aggregator = Aggregator(source)
    reports = ReportJobs()
    charts = ResponseCache()

    def merged(project: str, run: dict[str, Any]) -> dict[str, Any]:
        return edits.apply(project, run) if edits is not None else {**run, "notes": "", "archived": False,
                                                                   "edited_at": None}

    def need_run(project: str, run_id: str) -> dict[str, Any]:
        run = source.run(project, run_id)
        if run is None:
            raise HTTPException(404, f"no run {run_id!r} in project {project!r}")
        return run

    def project_runs(project: str) -> list[dict[str, Any]]:
        found = source.runs(project)
        if not found and project not in {p["name"] for p in source.projects()}:
            raise HTTPException(404, f"no project {project!r}")
        return [merged(project, r) for r in found]

    @router.get("/projects", tags=["projects"], summary="All projects with run counts (ETag: poll cheaply)")
    def projects(request: Request) -> Response:
        return _etag_json(request, source.projects())

    @router.get("/projects/{project}/runs", tags=["projects"],
                summary="The runs of a project, with their edits (ETag: poll cheaply)")
    def runs(project: str, request: Request) -> Response:
        return _etag_json(request, project_runs(project))

    @router.get("/projects/{project}/compare", tags=["projects"], summary="Config diff and summaries of runs")
    def compare(project: str, runs: str = Query(..., description="comma separated run ids")) -> dict[str, Any]:
        result = source.compare(project, _split_ids(runs))
        if not result["runs"]:
            raise HTTPException(404, "none of these runs exist")
        for r in result["runs"]:
            r["unfinished"] = r.get("status") != "finished"
            if edits is not None:
                r["name"] = edits.get(project, r["id"]).get("name", r["name"])
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

    @router.post("/projects/{project}/compare/report/jobs", tags=["projects"], status_code=202,
                 summary="Start building the compare report in the background; poll the job")
    def report_job_start(project: str, runs: str = Query(..., description="comma separated run ids")
                         ) -> dict[str, Any]:
        build = getattr(source, "report", None)
        if build is None:
            raise HTTPException(501, "this data source does not build comparison reports")
        ids = _split_ids(runs)
        return reports.start((project, tuple(ids)), lambda: build(project, ids))

    @router.get("/projects/{project}/compare/report/jobs/{job_id}", tags=["projects"],
                summary="A report job: status building|done|failed, and the report when done")
    def report_job(project: str, job_id: str) -> dict[str, Any]:
        job = reports.get(job_id)
        if job is None:
            raise HTTPException(404, "no such report job")
        if job["status"] == "done" and job["report"] is None:
            raise HTTPException(404, "none of these runs exist")
        return job

    @router.get("/projects/{project}/metric", tags=["metrics"],
                summary="One metric of several runs, downsampled (one request for an overlaid chart)")
    def project_metric(request: Request, project: str, key: str = Query(..., min_length=1),
                       runs: str = Query(..., description="comma separated run ids"),
                       x_min: float | None = None, x_max: float | None = None,
                       max_points: int = Query(DEFAULT_MAX_POINTS, ge=2, le=MAX_MAX_POINTS,
                                               description="per run; lowered so the request holds at most "
                                                           f"{POINT_BUDGET} points"),
                       x_axis: str = Query("step", pattern="^(step|time|relative)$"),
                       digits: int | None = Query(None, ge=3, le=17,
                                                  description="round values to this many significant digits"),
                       fields: str | None = Query(None, description="comma separated point columns to send, "
                                                  f"of {', '.join(POINT_FIELDS)} (default: all)"),
                       ) -> Response:
        ids = _split_ids(runs)
        per_run = max(2, min(max_points, POINT_BUDGET // len(ids)))
        dropped = _dropped_fields(fields)

        def build() -> dict[str, Any]:
            out: dict[str, Any] = {}
            for rid in ids:
                series = source.metric(project, rid, key, x_min=x_min, x_max=x_max, max_points=per_run,
                                       x_axis=x_axis)
                if series is not None:
                    if digits is not None:
                        _round_series(series, digits)
                    for name in dropped:
                        del series[name]
                    out[rid] = series
            return {"key": key, "runs": out, "max_points": per_run}

        wanted = set(ids)
        sig = run_signature([r for r in source.runs(project) if r["id"] in wanted], key) if len(ids) > 1 else None
        cache_key = None if sig is None else (project, key, tuple(ids), x_min, x_max, per_run, x_axis, digits, dropped,
                                              sig)
        return charts.get_or_make(cache_key, lambda: Encoded(build())).response(request)

    @router.get("/projects/{project}/metric.csv", tags=["metrics"], response_class=StreamingResponse,
                summary="Every point of one metric of several runs as CSV (never downsampled)")
    def project_metric_csv(project: str, key: str = Query(..., min_length=1),
                           runs: str = Query(..., description="comma separated run ids")) -> StreamingResponse:
        ids = _split_ids(runs)
        by_id = {r["id"]: r for r in project_runs(project)}
        chosen = [{"id": rid, "name": by_id[rid]["name"]} for rid in ids if rid in by_id]
        if not chosen:
            raise HTTPException(404, "none of these runs exist")
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in key)
        return StreamingResponse(iter_csv(source, project, key, chosen), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'})

    @router.get("/projects/{project}/bands", tags=["metrics"],
                summary="Runs grouped (config key, tag, group, job type): mean, min-max and std per x bin")
    def bands(request: Request, project: str, key: str = Query(..., min_length=1),
              group_by: str = Query(..., description="config:KEY, tag, group or job_type"),
              runs: str | None = Query(None, description="comma separated run ids (default: every run)"),
              x_axis: str = Query("step", pattern="^(step|time|relative)$"),
              bins: int = Query(200, ge=2, le=2000), x_min: float | None = None,
              x_max: float | None = None) -> Response:
        ids = _split_ids(runs) if runs is not None else None
        project_runs(project)  # 404 for an unknown project
        answer = aggregator.bands(project, key, ids, group_by, x_axis=x_axis, bins=bins, x_min=x_min, x_max=x_max)
        return charts.encoded(answer).response(request)

    @router.get("/projects/{project}/sweep", tags=["projects"],
                summary="Hyperparameters vs a metric per run, and parameter importance")
    def sweep(project: str, metric: str = Query(..., min_length=1),
              summary: str = Query("last", pattern="^(" + "|".join(SUMMARY_FIELDS) + ")$"),
              params: str | None = Query(None, description="comma separated config keys (default: the varying ones)"),
              runs: str | None = Query(None, description="comma separated run ids (default: every run)")
              ) -> dict[str, Any]:
        rows = [r for r in project_runs(project) if not r["archived"]]
        if runs is not None:
            wanted = set(_split_ids(runs))
            rows = [r for r in rows if r["id"] in wanted]
        chosen = [p for p in params.split(",") if p] if params else None
        return sweep_table(rows, metric, chosen, summary)

    # -- saved views and the panel layout (stored with the project) --------------------------
    def need_views() -> Any:
        if views is None:
            raise HTTPException(501, "this data source keeps no saved views")
        return views

    def with_project(fn: Any, project: str, *args: Any) -> Any:
        try:
            return fn(project, *args)
        except KeyError:
            raise HTTPException(404, f"no project {project!r}") from None

    @router.get("/projects/{project}/views", tags=["views"], summary="Saved views of a project")
    def list_views(project: str) -> list[dict[str, Any]]:
        return with_project(need_views().list, project)

    @router.put("/projects/{project}/views/{name}", tags=["views"], dependencies=[need_write],
                summary="Save (or replace) a named view: body is the view's state object")
    def save_view(project: str, name: str, state: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return with_project(need_views().save, project, name, state)

    @router.delete("/projects/{project}/views/{name}", tags=["views"], dependencies=[need_write],
                   summary="Delete a saved view")
    def delete_view(project: str, name: str) -> dict[str, Any]:
        if not with_project(need_views().delete, project, name):
            raise HTTPException(404, f"no view {name!r}")
        return {"deleted": name}

    @router.get("/projects/{project}/layout", tags=["views"], summary="The project's custom panel layout")
    def get_layout(project: str) -> dict[str, Any]:
        return {"layout": with_project(need_views().layout, project)}

    @router.put("/projects/{project}/layout", tags=["views"], dependencies=[need_write],
                summary="Replace the project's custom panel layout")
    def put_layout(project: str, layout: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return {"layout": with_project(need_views().save_layout, project, layout)}

    # -- run management ----------------------------------------------------------------------
    def need_edits() -> LocalRunEdits:
        if edits is None:
            raise HTTPException(501, "this data source does not support editing runs")
        return edits

    @router.patch("/runs/{project}/{run_id}", tags=["runs"], dependencies=[need_write],
                  summary="Edit a run: name, notes, tags, archived (the edit wins over the logged value)")
    def edit_run(project: str, run_id: str, changes: dict[str, Any] = Body(...)) -> dict[str, Any]:
        store = need_edits()
        run = need_run(project, run_id)
        store.update(project, run_id, changes)
        return merged(project, run)

    @router.delete("/runs/{project}/{run_id}", tags=["runs"], dependencies=[need_write],
                   summary="Delete a run (moved to the logdir's .trash); refused while it runs")
    def delete_run(project: str, run_id: str, confirm: str = Query(..., description="the run id again")
                   ) -> dict[str, Any]:
        store = need_edits()
        run = need_run(project, run_id)
        if confirm != run_id:
            raise HTTPException(400, "confirm must repeat the run id")
        try:
            where = store.delete(project, run_id, run["status"])
        except RunningRunError:
            raise HTTPException(409, "the run is still running; stop it first") from None
        return {"deleted": run_id, "moved_to": where}

    @router.get("/runs/{project}/{run_id}", tags=["runs"], summary="One run: config, summary, metadata, keys")
    def run(project: str, run_id: str) -> dict[str, Any]:
        return merged(project, need_run(project, run_id))

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
               read_token: str | None = None, title: str = "SeeTrain", write_token: str | None = None,
               views: Any = None, edits: LocalRunEdits | None = None,
               allowed_hosts: Iterable[str] | None = None, limiter: Any = None) -> FastAPI:
    """The dashboard app over ``source``; ``extra_routers`` are included as given (ingest API).

    A local source (one with a ``logdir``) keeps saved views in the project folders and run
    edits beside the runs unless ``views``/``edits`` are given; writes need ``write_token``
    (default: ``read_token``) when one is set. ``allowed_hosts`` (see :func:`trusted_hosts`)
    turns on the ``Host`` header check: a request naming another host gets 400 before any
    route runs. ``limiter`` rate-limits failed tokens.
    """
    app = FastAPI(title=f"{title} API", version="1", docs_url="/docs", openapi_url="/openapi.json",
                  description="Projects, runs, metrics and media; saved views and run edits.")
    app.state.source = source
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_SIZE, compresslevel=GZIP_LEVEL)
    logdir = getattr(source, "logdir", None)
    if isinstance(logdir, str):
        views = views if views is not None else JsonViewStore(logdir)
        edits = edits if edits is not None else LocalRunEdits(logdir)
    write_token = write_token if write_token is not None else read_token
    if allowed_hosts is not None:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        hosts = list(allowed_hosts)
        if "*" not in hosts:
            # Added last, so it runs first: a foreign Host is refused before anything else.
            app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts, www_redirect=False)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_params(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
        # A bad request body is 422 Unprocessable; bad query/path parameters are 400.
        in_body = any(tuple(e.get("loc", ()))[:1] == ("body",) for e in exc.errors())
        return JSONResponse({"error": "invalid body" if in_body else "invalid parameters", "detail": problems},
                            status_code=422 if in_body else 400)

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    app.include_router(api_router(source, read_token, write_token, views, edits, limiter), prefix="/api/v1")
    app.include_router(artifacts_router(source), prefix="/api/v1",
                       dependencies=[Depends(_require_token(read_token, limiter=limiter))])
    for router in extra_routers:
        app.include_router(router)

    page = _index_page()

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
