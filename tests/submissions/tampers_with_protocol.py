"""Bad submission: conv_forward writes garbage into the worker's reply pipe (fd from sys.argv)."""

import os
import sys

from course_loops import *  # noqa: F403


def conv_forward(A_prev, W, b, hparameters):
    os.write(int(sys.argv[-1]), b"\xff" * 64)
    return None
