"""Bad submission: conv_forward calls sys.exit."""

import sys

from course_loops import *  # noqa: F403


def conv_forward(A_prev, W, b, hparameters):
    sys.exit(3)
