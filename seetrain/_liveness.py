"""Whether a run that says ``running`` still is: the rule shared by the local reader
(:mod:`seetrain.api`) and the tracking server's source (:mod:`seetrain.server.db_source`)."""

from __future__ import annotations

import os
import socket
import time

# A running run whose heartbeat is older than this is shown as crashed.
HEARTBEAT_TIMEOUT = 30.0
HOST = socket.gethostname()


def pid_alive(pid: int | None) -> bool:
    """True while a process with this id exists on this machine (one we may not signal counts)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_status(status: str, heartbeat_at: float | None, pid: int | None, hostname: str | None,
                now: float | None = None) -> str:
    """``running`` stays running only while the process is alive and its heartbeat is fresh.

    The pid is checked only when the run was written on this host (``hostname``); a server,
    which cannot see the client's processes, passes ``None`` and goes by the heartbeat alone.
    """
    if status != "running":
        return status
    if hostname == HOST and pid and not pid_alive(pid):
        return "crashed"
    if heartbeat_at is not None and (now or time.time()) - heartbeat_at > HEARTBEAT_TIMEOUT:
        return "crashed"
    return status
