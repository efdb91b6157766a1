"""Processes a submission started: finding them and killing them.

A submission may fork, start a new session or (at the unprivileged-user level)
leave processes running under its own uid. ``strays`` finds them all through
``/proc``: the worker's descendants, the members of its process group and
session, and every process of its uid; ``kill_strays`` kills them when the
worker is stopped or replaced.
"""

from __future__ import annotations

import os
import signal


def _process_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, process group, session) of every process this one can see."""
    table = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            table[int(entry)] = (int(fields[1]), int(fields[2]), int(fields[3]))
    return table


def _real_uid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def strays(worker_pid: int, uid: int | None = None) -> list[int]:
    """Processes the worker ``worker_pid`` started: its descendants, the members of its
    process group and session, and (``uid``: a uid of its own) every process of that uid."""
    table = _process_table()
    found = {pid for pid, (_, group, session) in table.items() if worker_pid in (group, session)}
    if uid is not None:
        found.update(pid for pid in table if _real_uid(pid) == uid)
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    stack = [worker_pid]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    found.discard(worker_pid)
    found.discard(os.getpid())
    return sorted(found)


def kill_strays(worker_pid: int, uid: int | None = None) -> None:
    """SIGKILL every process ``strays`` finds (those already gone are skipped)."""
    for pid in strays(worker_pid, uid):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
