"""Which process runs a piece of work, written so that another process can later tell
whether that one is gone.

An identity is `host:pid:pid-namespace:start-time`. A process is judged gone only from the
same host and the same pid namespace (containers of one pod share a host name, not their
pids), and only when no process with that pid and that start time runs any more (a pid is
reused once its process ends). Where any of that cannot be told, nothing is judged: the
work's heartbeat decides instead.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

PROC = Path("/proc")


def this_worker() -> str:
    """This process's identity, asked each time: a forked worker has a pid of its own."""
    return identity(os.getpid())


def identity(pid: int) -> str:
    """The identity of process `pid` of this host and pid namespace."""
    return f"{socket.gethostname()}:{pid}:{_namespace()}:{_start_time(pid)}"


def process_gone(worker: str) -> bool:
    """Whether the process `worker` names is known to have ended."""
    host, pid, namespace, started = [*worker.split(":"), "", "", ""][:4]
    if host != socket.gethostname() or namespace != _namespace() or not namespace:
        return False  # not a process this one can see
    if not pid.isdigit() or not started:
        return False
    state, start_time = _stat(int(pid))
    # No such process, a pid taken by a later process, or a killed child not yet reaped.
    return state is None or start_time != started or state == "Z"


def _namespace() -> str:
    try:
        return str((PROC / "self" / "ns" / "pid").stat().st_ino)
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    return _stat(pid)[1] or ""


def _stat(pid: int) -> tuple[str | None, str | None]:
    """(state, start time in clock ticks since boot) of a process; (None, None) when there
    is none. The command name in parentheses may hold spaces: fields follow its `)`."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None, None
    return fields[0], fields[19]
