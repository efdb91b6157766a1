"""Hostile submission: zero_pad looks through /proc for the grader's command line (one holding MARKER).

Otherwise a correct implementation. Returns the command line when it finds one; raises LookupError
when no visible process (other than itself and its sandbox) holds the marker.
"""

import os

from course_loops import *  # noqa: F403

MARKER = "--json"  # set by the tests


def zero_pad(X, pad):
    seen = [os.getppid()] + [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    for pid in seen:
        if pid == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if MARKER in command and "bwrap" not in command.split(" ", 1)[0]:
            return f"leaked: {command[:300]}"
    raise LookupError(f"no visible process has {MARKER!r} in its command line ({len(seen)} pids seen)")
