"""Bad submission: pool_backward kills its own process with SIGKILL."""

import os
import signal

from course_loops import *  # noqa: F403


def pool_backward(dA, cache, mode="max"):
    os.kill(os.getpid(), signal.SIGKILL)
