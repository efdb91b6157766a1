"""Hostile submission: zero_pad sends SIGKILL to every process it may signal (``kill(-1)``).

Disarmed as committed (run as root without a sandbox, it would end the machine's processes); the
sandbox tests copy it with ``ARMED = True``, only at levels where it cannot reach the checker.
"""

import os
import signal

from course_loops import *  # noqa: F403
from course_loops import zero_pad as _zero_pad

ARMED = False  # set by the tests


def zero_pad(X, pad):
    if ARMED:
        os.kill(-1, signal.SIGKILL)
    return _zero_pad(X, pad)
