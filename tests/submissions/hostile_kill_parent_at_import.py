"""Hostile submission: SIGKILLs its parent process at import; otherwise a correct implementation.

Disarmed as committed (it would kill whatever runs it in process); the sandbox tests copy it with
``ARMED = True``.
"""

import os
import signal

from course_loops import *  # noqa: F403

ARMED = False  # set by the tests

if ARMED:
    os.kill(os.getppid(), signal.SIGKILL)
