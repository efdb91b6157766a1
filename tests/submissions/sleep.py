"""Bad submission: pool_forward sleeps for an hour."""

import time

from course_loops import *  # noqa: F403


def pool_forward(A_prev, hparameters, mode="max"):
    time.sleep(3600)
