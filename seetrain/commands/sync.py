"""``seetrain sync``: upload what a local store holds and the server lacks.

Each run keeps a cursor per server in its ``replication`` table, moved only after the server
acknowledged a batch, and batch ids come from (run, table, seq range): an interrupted sync
resumes where it stopped, and running it twice sends nothing new.
"""

from __future__ import annotations

import os

import click


@click.command("sync")
@click.argument("logdir", required=False)
@click.option("--host", envvar="SEETRAIN_HOST", required=True, help="Server URL, e.g. http://server:5092.")
@click.option("--project", default=None, help="Only this project.")
@click.option("--run", "run_ids", multiple=True, help="Only this run id (repeatable).")
@click.option("--api-key", envvar="SEETRAIN_API_KEY", default=None, help="Write token (default $SEETRAIN_API_KEY).")
@click.option("--timeout", default=0.0, type=float, help="Give up after this many seconds (0: no limit).")
@click.option("--as", "upload_as", default=None, metavar="NEW_ID",
              help="Upload the one run chosen with --run under this new run id (when the server "
                   "answers that its id holds another store's data).")
def sync(logdir: str | None, host: str, project: str | None, run_ids: tuple[str, ...],
         api_key: str | None, timeout: float, upload_as: str | None) -> None:
    """Upload every run in LOGDIR (default ./seetrain_logs or $SEETRAIN_LOGDIR) to --host.

    A run the server refuses for good (a 409 conflict, a 4xx) is reported with the reason and
    stays in the local store; the exit status is then 1. --run takes the run id or its folder name.
    """
    import time

    from seetrain._settings import resolve
    from seetrain.api import read_run
    from seetrain.limits import run_id_problem
    from seetrain.storage.store import iter_run_dirs
    from seetrain.sync.replicator import RunUploader, UploadStopped, normalize_target
    from seetrain.sync.transport import AuthError, ServerUnavailable, TransportError
    from seetrain.sync.transport.http import HttpTransport

    if upload_as is not None:
        if len(run_ids) != 1:
            raise click.UsageError("--as NEW_ID needs exactly one --run")
        if run_id_problem(upload_as):
            raise click.UsageError(f"--as {upload_as!r}: {run_id_problem(upload_as)}")
    folder = os.path.abspath(logdir) if logdir else resolve().logdir
    target = normalize_target(host)
    transport = HttpTransport.from_env(target, api_key)
    deadline = time.monotonic() + timeout if timeout > 0 else None
    totals = {"runs": 0, "records": 0, "files": 0, "dropped": 0, "left": 0}
    failed = False
    try:
        for _, run_dir in iter_run_dirs(folder, project):
            if run_ids and os.path.basename(run_dir) not in run_ids and _run_id_of(run_dir) not in run_ids:
                continue
            read_run(run_dir)  # a killed run's journal tail goes into its store before upload
            try:
                uploader = RunUploader(run_dir, transport, target, upload_as=upload_as)
            except Exception as exc:  # noqa: BLE001 - one unreadable run must not stop the others
                click.echo(f"skip {run_dir}: {exc}", err=True)
                failed = True
                continue
            problem = None
            try:
                complete = uploader.drain(deadline=deadline)
                if not complete:
                    problem = "time limit reached"
            except AuthError as exc:
                problem = f"server refused the API key ({exc.reason})"
            except UploadStopped as exc:
                problem = f"upload stopped: {exc.reason}"
            except (ServerUnavailable, TransportError) as exc:
                problem = f"server unreachable: {exc}"
            left = sum(uploader.pending().values())
            sent = uploader.sent["scalars"] + uploader.sent["media"] + uploader.sent["console"]
            dropped = sum(uploader.dropped.values())
            uploader.close()
            totals["runs"] += 1
            totals["records"] += sent
            totals["files"] += uploader.sent["files"]
            totals["dropped"] += dropped
            totals["left"] += left
            line = f"{uploader.project}/{uploader.run_id}: sent {sent} records ({uploader.sent['files']} files)"
            if dropped:
                line += f", dropped {dropped} (" + "; ".join(f"{r}: {n}" for r, n in uploader.dropped.items()) + ")"
            if problem:
                failed = True
                line += f", {left} left ({problem})"
            click.echo(line)
            if isinstance(problem, str) and problem.startswith("server refused"):
                break
        from seetrain.artifacts.upload import push_all  # artifacts: seetrain/artifacts/upload.py

        failed = not push_all(folder, target, api_key, project, run_ids, click.echo) or failed
    finally:
        transport.close()
    click.echo(f"synced {totals['runs']} runs to {target}: {totals['records']} records, {totals['files']} files "
               f"sent, {totals['dropped']} dropped, {totals['left']} left")
    if failed:
        raise SystemExit(1)


def _run_id_of(run_dir: str) -> str | None:
    """The run id a store holds (folder names fold '/' and spaces to '_')."""
    import sqlite3

    from seetrain.storage.store import DB_NAME, connect

    try:
        conn = connect(os.path.join(run_dir, DB_NAME), readonly=True)
        try:
            row = conn.execute("SELECT id FROM run").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None
