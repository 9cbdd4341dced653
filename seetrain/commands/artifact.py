"""``seetrain artifact ls | get | rm | gc``: browse, download and delete artifact versions."""

from __future__ import annotations

import time

import click

from seetrain.api import Api
from seetrain.artifacts.errors import ArtifactError
from seetrain.artifacts.manifest import artifacts_root, parse_ref
from seetrain.artifacts.reader import projects_with_artifacts
from seetrain.artifacts.registry import Registry

LOGDIR_OPTION = click.option("--logdir", default=None,
                             help="Store to read (default ./seetrain_logs or $SEETRAIN_LOGDIR).")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _project_of(ref: str) -> tuple[str, str]:
    parsed = parse_ref(ref)
    from seetrain.artifacts.reader import _default_project

    return parsed.project or _default_project(), parsed.name


@click.group()
def artifact() -> None:
    """Versioned files and models logged with seetrain.log_artifact."""


@artifact.command("ls")
@click.argument("target", required=False)
@LOGDIR_OPTION
def ls(target: str | None, logdir: str | None) -> None:
    """List artifacts (of PROJECT), or the versions of PROJECT/NAME."""
    api = Api(logdir)
    try:
        if target and "/" in target:
            versions = api.artifact_versions(target)
            if not versions:
                raise click.ClickException(f"no artifact {target!r} in {api.logdir}")
            click.echo(f"{'VERSION':8s} {'SIZE':>10s} {'FILES':>5s} {'CREATED':19s} {'BY RUN':24s} ALIASES")
            for v in versions:
                created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v.created_at))
                click.echo(f"{v.version:8s} {_size(v.size):>10s} {v.file_count:5d} {created} "
                           f"{v.created_by or '':24s} {','.join(v.aliases)}")
            return
        collections = api.artifacts(target)
    except ArtifactError as exc:
        raise click.ClickException(str(exc)) from None
    if not collections:
        click.echo(f"no artifacts in {api.logdir}" + (f" (project {target!r})" if target else ""))
        return
    click.echo(f"{'ARTIFACT':40s} {'TYPE':10s} {'VERSIONS':>8s} {'SIZE':>10s}  ALIASES")
    for c in collections:
        aliases = ", ".join(f"{a}={v}" for a, v in sorted(c.aliases.items()))
        click.echo(f"{c.project + '/' + c.name:40s} {c.type:10s} {len(c.versions):8d} {_size(c.size):>10s}  {aliases}")


@artifact.command("get")
@click.argument("ref")
@click.option("--dir", "root", default=None, type=click.Path(file_okay=False),
              help="Where to put the files (default ./artifacts/<name>-v<N>).")
@LOGDIR_OPTION
def get(ref: str, root: str | None, logdir: str | None) -> None:
    """Download REF (project/name:alias or :vN) with verified sha256."""
    api = Api(logdir)
    try:
        version = api.artifact(ref)
        out = version.download(root)
    except ArtifactError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{version.qualified_name}: {version.file_count} files, {_size(version.size)} -> {out}")


@artifact.command("verify")
@click.argument("ref")
@LOGDIR_OPTION
def verify(ref: str, logdir: str | None) -> None:
    """Re-hash every stored file of REF; exit 1 and list the files that changed or vanished."""
    api = Api(logdir)
    try:
        version = api.artifact(ref)
    except ArtifactError as exc:
        raise click.ClickException(str(exc)) from None
    problems = version.verify()
    for problem in problems:
        click.echo(str(problem))
    if problems:
        raise SystemExit(1)
    click.echo(f"{version.qualified_name}: {version.file_count} files intact")


@artifact.command("rm")
@click.argument("ref")
@click.option("--force", is_flag=True, help="Also delete a version that holds aliases (other than latest).")
@LOGDIR_OPTION
def rm(ref: str, force: bool, logdir: str | None) -> None:
    """Delete one version (REF: project/name:vN or :alias); frees files no other version uses."""
    api = Api(logdir)
    try:
        project, _ = _project_of(ref)
        registry = Registry(artifacts_root(api.logdir, project))
        version = api.artifact(ref)
        freed = registry.delete(parse_ref(f"{version.name}:{version.version}"), force=force)
    except ArtifactError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"deleted {version.qualified_name}; freed {freed.freed_blobs} files, {_size(freed.freed_bytes)}")


@artifact.command("gc")
@click.argument("project", required=False)
@LOGDIR_OPTION
def gc(project: str | None, logdir: str | None) -> None:
    """Remove stored files no version references (left by a killed process)."""
    api = Api(logdir)
    for proj in [project] if project else projects_with_artifacts(api.logdir):
        freed = Registry(artifacts_root(api.logdir, proj)).collect_garbage()
        click.echo(f"{proj}: freed {freed.freed_blobs} files, {_size(freed.freed_bytes)}")


@artifact.command("push")
@click.argument("project", required=False)
@click.option("--host", envvar="SEETRAIN_HOST", required=True, help="Server URL, e.g. http://server:5092.")
@click.option("--api-key", envvar="SEETRAIN_API_KEY", default=None, help="Write token (default $SEETRAIN_API_KEY).")
@LOGDIR_OPTION
def push(project: str | None, host: str, api_key: str | None, logdir: str | None) -> None:
    """Upload the versions the server lacks (also done by ``seetrain sync``); resumable."""
    from seetrain.artifacts.upload import push_all

    api = Api(logdir)
    if not push_all(api.logdir, host, api_key, project, None, click.echo):
        raise SystemExit(1)
    click.echo("artifacts up to date on " + host)
