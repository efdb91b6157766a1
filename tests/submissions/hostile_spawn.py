"""Hostile submission: the first zero_pad call starts ``sleep SECONDS`` in a new session (to outlive
the check), then every call answers correctly.

Blocked (no new process allowed), the start raises BlockingIOError.
"""

import subprocess

from course_loops import *  # noqa: F403
from course_loops import zero_pad as _zero_pad

SECONDS = "300"  # set by the tests
_started = []


def zero_pad(X, pad):
    if not _started:
        _started.append(
            subprocess.Popen(["sleep", SECONDS], start_new_session=True, stdout=subprocess.DEVNULL)
        )
    return _zero_pad(X, pad)
