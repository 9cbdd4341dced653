"""``seetrain server``: the tracking server (dashboard + versioned ingest API) over a database.

The process holds no state of its own apart from the database and the media folder, so
several of them (``--workers``, or several hosts) can serve one PostgreSQL database behind a
load balancer.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass

import click

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_ENV = "SEETRAIN_SERVER_CONFIG_"


@dataclass(frozen=True)
class ServerConfig:
    db: str
    media_dir: str
    token: str | None = None
    read_token: str | None = None
    max_request_bytes: int = 32 * 1024 * 1024
    max_batch_records: int = 20_000
    max_media_bytes: int = 64 * 1024 * 1024
    media_store: str | None = None
    bind_host: str = "127.0.0.1"
    allowed_hosts: str = ""

    def to_env(self) -> dict[str, str]:
        return {_ENV + k.upper(): str(v) for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_env(cls) -> ServerConfig:
        values: dict[str, object] = {}
        for name, field in cls.__dataclass_fields__.items():
            raw = os.environ.get(_ENV + name.upper())
            if raw is not None:
                values[name] = int(raw) if field.type == "int" else raw
        return cls(**values)  # type: ignore[arg-type]


def build_app(config: ServerConfig):  # noqa: ANN201 - FastAPI is imported lazily
    """The FastAPI app: the dashboard's read API over the database plus the ingest router."""
    from seetrain.server.app import create_app, trusted_hosts
    from seetrain.server.artifacts_upload import make_artifact_upload_router
    from seetrain.server.db import Database
    from seetrain.server.db_source import DbSource
    from seetrain.server.db_views import DbRunEdits, DbViewStore
    from seetrain.server.ingest import FailedTokenLimiter, IngestLimits, make_ingest_router
    from seetrain.server.media_store import open_media_store

    db = Database(config.db)
    limits = IngestLimits(max_request_bytes=config.max_request_bytes,
                          max_batch_records=config.max_batch_records,
                          max_media_bytes=config.max_media_bytes)
    store = open_media_store(config.media_store or config.media_dir, cache_dir=config.media_dir)
    limiter = FailedTokenLimiter()
    router = make_ingest_router(db, store, token=config.token, limits=limits, limiter=limiter)
    artifacts = make_artifact_upload_router(config.media_dir, token=config.token, media_store=config.media_store)
    hosts = trusted_hosts(config.bind_host, config.allowed_hosts.split(","))
    app = create_app(DbSource(db, store), extra_routers=[router, artifacts], read_token=config.read_token,
                     title="SeeTrain server", allowed_hosts=hosts, limiter=limiter, write_token=config.token,
                     # create_app's `edits` annotation names LocalRunEdits only; it takes any run-edits object
                     views=DbViewStore(db), edits=DbRunEdits(db))  # type: ignore[arg-type]
    app.state.db = db
    return app


def app_from_env():  # noqa: ANN201
    """uvicorn factory for ``--workers N``: each worker process builds the app from env vars."""
    return build_app(ServerConfig.from_env())


def _defaults(db: str | None, media_dir: str | None) -> tuple[str, str]:
    if db is None:
        base = os.path.abspath("seetrain_server")
        db = "sqlite:///" + os.path.join(base, "server.sqlite")
    if media_dir is None:
        if db.startswith("sqlite:///"):
            media_dir = os.path.join(os.path.dirname(os.path.abspath(db[len("sqlite:///"):])), "media")
        else:
            media_dir = os.path.abspath(os.path.join("seetrain_server", "media"))
    return db, os.path.abspath(media_dir)


@click.command("server")
@click.option("--db", envvar="SEETRAIN_SERVER_DB", default=None,
              help="sqlite:///path (default ./seetrain_server/server.sqlite) or postgresql://user:pw@host/db.")
@click.option("--media-dir", envvar="SEETRAIN_SERVER_MEDIA_DIR", default=None,
              help="Where uploaded media files go (default: beside the SQLite file, or ./seetrain_server/media).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=5092, show_default=True, type=int)
@click.option("--token", envvar="SEETRAIN_SERVER_TOKEN", default=None,
              help="API token clients must send to write (their SEETRAIN_API_KEY).")
@click.option("--read-token", envvar="SEETRAIN_SERVER_READ_TOKEN", default=None,
              help="Token needed to read (dashboard/API). Default: reads are open on localhost; "
                   "on other interfaces they need --token.")
@click.option("--workers", default=1, show_default=True, type=int, help="uvicorn worker processes.")
@click.option("--max-request-mb", default=32, show_default=True, type=int, help="Largest ingest request.")
@click.option("--max-batch-records", default=20_000, show_default=True, type=int)
@click.option("--max-media-mb", default=64, show_default=True, type=int, help="Largest media file.")
@click.option("--media-store", envvar="SEETRAIN_SERVER_MEDIA_STORE", default=None,
              help="s3://bucket/prefix to keep media in S3-compatible object storage (endpoint from "
                   "AWS_ENDPOINT_URL, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); "
                   "--media-dir is then only a read cache. Default: --media-dir.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, envvar="SEETRAIN_SERVER_ALLOWED_HOSTS",
              help="Another Host name clients use to reach this server (repeatable; '*' allows any). "
                   "The bind address and localhost are always allowed; other Host headers get 400.")
def server(db: str | None, media_dir: str | None, host: str, port: int, token: str | None,
           read_token: str | None, workers: int, max_request_mb: int, max_batch_records: int,
           max_media_mb: int, media_store: str | None, allowed_hosts: tuple[str, ...]) -> None:
    """Run the tracking server: dashboard, read API and ingest API (docs at /docs)."""
    import uvicorn

    db, media_dir = _defaults(db, media_dir)
    if host not in LOOPBACK:
        if not token:
            raise click.ClickException(
                f"refusing to accept writes on {host} without a token: pass --token or set SEETRAIN_SERVER_TOKEN")
        if read_token is None:
            read_token = token  # off localhost, reads are not open unless a read token says how
    config = ServerConfig(db=db, media_dir=media_dir, token=token or None, read_token=read_token or None,
                          max_request_bytes=max_request_mb * 1024 * 1024, max_batch_records=max_batch_records,
                          max_media_bytes=max_media_mb * 1024 * 1024, media_store=media_store,
                          bind_host=host, allowed_hosts=",".join(h for v in allowed_hosts for h in v.split(",")))
    from seetrain.server.db import Database

    # Create the schema once here, so N workers do not race on it.
    Database(db).dispose()
    if media_store:
        from seetrain.server.media_store import open_media_store

        try:  # a wrong bucket or endpoint stops the start with the reason
            open_media_store(media_store, cache_dir=media_dir)
        except (ValueError, ImportError) as exc:
            raise click.ClickException(str(exc)) from None
    shown = db if "@" not in db else db.split("://", 1)[0] + "://***@" + db.rsplit("@", 1)[1]
    click.echo(f"SeeTrain server on http://{host}:{port}/  db={shown}  media={media_store or media_dir}  "
               f"writes={'token' if token else 'open (localhost)'}  reads={'token' if read_token else 'open'}")
    sys.stdout.flush()
    if workers > 1:
        os.environ.update(config.to_env())
        uvicorn.run("seetrain.commands.server:app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level="warning", access_log=False)
    else:
        uvicorn.run(build_app(config), host=host, port=port, log_level="warning", access_log=False)
