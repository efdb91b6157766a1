"""Hostile submission: zero_pad SIGKILLs its parent process, then answers correctly.

Disarmed as committed; the sandbox tests copy it with ``ARMED = True``.
"""

import os
import signal

from course_loops import *  # noqa: F403
from course_loops import zero_pad as _zero_pad

ARMED = False  # set by the tests


def zero_pad(X, pad):
    if ARMED:
        os.kill(os.getppid(), signal.SIGKILL)
    return _zero_pad(X, pad)
