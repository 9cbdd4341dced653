"""What the commands that read the local store share: the ``--logdir`` option and formats."""

from __future__ import annotations

import time

import click

LOGDIR_OPTION = click.option("--logdir", default=None, help="Store to read (default ./seetrain_logs or $SEETRAIN_LOGDIR).")


def fmt_duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def fmt_time(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
