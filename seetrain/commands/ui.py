"""``seetrain ui``: browse the local store in a web dashboard."""

from __future__ import annotations

import os
import threading
import webbrowser

import click


@click.command("ui")
@click.option("--logdir", default=None, help="Folder holding the runs (default: ./seetrain_logs or $SEETRAIN_LOGDIR).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind; the default keeps the dashboard private to this machine.")
@click.option("--port", default=5092, show_default=True, type=int)
@click.option("--open/--no-open", "open_browser", default=False, show_default=True,
              help="Open the dashboard in a web browser.")
@click.option("--allowed-host", "allowed_hosts", multiple=True,
              help="Another Host name the browser uses (repeatable; '*' allows any). The bind address "
                   "and localhost are always allowed; other Host headers get 400 (DNS rebinding).")
def ui(logdir: str | None, host: str, port: int, open_browser: bool, allowed_hosts: tuple[str, ...]) -> None:
    """Serve the dashboard over the runs in LOGDIR (read-only, safe while runs are writing)."""
    import uvicorn

    from seetrain._settings import resolve
    from seetrain.server.app import create_app, trusted_hosts
    from seetrain.server.local_source import LocalSource

    folder = os.path.abspath(logdir) if logdir else resolve().logdir
    if not os.path.isdir(folder):
        click.echo(f"note: {folder} does not exist yet; runs will appear once they are logged")
    app = create_app(LocalSource(folder), allowed_hosts=trusted_hosts(host, allowed_hosts))
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    click.echo(f"SeeTrain dashboard for {folder}\n  {url}   (Ctrl-C to stop)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo("warning: the dashboard has no login; anyone who can reach this address can read your runs")
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")
