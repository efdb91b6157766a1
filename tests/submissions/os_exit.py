"""Bad submission: conv_backward calls os._exit (no cleanup, no exception)."""

import os

from course_loops import *  # noqa: F403


def conv_backward(dZ, cache):
    os._exit(7)
