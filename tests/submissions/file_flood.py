"""Bad submission: conv_forward writes an endless stream straight to file descriptor 1."""

import os

from course_loops import *  # noqa: F403


def conv_forward(A_prev, W, b, hparameters):
    block = b"x" * (1 << 20)
    while True:
        os.write(1, block)
